"""The committed expected_results.json is the demo's: ``oca check`` on the registered study passes against it.

This is the gate the CI example in docs/ci-github-actions.md runs. Any change that moves a number (a new sampler,
a new default) must regenerate the file with ``oca check . --data ... --update-expected`` and say why; this test
fails until it does. (The other ``oca check`` tests write their own expected file on a reduced study.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.bayes]

REPO = Path(__file__).resolve().parents[2]


def test_check_passes_against_the_committed_expected_results(tmp_path: Path) -> None:
    runner = CliRunner()
    demo = tmp_path / "demo"
    built = runner.invoke(app, ["demo", "--out", str(demo), "--no-report"], catch_exceptions=False)
    assert built.exit_code == 0, built.output
    result = runner.invoke(app, ["check", str(REPO), "-d", f"survey={demo / 'data' / 'survey.csv'}",
                                 "-d", f"engagement={demo / 'data' / 'engagement.csv'}",
                                 "-d", f"community={demo / 'data' / 'community.csv'}",
                                 "--expected", str(REPO / "expected_results.json")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
