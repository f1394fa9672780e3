"""The index layer: reverse coding, min items, mean / KLK z-score / Anderson ICW, and reliability (alpha, omega).

Independent checks: the KLK and ICW indices against R (tests/reference/survey/reference.json, written from the
papers' definitions) and the ICW index against statsmodels' GLS (Anderson's index of a respondent is the GLS
estimate of a common mean with the items' covariance); omega's factor loadings against statsmodels' ML factor
analysis; alpha against its textbook formula on a small worked example.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from survey_helpers import read_reference_csv

from oca_experiments.errors import DataError, SpecError
from oca_experiments.outcomes import build_outcome, cronbach_alpha, feldt_interval, one_factor_ml, reliability
from oca_experiments.spec import Construction, Design

DESIGN = Design(unit="unit", time="wave", pre="baseline", post="endline", treatment="arm")


def _items() -> pd.DataFrame:
    frame = read_reference_csv("index_items.csv")
    return frame.assign(unit=[f"u{i}" for i in range(len(frame))])


def _construction(method: str, **extra) -> Construction:
    return Construction(method=method, items=("q1", "q2", "q3", "q4"), reverse=("q3",), scale=(1, 5), min_items=3,
                        **extra)


@pytest.mark.parametrize("method, key", [("zscore", "klk"), ("icw", "icw")])
def test_indices_match_r(r_reference, method: str, key: str) -> None:
    built = build_outcome(_items(), _construction(method), file="items.csv", design=DESIGN)
    expected = np.array([np.nan if v is None else v for v in r_reference["index"][key]], dtype=float)
    np.testing.assert_array_equal(np.isnan(expected), built.values.isna().to_numpy())
    assert np.nanmax(np.abs(built.values.to_numpy() - expected)) < 1e-10
    if method == "icw":
        weights = np.array(list(built.index["weights"].values()))
        assert np.max(np.abs(weights - np.array(r_reference["index"]["icw_weights"]))) < 1e-10


def test_icw_equals_gls_common_mean_from_statsmodels() -> None:
    import statsmodels.api as sm

    frame = _items()
    built = build_outcome(frame, _construction("icw"), file="items.csv", design=DESIGN)
    z = np.column_stack([(frame[c] if c != "q3" else 6 - frame[c]).to_numpy(float) for c in ("q1", "q2", "q3",
                                                                                               "q4")])
    reference = ((frame["arm"] == 0) & (frame["wave"] == "baseline")).to_numpy()
    z = (z - np.nanmean(z[reference], axis=0)) / np.nanstd(z[reference], axis=0, ddof=1)
    complete_ref = z[reference & ~np.isnan(z).any(axis=1)]
    sigma = np.cov(complete_ref, rowvar=False)
    raw = np.array([sm.GLS(row, np.ones(4), sigma=sigma).fit().params[0] if not np.isnan(row).any() else np.nan
                    for row in z])
    restandardized = (raw - np.nanmean(raw[reference])) / np.nanstd(raw[reference], ddof=1)
    complete = ~np.isnan(z).any(axis=1)
    # Rows with every item answered need no re-weighting, so GLS and the index agree there (the re-standardizing
    # constants come from complete reference rows here, from every usable one in oca: compare up to them).
    ours, gls = built.values.to_numpy()[complete], restandardized[complete]
    slope, intercept = np.polyfit(gls, ours, 1)
    assert np.max(np.abs(ours - (slope * gls + intercept))) < 1e-10


def test_klk_index_is_standardized_in_the_reference_group() -> None:
    frame = _items()
    built = build_outcome(frame, _construction("zscore"), file="items.csv", design=DESIGN)
    reference = ((frame["arm"] == 0) & (frame["wave"] == "baseline")).to_numpy()
    values = built.values.to_numpy()[reference]
    assert np.nanmean(values) == pytest.approx(0.0, abs=1e-12)
    assert np.nanstd(values, ddof=1) == pytest.approx(1.0, abs=1e-12)
    assert built.index["reference_group"] == "arm == 0 at wave == 'baseline'"


def test_reverse_coding_and_min_items_for_the_mean_index() -> None:
    frame = pd.DataFrame({"a": [5, 1, 3, None], "b": [1, 5, None, None], "c": [4, 2, 3, 3]})
    construction = Construction(method="mean", items=("a", "b", "c"), reverse=("b",), scale=(1, 5), min_items=2)
    built = build_outcome(frame, construction, file="f.csv")
    np.testing.assert_allclose(built.values.to_numpy()[:3], [(5 + 5 + 4) / 3, (1 + 1 + 2) / 3, (3 + 3) / 2])
    assert np.isnan(built.values.iloc[3]) and built.n_too_few_items == 1


def test_zscore_reverses_by_sign_without_a_scale() -> None:
    frame = _items()
    with_scale = build_outcome(frame, _construction("zscore"), file="x", design=DESIGN).values
    construction = Construction(method="zscore", items=("q1", "q2", "q3", "q4"), reverse=("q3",), min_items=3)
    without = build_outcome(frame, construction, file="x", design=DESIGN).values
    pd.testing.assert_series_equal(with_scale, without)


def test_zscore_needs_a_reference_group_and_item_variation() -> None:
    frame = _items()
    with pytest.raises(SpecError, match="design.pre"):
        build_outcome(frame, _construction("zscore"), file="x", design=None)
    flat = frame.assign(q1=np.where(frame["arm"] == 0, 3, frame["q1"]))
    with pytest.raises(DataError) as err:
        build_outcome(flat, _construction("zscore"), file="items.csv", design=DESIGN)
    assert err.value.column == "q1" and "no variation" in str(err.value) and "\n" not in str(err.value)


def test_cronbach_alpha_textbook_example() -> None:
    # 5 respondents x 3 items: item variances 0.7, 1.3, 0.7 (sum 2.7); total-score variance 5.8
    items = np.array([[1, 2, 2], [2, 1, 2], [3, 3, 3], [2, 3, 4], [3, 4, 3]], dtype=float)
    assert items.var(axis=0, ddof=1).sum() == pytest.approx(2.7)
    assert items.sum(axis=1).var(ddof=1) == pytest.approx(5.8)
    assert cronbach_alpha(items) == pytest.approx(1.5 * (1 - 2.7 / 5.8))
    low, high = feldt_interval(0.8, 5, 3)
    assert low < 0.8 < high < 1


def test_omega_loadings_match_statsmodels_ml_factor_analysis() -> None:
    from statsmodels.multivariate.factor import Factor

    rng = np.random.default_rng(3)
    factor = rng.normal(size=600)
    loadings = np.array([0.8, 0.6, 0.7, 0.5, 0.4])
    data = factor[:, None] * loadings + rng.normal(size=(600, 5)) * np.sqrt(1 - loadings**2)
    correlation = np.corrcoef(data, rowvar=False)
    ours, uniqueness = one_factor_ml(correlation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Factor(corr=correlation, n_factor=1, method="ml", nobs=600).fit()
    assert np.max(np.abs(ours - np.abs(ref.loadings[:, 0]))) < 1e-5  # statsmodels' optimizer tolerance
    assert np.max(np.abs(uniqueness - ref.uniqueness)) < 1e-5
    record = reliability(data, draws=200, seed=1)
    assert record["omega_ci"][0] < record["omega"] < record["omega_ci"][1]
    assert record["alpha_ci"][0] < record["alpha"] < record["alpha_ci"][1]
    assert reliability(data, draws=200, seed=1) == record  # seeded


def test_reliability_is_reported_per_wave_with_threshold_warnings() -> None:
    built = build_outcome(_items(), _construction("zscore", reliability_threshold=0.95), file="x", design=DESIGN)
    waves = [r["wave"] for r in built.reliability]
    assert waves == ["baseline", "endline"]
    for record in built.reliability:
        assert {"alpha", "alpha_ci", "omega", "omega_ci", "n"} <= set(record)
        assert record["below_threshold"] == ["alpha", "omega"] and record["threshold"] == 0.95
