"""Measurement invariance of an index (issue 20, acceptance 3): a non-invariant index is flagged, an invariant one
is not, over a grid of seeds and sample sizes; the part round-trips; the index carries it beside reliability; the
trainer summary warns.

The simulation: 4 arm x wave groups, 4 five-point items of one factor (loadings 0.8/0.7/0.6/0.75, item noise SD
0.7), a true effect of 0.3 on the factor in the treated endline group and 0.1 of trend, factor SD 1.1 among the
treated. Non-invariant versions: item 3's intercept 0.5 points higher in the treated endline group at the same
factor (scalar fails: "only metric"), or item 2's loading 0.2 instead of 0.7 there (metric fails: "not
comparable"). The fit itself is checked against lavaan in tests/reference/test_invariance_lavaan.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oca_experiments.measurement import MIN_GROUP_N, measurement_invariance
from oca_experiments.outcomes import build_outcome
from oca_experiments.results.parts import EXTRAS_TYPES, MeasurementInvariance, lift_parts
from oca_experiments.spec import Construction, Design
from oca_experiments.report import plain_pages

LOADINGS = np.array([0.8, 0.7, 0.6, 0.75])
INTERCEPTS = np.array([3.1, 2.9, 3.0, 3.2])
ITEMS = ("q1", "q2", "q3", "q4")
DESIGN = Design(unit="unit", time="wave", pre="baseline", post="endline", treatment="arm")


def _simulate(seed: int, n: int, scenario: str, *, likert: bool = True) -> pd.DataFrame:
    """One row per respondent and wave (independent samples per wave), items on 1..5."""
    rng = np.random.default_rng(seed)
    frames = []
    for arm in (0, 1):
        for wave in ("baseline", "endline"):
            treated_endline = arm == 1 and wave == "endline"
            eta = rng.normal(0.1 * (wave == "endline") + 0.3 * treated_endline, 1.0 + 0.1 * arm, n)
            loadings, intercepts = LOADINGS.copy(), INTERCEPTS.copy()
            if treated_endline and scenario == "intercept":
                intercepts[2] += 0.5
            if treated_endline and scenario == "loading":
                loadings[1] = 0.2
            x = intercepts + eta[:, None] * loadings + rng.normal(0.0, 0.7, (n, LOADINGS.size))
            if likert:
                x = np.clip(np.rint(x), 1, 5)
            frame = pd.DataFrame(x, columns=list(ITEMS))
            frames.append(frame.assign(arm=arm, wave=wave, unit=[f"{arm}{wave}{i}" for i in range(n)]))
    return pd.concat(frames, ignore_index=True)


def _invariance(frame: pd.DataFrame) -> MeasurementInvariance:
    groups = frame["arm"].astype(str) + " " + frame["wave"]
    return measurement_invariance(frame[list(ITEMS)].to_numpy(dtype=float), groups.to_numpy(), ITEMS)


def _verdict(frame: pd.DataFrame) -> str | None:
    return _invariance(frame).verdict


EXPECTED = {"invariant": "comparable", "intercept": "only metric", "loading": "not comparable"}


@pytest.mark.parametrize("n", [300, 600])
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_non_invariant_index_is_flagged_and_invariant_one_is_not(scenario: str, n: int) -> None:
    parts = [_invariance(_simulate(seed, n, scenario)) for seed in range(6)]
    assert [part.verdict for part in parts] == [EXPECTED[scenario]] * 6
    if scenario == "intercept":  # partial invariance finds the shifted item, and the rest of the index holds
        assert all(p.partial_scalar.free_intercept == "q3" and p.partial_scalar.holds for p in parts)
    else:
        assert all(p.partial_scalar is None for p in parts)


def test_small_groups_flag_rarely_and_still_catch_a_shifted_intercept() -> None:
    """100 per group (N = 400): Chen's cut-offs on a 4-item model misflag some invariant samples (9 of 60 seeds at
    this size: RMSEA moves a lot on few df), so the rate is bounded, not zero; shifts are still caught."""
    invariant = [_verdict(_simulate(seed, 100, "invariant")) for seed in range(100, 120)]
    shifted = [_verdict(_simulate(seed, 100, "intercept")) for seed in range(100, 120)]
    assert sum(v != "comparable" for v in invariant) <= 5
    assert sum(v == "comparable" for v in shifted) <= 1


def test_continuous_items_and_unequal_groups() -> None:
    frame = _simulate(7, 400, "intercept", likert=False)
    frame = frame.drop(frame.index[(frame["arm"] == 0) & (frame["wave"] == "baseline")][:250])  # 150 vs 400
    assert _verdict(frame) == "only metric"
    assert _verdict(_simulate(7, 400, "invariant", likert=False).iloc[250:]) == "comparable"


def test_part_round_trips_and_is_typed_in_extras() -> None:
    frame = _simulate(1, 300, "intercept")
    groups = (frame["arm"].astype(str) + " " + frame["wave"]).to_numpy()
    part = measurement_invariance(frame[list(ITEMS)].to_numpy(dtype=float), groups, ITEMS)
    record = json.loads(json.dumps(part.to_dict()))
    again = MeasurementInvariance.from_dict(record)
    assert again.to_dict() == record and not again.other
    assert again.level("scalar").holds is False and again.level("metric").holds is True
    assert again.warning and "compare associations, not means" in again.warning
    assert [fit.level for fit in again.levels] == ["configural", "metric", "scalar"]
    assert again.level("scalar").df - again.level("metric").df == 9  # 4 groups x 4 intercepts - 3 factor means
    assert EXTRAS_TYPES["invariance"] is MeasurementInvariance
    assert isinstance(lift_parts({"invariance": record})["invariance"], MeasurementInvariance)


def test_not_tested_with_too_few_answers_items_or_variation() -> None:
    frame = _simulate(2, MIN_GROUP_N - 1, "invariant")
    groups = (frame["arm"].astype(str) + " " + frame["wave"]).to_numpy()
    x = frame[list(ITEMS)].to_numpy(dtype=float)
    small = measurement_invariance(x, groups, ITEMS)
    assert small.verdict is None and small.levels is None and f"fewer than 2 groups with {MIN_GROUP_N}" in small.note
    mixed = pd.concat([_simulate(2, 200, "invariant").query("wave == 'endline' or arm == 1"),
                       frame.query("arm == 0 and wave == 'baseline'")], ignore_index=True)
    part = measurement_invariance(mixed[list(ITEMS)].to_numpy(dtype=float),
                                  (mixed["arm"].astype(str) + " " + mixed["wave"]).to_numpy(), ITEMS)
    assert part.groups == ("0 endline", "1 baseline", "1 endline") and part.verdict == "comparable"
    assert part.note == f"left out, fewer than {MIN_GROUP_N} complete answers (the verdict does not cover them): " \
                        "'0 baseline'"
    assert "fewer than 3 items" in measurement_invariance(x[:, :2], groups, ITEMS[:2]).note
    frame = _simulate(2, 200, "invariant")
    frame.loc[frame["wave"] == "baseline", "q4"] = 3.0
    flat = measurement_invariance(frame[list(ITEMS)].to_numpy(dtype=float),
                                  (frame["arm"].astype(str) + frame["wave"]).to_numpy(), ITEMS)
    assert flat.verdict is None and "no variation" in flat.note


def test_index_carries_invariance_beside_reliability_and_standardizing_changes_nothing() -> None:
    frame = _simulate(3, 250, "intercept")
    mean = build_outcome(frame, Construction(method="mean", items=ITEMS, scale=(1, 5)), file="x.csv",
                         design=DESIGN, reliability_draws=20)
    klk = build_outcome(frame, Construction(method="zscore", items=ITEMS, reverse=("q3",)), file="x.csv",
                        design=DESIGN, reliability_draws=20)
    assert mean.reliability and mean.invariance is not None
    assert mean.invariance.groups == ("comparison, baseline", "comparison, endline", "treated, baseline",
                                      "treated, endline")
    assert mean.invariance.group_n == (250, 250, 250, 250)
    assert mean.invariance.note is None  # a new sample each wave: no panel dependence
    assert mean.invariance.verdict == klk.invariance.verdict == "only metric"
    for a, b in zip(mean.invariance.levels, klk.invariance.levels, strict=True):
        assert a.chisq == pytest.approx(b.chisq, rel=1e-6) and a.cfi == pytest.approx(b.cfi, abs=1e-8)
    column = build_outcome(frame, Construction(method="column", column="q1"), file="x.csv", design=DESIGN)
    assert column.invariance is None


def test_panel_respondents_get_the_dependence_note() -> None:
    frame = _simulate(4, 200, "invariant")
    frame["unit"] = frame.groupby(["arm", "wave"]).cumcount().astype(str) + "-" + frame["arm"].astype(str)
    built = build_outcome(frame, Construction(method="mean", items=ITEMS, scale=(1, 5)), file="x.csv",
                          design=DESIGN, reliability_draws=20)
    assert "same respondents answer in several waves" in built.invariance.note


def _run(tmp_path: Path, verdict: str | None) -> Path:
    extras = {} if verdict is None else {"invariance": {"verdict": verdict}}
    record = {"id": "h1_horizontal_trust", "status": "estimated", "type": "confirmatory", "direction": "increase",
              "estimate": 0.3, "std_error": 0.06, "ci_low": 0.18, "ci_high": 0.42, "p_value": 1e-4,
              "p_value_two_sided": 1e-4, "df": 40.0, "tails": "two", "n": 2100, "n_clusters": 40, "sesoi": 0.1,
              "counts": {"units": 1050}, "extras": extras, "outcome": "h1_horizontal_trust"}
    run = tmp_path / f"run-{verdict}"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"study": "Demo", "hypotheses": [record]}), encoding="utf-8")
    specs = {"h1_horizontal_trust": {"outcome": {"construction": {"method": "zscore"}},
                                     "design": {"unit": "respondent_id", "cluster": "community_id"}}}
    (run / "manifest.json").write_text(json.dumps({"schema_version": 1, "specs": specs}), encoding="utf-8")
    return run


@pytest.mark.parametrize(("verdict", "words"), [("only metric", "Treat the size of the change with caution"),
                                                ("not comparable", "cannot be compared fairly"),
                                                ("comparable", None), (None, None)])
def test_trainer_summary_warns_when_the_index_is_not_comparable(tmp_path: Path, verdict: str | None,
                                                                words: str | None) -> None:
    run = _run(tmp_path, verdict)
    page = plain_pages(run, lang="en")[0][0]
    found = [c for c in page.caveats if "questions behind this measure" in c]
    assert (found and words in found[0]) if words else not found
    russian = plain_pages(run, lang="ru")[0][0]
    assert any("Вопросы, из которых складывается этот показатель" in c for c in russian.caveats) == bool(words)


def test_no_verdict_when_a_fit_does_not_converge(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from oca_experiments import measurement

    fit = measurement.fit_level
    monkeypatch.setattr(measurement, "fit_level", lambda level, groups: dataclasses.replace(
        fit(level, groups), converged=level != "metric"))
    frame = _simulate(5, 200, "invariant")
    part = measurement_invariance(frame[list(ITEMS)].to_numpy(dtype=float),
                                  (frame["arm"].astype(str) + frame["wave"]).to_numpy(), ITEMS)
    assert part.verdict is None and part.levels is None and "did not converge (metric)" in part.note


def test_one_wave_groups_by_arm_and_huge_samples_still_decide() -> None:
    frame = _simulate(6, 300, "intercept").query("wave == 'endline'").drop(columns="wave")
    built = build_outcome(frame, Construction(method="mean", items=ITEMS, scale=(1, 5)), file="x.csv",
                          design=DESIGN, reliability_draws=20)
    assert built.invariance.groups == ("comparison", "treated") and built.invariance.verdict == "only metric"
    assert _verdict(_simulate(8, 20000, "invariant")) == "comparable"
    assert _verdict(_simulate(8, 20000, "loading")) == "not comparable"
