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


def test_engagement_summary_shows_the_registered_effect_from_a_run(tmp_path: Path) -> None:
    """The facilitator's view of the demo's communities of practice with the registered campaign effect of a run
    (h9's per-campaign effects from results.json) beside the descriptive trend and shift; --results without
    --hypothesis is a one-line refusal."""
    import json

    from oca_experiments.demo import generate_demo

    files = generate_demo(tmp_path / "data", n_respondents=96)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"hypotheses": [{
        "id": "h9_community_monthly", "status": "estimated", "estimator": "its", "outcome": "posts",
        "extras": {"by_campaign": [{"unit": "CP02", "average_effect": 13.4, "ci_low": -4.6, "ci_high": 28.6}]}}]}),
        encoding="utf-8")
    out = tmp_path / "summary"
    args = ["engagement", "summary", str(files.community), "--out", str(out), "--community", "community_id",
            "--time", "month", "--members", "members", "--posts", "posts", "--active-members", "active_members",
            "--discussions", "discussions", "--campaign-start", "campaign_start", "--results", str(results)]
    refused = oca(*args)
    assert refused.returncode == 2 and "--results and --hypothesis go together" in refused.stderr
    assert "Traceback" not in refused.stderr and not out.exists()
    proc = oca(*args, "--hypothesis", "h9_community_monthly")
    assert proc.returncode == 0, proc.stderr
    trends = pd.read_csv(out / "community_trends.csv").set_index(["community", "metric"])
    assert trends.loc[("CP02", "posts"), "registered_effect"] == 13.4
    assert trends.loc[("CP02", "posts"), "registered_ci_low"] == -4.6
    assert trends["registered_effect"].notna().sum() == 1
    monthly = pd.read_csv(out / "community_monthly.csv")
    assert len(monthly) == 8 * 48
    assert "registered_effect" in (out / "community_summary.html").read_text(encoding="utf-8")
