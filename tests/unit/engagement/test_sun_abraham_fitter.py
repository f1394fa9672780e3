"""The registered ``sun_abraham`` estimator on a spec: the event-study table is pyfixest's saturated event study
(interaction-weighted by cohort shares) to 1e-8, the ATT is the unit-weighted mean of pyfixest's cohort x lag
coefficients, the same fit comes from adoption dates or the 0/1 indicator, and an unbalanced panel is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from oca_experiments.estimators import registry
from oca_experiments.estimators._engagement_options import SunAbrahamOptions
from oca_experiments.estimators._sun_abraham import fit_sun_abraham
from oca_experiments.estimators._survey_frame import NotTestable

from _series_data import quarterly_panel, spec

pyfixest = pytest.importorskip("pyfixest")
NO_RULE = {"few_clusters": {"threshold": 0}}


def _fit(data, *, window=None, treatment="treated", adoption=None, cluster="unit"):
    options = SunAbrahamOptions.model_validate({"period": "quarter", **({"event_window": window} if window else {})})
    s = spec("sun_abraham", adoption=adoption, treatment=treatment, cluster=cluster, se="CR1", inference=NO_RULE)
    return fit_sun_abraham(data, data["y"], s, options, file="panel.csv")


def test_sun_abraham_is_registered() -> None:
    record = registry.get_record("sun_abraham")
    assert record.available and record.se_types == ("CR1",) and record.covariates is False


def test_registered_sun_abraham_matches_pyfixest() -> None:
    data = quarterly_panel(seed=3)
    ours = _fit(data, window=[-4, 3])
    frame = data.assign(q=np.tile(np.arange(1, 21), 24))
    first = frame.loc[frame["treated"] == 1].groupby("unit")["q"].min()
    frame["g"] = frame["unit"].map(first).fillna(0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pyfixest.event_study(data=frame, yname="y", idname="unit", tname="q", gname="g", cluster="unit",
                                     estimator="saturated")
        reference = model.aggregate(agg="period", weighting="shares").astype(float)
    table = ours.extras["event_study"]
    assert table["event_time"] == [-4, -3, -2, 0, 1, 2, 3]
    for rel, b, s in zip(table["event_time"], table["estimate"], table["std_error"], strict=True):
        assert b == pytest.approx(float(reference.loc[rel, "Estimate"]), abs=1e-8)
        assert s == pytest.approx(float(reference.loc[rel, "Std. Error"]), abs=1e-8)
    coefs = model.coef()
    sizes = frame.drop_duplicates("unit").query("g > 0")["g"].value_counts()
    total = weight = 0.0
    for g, units in sizes.items():
        for rel in range(0, 4):
            keys = [k for k in coefs.index if f"::{float(rel)}:" in k and k.endswith(f"::{g}")]
            if keys:
                total += units * float(coefs[keys[0]])
                weight += units
    assert ours.estimate == pytest.approx(total / weight, abs=1e-8)
    assert sum(c["share"] for c in ours.extras["cohort_shares"]) == pytest.approx(1.0)
    assert ours.se_type == "CR1" and ours.n_clusters == 24 and ours.std_error > 0


def test_indicator_and_adoption_dates_agree_and_unbalanced_is_refused() -> None:
    data = quarterly_panel(seed=3)
    assert _fit(data).estimate == pytest.approx(_fit(data, treatment="ever", adoption="start").estimate,
                                                rel=1e-12)
    with pytest.raises(NotTestable, match="balanced panel"):
        _fit(data.drop(index=[3]).reset_index(drop=True))
