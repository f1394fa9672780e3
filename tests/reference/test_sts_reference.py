"""The structural time-series estimator against published results and an independent implementation.

1. CausalImpact's documented example (Brodersen et al. 2015; the package vignette's "Creating an example dataset":
   y = 1.2 * x1 + noise, +10 from period 71 on). The data come from base R with the vignette's seed
   (``sts/make_causalimpact_example.R``, output committed, so the suite needs no R). The vignette prints
   (Bayesian, bsts): average absolute effect 11 (s.d. 0.37), 95% CI [9.8, 11]; relative effect 9.9% (s.d. 0.35%),
   95% CI [9.2%, 11%]. Ours is the frequentist plug-in version of the same local-level-plus-regression model, so
   the tolerances are the vignette's printed rounding plus a small allowance for posterior vs plug-in.
2. The Nile flow with the 1899 Aswan dam as a level shift (Durbin and Koopman 2012, sec. 2.x; Commandeur and
   Koopman 2007): the variances and the shift's coefficient equal an independent implementation written here
   from first principles: the model as a GLS regression with a random-walk covariance, its variances by
   maximising the restricted (diffuse) likelihood, the coefficient by GLS. Tolerances: 1e-3 relative on the
   variances (two optimisers), 1e-6 on the coefficient and its standard error at the same variances.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from oca_experiments.estimators._its import fit_counterfactual, fit_intervention

HERE = Path(__file__).resolve().parent / "sts"


def test_causalimpact_documented_example() -> None:
    data = pd.read_csv(HERE / "causalimpact_example.csv")
    cf = fit_counterfactual(data["y"].to_numpy(), data[["x1"]].to_numpy(), 70, seasonal=())
    # Vignette (printed to 2 significant digits): 11 (0.37), [9.8, 11]; 9.9% (0.35%), [9.2%, 11%].
    assert cf.average_effect == pytest.approx(10.6, abs=0.5)
    assert cf.average_se == pytest.approx(0.37, abs=0.02)
    assert cf.average_ci[0] == pytest.approx(9.8, abs=0.15)
    assert cf.average_ci[1] == pytest.approx(11.0, abs=0.5)
    assert cf.relative_effect == pytest.approx(0.099, abs=0.001)
    assert cf.relative_ci[0] == pytest.approx(0.092, abs=0.001)
    assert cf.relative_ci[1] == pytest.approx(0.11, abs=0.005)
    assert cf.relative_ci[0] < cf.relative_effect < cf.relative_ci[1]
    assert cf.average_ci[0] < 10 < cf.average_ci[1]  # the truth


def _restricted_loglik(log_vars: np.ndarray, y: np.ndarray, x: np.ndarray) -> float:
    """Local level with regression as GLS: y = a*1 + x b + (random walk from 0) + noise; restricted likelihood."""
    eps, eta = np.exp(log_vars)
    n = y.size
    t = np.arange(n)
    cov = eta * np.minimum.outer(t, t) + eps * np.eye(n)
    chol = np.linalg.cholesky(cov)
    design = np.column_stack([np.ones(n), x])
    wy = np.linalg.solve(chol, y)
    wx = np.linalg.solve(chol, design)
    beta, *_ = np.linalg.lstsq(wx, wy, rcond=None)
    resid = wy - wx @ beta
    _, logdet_xtx = np.linalg.slogdet(wx.T @ wx)
    return -0.5 * (2 * np.log(np.diag(chol)).sum() + logdet_xtx + resid @ resid)


def test_nile_level_shift_against_gls_restricted_likelihood() -> None:
    sm = pytest.importorskip("statsmodels.api")
    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype=float)
    start = 28  # 1899
    fit = fit_intervention(nile, None, start, kind="level_shift", level="local_level")
    step = (np.arange(nile.size) >= start).astype(float)
    best = optimize.minimize(lambda v: -_restricted_loglik(v, nile, step), x0=np.log([15000.0, 1000.0]),
                             method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 5000})
    eps, eta = np.exp(best.x)
    assert fit.params["sigma2.irregular"] == pytest.approx(eps, rel=1e-3)
    assert fit.params["sigma2.level"] == pytest.approx(eta, rel=1e-3, abs=1.0)
    # At oca's variances, the GLS coefficient and its standard error equal the smoothed state's.
    eps, eta = fit.params["sigma2.irregular"], fit.params["sigma2.level"]
    t = np.arange(nile.size)
    cov = eta * np.minimum.outer(t, t) + eps * np.eye(nile.size)
    design = np.column_stack([np.ones(nile.size), step])
    inv = np.linalg.inv(cov)
    precision = design.T @ inv @ design
    beta = np.linalg.solve(precision, design.T @ inv @ nile)
    se = np.sqrt(np.linalg.inv(precision)[1, 1])
    assert fit.estimate == pytest.approx(beta[1], rel=1e-6)
    assert fit.std_error == pytest.approx(se, rel=1e-6)
    assert fit.estimate < -200  # the dam lowered the flow
