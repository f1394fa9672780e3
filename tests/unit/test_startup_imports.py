"""Start-up stays fast: the CLI entry point must not pull the heavy scientific stack (issue 21).

Not timed: it checks *which* modules a fresh interpreter has loaded, which is deterministic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Each of these cost seconds on import (scipy.stats ~1.7 s, Great Expectations 10-19 s, nutpie/arviz ~10 s).
FORBIDDEN = ("scipy.stats", "great_expectations", "pymc", "nutpie", "arviz", "statsmodels", "matplotlib")

_PROBE = """
import json, sys
sys.argv = ["oca", *json.loads(sys.argv[1])]
from oca_experiments.cli import main
code = 0
if sys.argv[1:]:
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
sys.stdout.flush()
print("\\n@@MODULES@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(cli_args: list[str]) -> tuple[int, set[str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(cli_args)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )
    marker = proc.stdout.rfind("@@MODULES@@")
    assert marker >= 0, f"probe failed: {proc.stderr[-2000:]}"
    payload = json.loads(proc.stdout[marker + len("@@MODULES@@"):])
    return payload["code"], set(payload["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


@pytest.mark.parametrize("cli_args", [[], ["--help"], ["--version"]], ids=["import", "help", "version"])
def test_cli_start_up_does_not_import_heavy_stack(cli_args: list[str]) -> None:
    code, modules = _modules_after(cli_args)
    assert code == 0
    assert "oca_experiments.cli" in modules
    assert _heavy(modules) == []


def test_package_exports_still_resolve_lazily() -> None:
    import oca_experiments

    for name in oca_experiments.__all__:
        assert getattr(oca_experiments, name) is not None, name
    with pytest.raises(AttributeError):
        getattr(oca_experiments, "no_such_export")  # noqa: B009
