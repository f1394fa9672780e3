"""Golden survey-DiD numbers for tests/unit/survey/test_coded_survey_fit.py, made with the code BEFORE identifiers
became integer codes (issue 21): run from a checkout of commit 99bdbc7 (string identifiers throughout)

    git worktree add /tmp/old 99bdbc7
    PYTHONPATH=/tmp/old python tests/reference/survey/generate_coded_fit_golden.py > tests/reference/survey/coded_fit_golden.json

The cases (frames and specs) live in tests/unit/survey/coded_fit_cases.py so the test fits the very same inputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "survey"))

from coded_fit_cases import CASES, DISAGGREGATED, run_case, run_subgroups  # noqa: E402

golden = {name: run_case(name) for name in CASES}
golden["subgroup_tables"] = {name: run_subgroups(name) for name in DISAGGREGATED}
json.dump(golden, sys.stdout, indent=1, sort_keys=True, default=str)
print()
