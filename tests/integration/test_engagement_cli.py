"""`oca engagement summary`: the monthly community table from an activity log as CSV and HTML, and a one-line
refusal (exit 2, nothing written) for a column that is not in the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit" / "engagement"))
from test_community import _log  # noqa: E402


def oca(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300)


def test_engagement_summary_writes_csv_and_html(tmp_path: Path) -> None:
    log = _log()
    source = tmp_path / "log.csv"
    log.to_csv(source, index=False)
    out = tmp_path / "summary"
    proc = oca("engagement", "summary", str(source), "--out", str(out), "--community", "community", "--time", "when",
               "--member", "member", "--kind", "kind", "--campaign-start", "start")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    monthly = pd.read_csv(out / "community_monthly.csv", dtype={"month": str})
    first = monthly[(monthly["community"] == "A") & (monthly["month"] == "2024-01")].iloc[0]
    rows = log[(log["community"] == "A") & log["when"].str.startswith("2024-01")]
    assert first["posts"] == int((rows["kind"] == "post").sum())
    assert len(monthly) == 60 and "member" not in monthly.columns
    trends = pd.read_csv(out / "community_trends.csv")
    assert set(trends["metric"]) >= {"members", "posts"}
    page = (out / "community_summary.html").read_text(encoding="utf-8")
    assert "Monthly community summary" in page and "<table" in page
    assert "A-m1" not in page  # no member ids in the output


def test_engagement_summary_refuses_an_unknown_column(tmp_path: Path) -> None:
    source = tmp_path / "log.csv"
    _log().to_csv(source, index=False)
    out = tmp_path / "summary"
    proc = oca("engagement", "summary", str(source), "--out", str(out), "--community", "nope", "--time", "when",
               "--member", "member", "--kind", "kind")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "nope" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
