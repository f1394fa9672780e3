"""TWFE beside Callaway-Sant'Anna, and PPML: agreement with pyfixest to 1e-8."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._counts import fit_ppml, log1p_counts
from oca_experiments.estimators._staggered import twfe_did

pf = pytest.importorskip("pyfixest")
TOL = 1e-8


def _staggered(seed: int, units: int = 40, periods: int = 30, drop: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    start = np.where(np.arange(units) < units // 3, 10_000, rng.integers(5, periods - 3, units))[unit]
    d = (time >= start).astype(float)
    # Effects grow with time since adoption: TWFE then has negative weights on some cells.
    effect = 0.2 * np.maximum(time - start + 1, 0) * d
    y = rng.normal(0, 1, units)[unit] + 0.05 * time + effect + rng.normal(0, 0.5, unit.size)
    frame = pd.DataFrame({"y": y, "d": d, "unit": unit, "time": time, "cluster": unit // 2})
    if drop:
        frame = frame.loc[rng.random(len(frame)) > drop].reset_index(drop=True)
    return frame


def _feols(formula: str, data: pd.DataFrame, cluster: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov={"CRV1": cluster})


@pytest.mark.parametrize("drop", [0.0, 0.15])
@pytest.mark.parametrize("cluster", ["unit", "cluster"])
def test_twfe_matches_pyfixest(drop: float, cluster: str) -> None:
    data = _staggered(1, drop=drop)
    ours = twfe_did(data["y"].to_numpy(), data["unit"].to_numpy(), data["time"].to_numpy(), data["d"].to_numpy(),
                    data[cluster].to_numpy())
    ref = _feols("y ~ d | unit + time", data, cluster)
    assert ours.estimate == pytest.approx(float(ref.coef().iloc[0]), abs=TOL)
    assert ours.std_error == pytest.approx(float(ref.se().iloc[0]), abs=TOL)
    assert ours.n_obs == len(data)


def test_twfe_reports_negative_weights_under_staggering() -> None:
    data = _staggered(2)
    ours = twfe_did(data["y"].to_numpy(), data["unit"].to_numpy(), data["time"].to_numpy(), data["d"].to_numpy())
    assert ours.weights_negative > 0 and ours.weights_negative_sum < 0


def test_ppml_matches_pyfixest_fepois() -> None:
    rng = np.random.default_rng(2)
    units, periods = 40, 30
    unit = np.repeat(np.arange(units), periods)
    time = np.tile(np.arange(periods), units)
    start = np.where(np.arange(units) < 15, 10_000, rng.integers(5, 25, units))[unit]
    d = (time >= start).astype(float)
    y = rng.poisson(np.exp(0.5 + rng.normal(0, 0.5, units)[unit] + 0.02 * time + 0.3 * d)).astype(float)
    y[unit == 3] = 0  # an all-zero unit: dropped by both
    data = pd.DataFrame({"y": y, "d": d, "d2": d * (time % 2), "unit": unit, "time": time})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ d + d2 | unit + time", data=data, vcov={"CRV1": "unit"})
    ours = fit_ppml(y, np.column_stack([d, d * (time % 2)]), fixed_effects=[unit, time], clusters=unit)
    np.testing.assert_allclose(ours.params, ref.coef().to_numpy(), atol=TOL)
    np.testing.assert_allclose(np.sqrt(np.diag(ours.vcov)), ref.se().to_numpy(), atol=TOL)
    assert ours.n_dropped == periods


def test_log1p_counts() -> None:
    np.testing.assert_allclose(log1p_counts(np.array([0.0, 1.0, np.nan]))[:2], [0.0, np.log(2.0)])
    with pytest.raises(Exception, match="non-negative"):
        log1p_counts(np.array([-1.0]))
