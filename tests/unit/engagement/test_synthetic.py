"""synthetic_did / synthetic_control as registered estimators: page panels with one or a few treated pages, the
panel layouts they accept, what they refuse (at plan time or as not testable), inference, weights and plots.
The numbers themselves are checked against the R package in tests/reference/test_synthdid_reference.py."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oca_experiments as oca
from oca_experiments.errors import DataError, SpecError
from oca_experiments.estimators import CATALOG, FITTERS, NotTestable
from oca_experiments.estimators._synthetic import check_synthetic_design
from oca_experiments.estimators._synthdid import effect_curve, synth_fit, time_weight_fit_rmse
from oca_experiments.estimators._synthetic_options import SyntheticOptions
from oca_experiments.spec import HypothesisSpec

REPO = Path(__file__).resolve().parents[3]
PROP99 = REPO / "tests" / "reference" / "prop99_study"
TAU = 3.0


def _pages(*, n_control: int = 14, treated: tuple[str, ...] = ("T1", "T2"), periods: int = 30, start: int = 20,
           seed: int = 7, freq: str = "W-MON") -> pd.DataFrame:
    """Weekly page panel with a two-factor structure; treated pages load more on the trend; effect TAU."""
    rng = np.random.default_rng(seed)
    units = [f"C{i:02d}" for i in range(n_control)] + list(treated)
    dates = pd.date_range("2026-01-05", periods=periods, freq=freq)
    factors = np.column_stack([np.linspace(0, 3, periods), np.sin(np.arange(periods) / 3)])
    loadings = rng.normal(1.0, 0.5, size=(len(units), 2))
    loadings[n_control:, 0] += 0.6
    level = rng.normal(10, 2, size=len(units))
    y = level[:, None] + loadings @ factors.T + rng.normal(0, 0.3, size=(len(units), periods))
    is_treated = np.array([u in treated for u in units])
    y[is_treated, start:] += TAU
    rows = []
    for i, unit in enumerate(units):
        for t, date in enumerate(dates):
            rows.append({"page_id": unit, "date": date.strftime("%Y-%m-%d"), "treated": int(is_treated[i]),
                         "treated_post": int(is_treated[i] and t >= start),
                         "campaign_start": dates[start].strftime("%Y-%m-%d") if is_treated[i] else None,
                         "y": y[i, t]})
    return pd.DataFrame(rows)


def _spec(estimator: str = "synthetic_did", *, se: str = "placebo", adoption: str | None = "campaign_start",
          treatment: str = "treated", options: dict | None = None, **extra) -> HypothesisSpec:
    return HypothesisSpec.model_validate({
        "id": "h_synth", "title": "Campaign raises engagement", "hypothesis": "It rises.", "type": "exploratory",
        "direction": "increase",
        "outcome": {"source": "engagement", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "page_id", "time": "date", "treatment": treatment,
                   **({"adoption": adoption} if adoption else {})},
        "estimator": {"name": estimator, "options": {"period": "week", "compare": False, "replications": 40,
                                                      **(options or {})}},
        "inference": {"se": se}, **extra})


def _fit(frame: pd.DataFrame, spec: HypothesisSpec):
    options = SyntheticOptions.model_validate(spec.estimator.options)
    return FITTERS[spec.estimator.name](frame, frame["y"], spec, options, file="pages.csv")


@pytest.mark.parametrize("estimator", ["synthetic_did", "synthetic_control"])
@pytest.mark.parametrize("se", ["placebo", "jackknife", "bootstrap"])
def test_recovers_the_effect_on_a_few_treated_pages(estimator: str, se: str) -> None:
    frame = _pages()
    result = _fit(frame, _spec(estimator, se=se, options={"compare": se == "placebo"}))
    assert result.ci_low < TAU < result.ci_high
    assert abs(result.estimate - TAU) < 1.0
    assert result.se_type == se and result.std_error > 0
    extras = result.extras
    assert extras["treated_units"] == ["T1", "T2"] and extras["n_comparison"] == 14
    assert sum(w["weight"] for w in extras["unit_weights"]) == pytest.approx(1.0)
    assert sum(w["weight"] for w in extras["time_weights"]) == pytest.approx(1.0 if estimator == "synthetic_did"
                                                                                else 0.0)
    assert set(extras["comparison"]) == ({"sdid", "sc", "did"} if se == "placebo" else set())
    assert extras["treatment_start"] == frame.loc[frame.treated == 1, "campaign_start"].iloc[0]
    json.dumps(result.to_dict())  # JSON-ready
    (artifact,) = result.artifacts
    assert artifact == "artifacts/h_synth_synthetic.png"


def test_the_treated_and_post_indicator_layout_gives_the_same_fit() -> None:
    frame = _pages()
    by_adoption = _fit(frame, _spec())
    by_indicator = _fit(frame, _spec(adoption=None, treatment="treated_post"))
    assert by_indicator.estimate == by_adoption.estimate
    assert by_indicator.std_error == by_adoption.std_error


def test_exhaustive_placebo_with_one_treated_page_is_deterministic_and_seed_free() -> None:
    frame = _pages(treated=("T1",))
    first = _fit(frame, _spec(options={"seed": 1}))
    second = _fit(frame, _spec(options={"seed": 2}))
    assert first.std_error == second.std_error
    assert first.extras["resampling"] == {"replications": 14, "assignments": "all"}
    drawn = _fit(frame, _spec(options={"seed": 1, "placebo_assignments": "random"}))
    assert drawn.extras["resampling"] == {"replications": 40, "seed": 1, "assignments": "random"}
    assert 0 < drawn.extras["placebo_rank_p_value"] <= 1


@pytest.mark.parametrize("se", ["jackknife", "bootstrap"])
def test_jackknife_and_bootstrap_are_refused_with_one_treated_page(se: str) -> None:
    with pytest.raises(NotTestable, match=f"{se} SE is undefined with one treated unit") as info:
        _fit(_pages(treated=("T1",)), _spec(se=se))
    assert "placebo" in (info.value.fix or "")


def test_different_starts_are_refused_with_the_fix() -> None:
    frame = _pages()
    frame.loc[frame.page_id == "T2", "campaign_start"] = "2026-04-06"
    with pytest.raises(NotTestable, match="2 different periods") as info:
        _fit(frame, _spec())
    assert "staggered_did" in (info.value.fix or "")


def test_an_indicator_that_switches_off_is_refused() -> None:
    frame = _pages()
    frame.loc[(frame.page_id == "T1") & (frame.date == frame.date.max()), "treated_post"] = 0
    with pytest.raises(NotTestable, match="returns to 0"):
        _fit(frame, _spec(adoption=None, treatment="treated_post"))


def test_unbalanced_panel_refused_or_units_dropped_and_counted() -> None:
    frame = _pages()
    frame = frame.drop(frame.index[(frame.page_id == "C03") & (frame.date == "2026-02-02")])
    with pytest.raises(NotTestable, match="1 of 16 units miss the outcome") as info:
        _fit(frame, _spec())
    assert "incomplete_units: drop" in (info.value.fix or "")
    result = _fit(frame, _spec(options={"incomplete_units": "drop"}))
    assert result.counts["units_dropped_incomplete"] == 1 and result.extras["n_comparison"] == 13


def test_daily_rows_averaged_by_month_and_integer_periods() -> None:
    daily = _pages(periods=180, start=120, freq="D")
    monthly = _fit(daily, _spec(options={"period": "month"}))
    assert monthly.counts["periods"] == 7 and monthly.extras["trajectory"]["periods"][0] == "2026-01"
    assert monthly.extras["treatment_start"] == "2026-05"
    frame = _pages()
    frame["date"] = frame.groupby("page_id").cumcount() + 1
    frame["campaign_start"] = np.where(frame.treated == 1, 21, np.nan)
    integer = _fit(frame, _spec(options={"period": "integer"}))
    assert integer.estimate == pytest.approx(_fit(_pages(), _spec()).estimate, abs=1e-12)
    with pytest.raises(DataError, match="whole numbers, not dates, but the period is month"):
        _fit(frame, _spec(options={"period": "month"}))


def test_estimates_shift_exactly_with_a_post_period_effect() -> None:
    """Adding c to the treated units' post-period outcomes adds c to every estimator (R's test_synthdid.R)."""
    rng = np.random.default_rng(3)
    y = rng.normal(size=(20, 12)).cumsum(axis=1)
    shifted = y.copy()
    shifted[18:, 8:] += 5.0
    for method in ("sdid", "sc", "did"):
        base, moved = synth_fit(y, 18, 8, method), synth_fit(shifted, 18, 8, method)
        assert moved.estimate == pytest.approx(base.estimate + 5.0, abs=1e-10)
        np.testing.assert_allclose(moved.omega, base.omega, atol=1e-12)
        assert effect_curve(moved).mean() == pytest.approx(moved.estimate, abs=1e-10)


def test_warns_when_time_weights_interpolate_few_comparison_units() -> None:
    """Five comparison pages of pure noise, twenty pre-periods: lambda fits the controls' post means exactly, every
    placebo replicate starts from time weights that already fit its placebo page, and the placebo SE collapses."""
    frame = _pages(n_control=5, treated=("T1",))
    frame["y"] = np.random.default_rng(0).normal(size=len(frame))
    few = _fit(frame, _spec())
    assert few.extras["warnings"] and "placebo SE is too small" in few.extras["warnings"][0]
    fit = synth_fit(*_matrix(frame), "sdid")
    assert time_weight_fit_rmse(fit) < 1e-3 * fit.noise_level
    assert _fit(_pages(treated=("T1",)), _spec()).extras["warnings"] == []


def _matrix(frame: pd.DataFrame) -> tuple[np.ndarray, int, int]:
    wide = frame.pivot(index="page_id", columns="date", values="y")
    treated = frame.groupby("page_id")["treated"].first().loc[wide.index].to_numpy() == 1
    post = frame.groupby("date")["treated_post"].max().loc[wide.columns].to_numpy() == 1
    wide = pd.concat([wide[~treated], wide[treated]])
    return wide.to_numpy(), int((~treated).sum()), int((~post).sum())


def test_design_check_gives_the_fitters_reason_before_estimation() -> None:
    one = _pages(treated=("T1",))
    spec = _spec(se="jackknife")
    options = SyntheticOptions.model_validate(spec.estimator.options)
    reason = check_synthetic_design(one, spec, options)
    assert reason is not None and reason.startswith("the jackknife SE is undefined with one treated unit")
    assert "fix: register inference.se: placebo" in reason
    assert check_synthetic_design(_pages(), spec, options) is None


def write_prop99_study(tmp_path: Path, name: str, **hypothesis) -> Path:
    study = tmp_path / "study"
    shutil.copytree(PROP99, study)
    for path in (study / "hypotheses").glob("*.yaml"):
        path.unlink()
    spec = {"id": "prop99", "title": "Proposition 99", "hypothesis": "Sales fell.", "type": "exploratory",
            "direction": "decrease",
            "outcome": {"source": "prop99", "name": "packs", "construction": {"method": "column",
                                                                             "column": "PacksPerCapita"}},
            "design": {"unit": "State", "time": "Year", "treatment": "treated"},
            "estimator": {"name": name, "options": {"period": "year"}}, "inference": {"se": "placebo"},
            **hypothesis}
    import yaml

    (study / "hypotheses" / "prop99.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return study


def test_plan_time_refusals(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not adjust for covariates") as info:
        oca.load_study(write_prop99_study(tmp_path / "a", "synthetic_did", covariates=["treated"]))
    assert info.value.field == "covariates"
    with pytest.raises(SpecError, match="SE type 'CR1' is not offered by synthetic_control") as info:
        oca.load_study(write_prop99_study(tmp_path / "b", "synthetic_control", inference={"se": "CR1"}))
    assert "placebo, jackknife, bootstrap" in (info.value.fix or "")
    with pytest.raises(SpecError, match="estimator.options.replications"):
        oca.load_study(write_prop99_study(tmp_path / "c", "synthetic_did",
                                    estimator={"name": "synthetic_did", "options": {"period": "year",
                                                                                    "replications": 5}}))
    assert CATALOG["synthetic_did"].se_types == ("placebo", "jackknife", "bootstrap")


def test_plot_has_labelled_axes_and_redraws_from_results_json() -> None:
    from oca_experiments.engagement import plot_synthetic

    result = _fit(_pages(), _spec(options={"replications": 30}))
    record = json.loads(json.dumps(result.to_dict()))
    fig = plot_synthetic(record, outcome_label="engagement per post")
    labelled = [ax for ax in fig.axes if ax.get_xlabel() or ax.get_ylabel()]
    assert len(labelled) == 3 and fig.dpi >= 150
    assert fig.axes[0].get_ylabel() == "engagement per post"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_demo_h8_synthetic_did_covers_its_truth() -> None:
    """The demo's synthetic-DiD hypothesis: CSO2's page against the six comparison pages, monthly means."""
    import importlib.util

    from oca_experiments.demo import simulate_demo

    demo = simulate_demo()
    task = oca.load_study(oca.demo_study_dir()).plan.task("h8_engagement_synthetic")
    module_spec = importlib.util.spec_from_file_location("demo_engagement", REPO / "analysis" / "engagement.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    keep = demo.engagement["page_id"].isin(task.spec.design.subset["page_id"])
    frame = demo.engagement.loc[keep]
    result = FITTERS["synthetic_did"](frame, module.engagement_per_post(frame), task.spec, task.options,
                                      file="engagement.csv")
    truth = demo.truth["hypotheses"]["h8_engagement_synthetic"]
    assert truth == demo.truth["extras"]["h4_by_campaign"]["CSO2"]
    assert result.ci_low < truth < result.ci_high
    assert result.extras["treated_units"] == ["P02"] and result.extras["n_comparison"] == 6
    assert result.extras["resampling"] == {"replications": 6, "assignments": "all"}
    assert result.extras["warnings"] == []
