"""Issue 16 acceptance 3: a quarterly panel with a 0/1 treatment column and a monthly series with seasonality and a
regressor each run end to end (validate, then run) from the specs written in the README, read from the README
itself so that the documentation cannot drift from what works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oca_experiments as oca

ROOT = Path(__file__).resolve().parents[2]


def _readme_specs() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# hypotheses/(\w+)\.yaml\n.*?)```", text, flags=re.S)
    return {name: body for body, name in blocks}


def _contract(name: str, columns: list[str]) -> dict:
    return {"name": name, "id": None, "meta": {}, "notes": None, "expectations": [
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": columns, "exact_match": False},
         "meta": {}, "severity": "critical"},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {},
         "severity": "critical"}]}


def _districts(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quarters = pd.date_range("2019-01-01", periods=24, freq="QS")
    rows = []
    for d in range(32):
        joins = [8, 12, 16, None][d % 4]
        level = rng.normal(50, 3)
        for q, day in enumerate(quarters):
            on = joins is not None and q >= joins
            rows.append({"district": f"D{d:02d}", "quarter_start": day.strftime("%Y-%m-%d"),
                         "in_programme": int(on), "service_score": level + 0.2 * q + 1.5 * on + rng.normal(0, 1)})
    return pd.DataFrame(rows)


def _communities(seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2018-01-01", periods=84, freq="MS")
    season = np.array([5, 8, 6, 4, 2, -4, -8, -6, 3, 5, 2, -1], dtype=float)
    rows = []
    for c in range(4):
        term = rng.integers(10, 23, size=months.size).astype(float)
        mean = np.exp(np.log(60) + season[months.month - 1] / 30 + 0.03 * (term - 16))
        if c == 0:
            mean[60:] *= 1.25
        counts = rng.poisson(mean)
        for t, day in enumerate(months):
            rows.append({"community": f"C{c}", "month": day.strftime("%Y-%m-%d"), "campaign": int(c == 0),
                         "campaign_start": "2023-01-01" if c == 0 else None, "new_members": int(counts[t]),
                         "school_term_days": term[t]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("series_study")
    (root / "hypotheses").mkdir()
    (root / "data_contracts").mkdir()
    specs = _readme_specs()
    assert set(specs) == {"district_event_study", "monthly_members"}
    for name, body in specs.items():
        (root / "hypotheses" / f"{name}.yaml").write_text(body, encoding="utf-8")
    frames = {"districts": _districts(), "communities": _communities()}
    data = {}
    for name, frame in frames.items():
        (root / "data_contracts" / f"{name}.json").write_text(json.dumps(_contract(name, list(frame.columns))),
                                                              encoding="utf-8")
        data[name] = root / f"{name}.csv"
        frame.to_csv(data[name], index=False)
    (root / "study.yaml").write_text(
        "name: Series and panels\nsources:\n"
        "  districts: {contract: data_contracts/districts.json, default_file: districts.csv}\n"
        "  communities: {contract: data_contracts/communities.json, default_file: communities.csv}\n",
        encoding="utf-8")
    return root, data


def test_readme_specs_validate_and_run(study) -> None:
    root, data = study
    loaded = oca.load_study(root)
    checked = loaded.validate(data)
    assert not checked.problems
    for record in checked.testability:
        assert record["testable"], record["reason"]
        rules = {c["rule"]: c for c in record["checks"]}
        assert rules["period_spacing"]["passed"]
    run = loaded.run(data)
    by_id = {h.id: h for h in run.hypotheses}
    panel = by_id["district_event_study"]
    assert panel.status == "estimated", panel.reason
    assert panel.result.ci_low < 1.5 < panel.result.ci_high
    assert panel.result.extras["event_study"]["event_time"] == [-4, -3, -2, 0, 1, 2, 3, 4]
    assert panel.verdict == "supported"
    series = by_id["monthly_members"]
    assert series.status == "estimated", series.reason
    campaign = series.result.extras["by_campaign"][0]
    assert campaign["start"] == "2023-01" and campaign["n_post"] == 24
    assert series.result.extras["regressors"] == ["comparison-unit mean", "school_term_days"]
    assert 0.05 < campaign["relative_effect"] < 0.45  # truth +25%
    assert campaign["relative_ci_low"] < campaign["relative_effect"] < campaign["relative_ci_high"]
    assert min(v for v in campaign["path"]["lower"] if v is not None) >= 0


def test_the_same_specs_refuse_data_of_another_spacing(study) -> None:
    """The monthly spec given daily-labelled quarterly data, the quarterly spec given monthly data: validate refuses
    the coarser-than-period case and names the fix."""
    root, data = study
    communities = pd.read_csv(data["communities"])
    quarterly = communities[pd.to_datetime(communities["month"]).dt.month.isin([1, 4, 7, 10])]
    path = root / "communities_quarterly.csv"
    quarterly.to_csv(path, index=False)
    checked = oca.load_study(root).validate({"communities": path})
    (record,) = [r for r in checked.testability if r["hypothesis"] == "monthly_members"]
    assert not record["testable"]
    assert "column 'month' is quarterly; this estimator's period is month: register period: quarter" in \
        record["reason"]


@pytest.mark.slow
def test_readme_specs_run_from_the_command_line_with_the_report(study, tmp_path) -> None:
    """`oca run` on the README specs writes results and builds the report (the TWFE event study and the monthly
    counterfactual with its relative-effect table drawn from results.json)."""
    import shutil
    import subprocess
    import sys

    root, data = study
    (root / "reports").mkdir(exist_ok=True)
    shutil.copy(ROOT / "reports" / "report.ipynb", root / "reports" / "report.ipynb")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "oca_experiments", "run", str(root), "--data",
               f"districts={data['districts']}", "--data", f"communities={data['communities']}", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    # the report names hypotheses by their titles where people read (issue 17)
    assert "Event study for " in page and "district_event_study" in page
    assert "relative effect [95% CI]" in page and "months since" in page
