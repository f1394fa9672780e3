"""Synthetic difference-in-differences, synthetic control and DiD on a block-treatment panel matrix.

Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), "Synthetic Difference-in-Differences", AER 111(12).
The algorithm follows the reference R package ``synthdid`` (``synthdid_estimate``, ``sc_estimate``,
``did_estimate``) so that the same data and settings give the same weights and estimates:

- unit weights omega and time weights lambda by Frank-Wolfe with exact line search on the penalised least-squares
  problems of Algorithm 1 (ridge ``zeta``; an intercept for SDID; a first round of ``max_iter_pre_sparsify``
  iterations, weights at or below max/4 set to zero, then a second round of up to ``max_iter``);
- zeta_omega = (N_tr T_post)^(1/4) * sigma, sigma the SD of the control units' first differences before treatment;
  zeta_lambda = 1e-6 sigma; the stopping rule stops when an iteration lowers the objective by less than
  (1e-5 sigma)^2;
- synthetic control (``sc``): unit weights without intercept and with an infinitesimal ridge (1e-6 sigma), no
  time weights (the estimate is the post-period gap); DiD: uniform weights.

Variance (Section 5 of the paper): placebo (Algorithm 4; the only one available with one treated unit),
fixed-weights jackknife (Algorithm 3; undefined with one treated unit or one control with non-zero weight) and the
bootstrap (Algorithm 2; re-estimates the weights; undefined with one treated unit). Randomness enters only through
the permutations and resamples, which the caller draws from a seeded generator.

Rows of ``y`` are units with the ``n0`` controls first; columns are periods with the ``t0`` pre-periods first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
try:  # numba comes with the `bayes` extra; the core install runs the same loop in plain Python (slower, same numbers)
    from numba import njit
except ModuleNotFoundError:  # pragma: no cover - exercised by tests/unit/test_core_install.py
    def njit(*args, **kwargs):
        return (lambda function: function) if not (len(args) == 1 and callable(args[0])) else args[0]

__all__ = ["Method", "SynthSettings", "SynthFit", "synth_fit", "placebo_se", "placebo_se_all", "jackknife_se",
           "bootstrap_se", "effect_curve", "synthetic_trajectory", "time_weight_fit_rmse", "noise_level",
           "PermutationSource", "ResampleSource"]

Method = Literal["sdid", "sc", "did"]
#: Draws a permutation of range(n) (0-based).
PermutationSource = Callable[[int], np.ndarray]
#: Draws n indices from range(n) with replacement (0-based).
ResampleSource = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class SynthSettings:
    """Everything that fixes the weights' optimisation problem; kept with the fit so that placebo, jackknife and
    bootstrap replicates solve the same problem (as the R package's ``opts``)."""

    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100
    sparsify: bool = True


@dataclass(frozen=True)
class SynthFit:
    method: Method
    estimate: float
    omega: np.ndarray  # (n0,) unit weights of the controls
    lambda_: np.ndarray  # (t0,) time weights of the pre-periods
    y: np.ndarray  # (n, t) the panel it was fitted on
    n0: int
    t0: int
    settings: SynthSettings
    noise_level: float

    def __post_init__(self) -> None:
        for array in (self.omega, self.lambda_, self.y):
            array.setflags(write=False)

    @property
    def n_treated(self) -> int:
        return self.y.shape[0] - self.n0

    @property
    def n_post(self) -> int:
        return self.y.shape[1] - self.t0


# --------------------------------------------------------------------------------------------------- solver


@njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def _fw_loop(a: np.ndarray, b: np.ndarray, x: np.ndarray, eta: float, zeta2: float, threshold: float,
             max_iter: int) -> np.ndarray:  # pragma: no cover - compiled
    """Frank-Wolfe with exact line search for ||A x - b||^2 + eta ||x||^2 on the unit simplex (the R package's
    ``fw.step`` inside ``sc.weight.fw``); stops when an iteration lowers the objective by at most ``threshold``.
    Compiled: the placebo SE solves this a few hundred times with up to 10,000 iterations each."""
    n = a.shape[0]
    previous = np.inf
    current = np.inf
    for t in range(max_iter):
        if t >= 2 and not previous - current > threshold:
            break
        ax = a @ x
        half_grad = (ax - b) @ a + eta * x
        i = np.argmin(half_grad)  # first minimiser, as R's which.min
        d_x = -x
        d_x[i] = 1.0 - x[i]
        moved = False
        for v in d_x:
            if v != 0.0:
                moved = True
                break
        if moved:
            d_err = a[:, i] - ax
            step = -(half_grad @ d_x) / ((d_err @ d_err) + eta * (d_x @ d_x))
            x = x + min(1.0, max(0.0, step)) * d_x
        err = a @ x - b
        previous = current
        current = zeta2 * (x @ x) + (err @ err) / n
    return x


def _fw_weights(y: np.ndarray, zeta: float, *, intercept: bool, init: np.ndarray | None, min_decrease: float,
                max_iter: int) -> np.ndarray:
    """Weights x on the columns 0..k-1 of ``y`` (rows are observations) fitting column k: the R package's
    ``sc.weight.fw``. The intercept is a constant across rows (columns are centred)."""
    k = y.shape[1] - 1
    x = np.full(k, 1.0 / k) if init is None else np.array(init, dtype=np.float64)
    if intercept:
        y = y - y.mean(axis=0)
    a, b = np.ascontiguousarray(y[:, :k]), np.ascontiguousarray(y[:, k])
    return _fw_loop(a, b, x, float(y.shape[0] * zeta**2), float(zeta**2), float(min_decrease**2), int(max_iter))


def _sparsify(v: np.ndarray) -> np.ndarray:
    v = np.where(v <= v.max() / 4, 0.0, v)
    return v / v.sum()


def _solve(y: np.ndarray, zeta: float, *, intercept: bool, init: np.ndarray | None,
           settings: SynthSettings) -> np.ndarray:
    first_round = settings.max_iter_pre_sparsify if settings.sparsify else settings.max_iter
    x = _fw_weights(y, zeta, intercept=intercept, init=init, min_decrease=settings.min_decrease,
                    max_iter=first_round)
    if settings.sparsify:
        x = _fw_weights(y, zeta, intercept=intercept, init=_sparsify(x), min_decrease=settings.min_decrease,
                        max_iter=settings.max_iter)
    return x


def _collapsed(y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """(n0 + 1) x (t0 + 1): controls' pre-periods, their post mean; the treated units' mean pre-periods, post mean."""
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def noise_level(y: np.ndarray, n0: int, t0: int) -> float:
    """SD of the controls' first differences over the pre-periods (the R package's default sigma)."""
    diffs = np.diff(y[:n0, :t0], axis=1)
    return float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0


def _weighted_estimate(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lambda_: np.ndarray) -> float:
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    row = np.concatenate([-omega, np.full(n1, 1.0 / n1)])
    col = np.concatenate([-lambda_, np.full(t1, 1.0 / t1)])
    return float(row @ y @ col)


def _estimate(y: np.ndarray, n0: int, t0: int, settings: SynthSettings, omega: np.ndarray | None,
              lambda_: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray]:
    """Solve for the weights that ``settings`` says to update (starting from the given ones) and estimate."""
    collapsed = _collapsed(y, n0, t0)
    if settings.update_lambda:
        lambda_ = _solve(collapsed[:n0, :], settings.zeta_lambda, intercept=settings.lambda_intercept,
                         init=lambda_, settings=settings)
    if settings.update_omega:
        omega = _solve(collapsed[:, :t0].T, settings.zeta_omega, intercept=settings.omega_intercept, init=omega,
                       settings=settings)
    assert omega is not None and lambda_ is not None
    return _weighted_estimate(y, n0, t0, omega, lambda_), omega, lambda_


def synth_fit(y: np.ndarray, n0: int, t0: int, method: Method = "sdid", *, eta_omega: float | None = None,
              eta_lambda: float = 1e-6, max_iter: int = 10_000, max_iter_pre_sparsify: int = 100,
              sparsify: bool = True, min_decrease_factor: float = 1e-5) -> SynthFit:
    """Fit SDID, SC or DiD. ``eta_omega`` defaults to (N_tr T_post)^(1/4) for SDID and 1e-6 for SC, as in R."""
    y = np.array(y, dtype=np.float64)
    n, t = y.shape
    if not (0 < n0 < n and 0 < t0 < t):
        raise ValueError("need at least one control and one treated unit, one pre- and one post-period")
    if not np.isfinite(y).all():
        raise ValueError("the panel matrix must be complete (balanced, no missing values)")
    sigma = noise_level(y, n0, t0)
    if eta_omega is None:
        eta_omega = ((n - n0) * (t - t0)) ** 0.25 if method == "sdid" else 1e-6
    settings = SynthSettings(
        zeta_omega=eta_omega * sigma, zeta_lambda=eta_lambda * sigma, omega_intercept=method != "sc",
        lambda_intercept=True, update_omega=method != "did", update_lambda=method == "sdid",
        min_decrease=min_decrease_factor * sigma, max_iter=max_iter, max_iter_pre_sparsify=max_iter_pre_sparsify,
        sparsify=sparsify)
    omega = None if settings.update_omega else np.full(n0, 1.0 / n0)
    lambda_ = {"sdid": None, "sc": np.zeros(t0), "did": np.full(t0, 1.0 / t0)}[method]
    estimate, omega, lambda_ = _estimate(y, n0, t0, settings, omega, lambda_)
    return SynthFit(method, estimate, omega, lambda_, y, n0, t0, settings, sigma)


def time_weight_fit_rmse(fit: SynthFit) -> float:
    """RMS error of the time weights' fit to the controls' post-period means (intercept included). Near zero when
    there are so few controls that lambda interpolates them exactly: placebo replicates then start from time
    weights that already fit the placebo-treated unit, and the placebo SE collapses towards zero."""
    collapsed = _collapsed(fit.y, fit.n0, fit.t0)[:fit.n0]
    centred = collapsed - collapsed.mean(axis=0)
    err = centred[:, :fit.t0] @ fit.lambda_ - centred[:, fit.t0]
    return float(np.sqrt(np.mean(err**2)))


def effect_curve(fit: SynthFit) -> np.ndarray:
    """Per-post-period effects whose mean is the estimate: treated mean minus the weighted controls, less the
    lambda-weighted pre-period gap."""
    n1 = fit.n_treated
    gap = np.concatenate([-fit.omega, np.full(n1, 1.0 / n1)]) @ fit.y
    return gap[fit.t0:] - float(gap[:fit.t0] @ fit.lambda_)


def synthetic_trajectory(fit: SynthFit) -> tuple[np.ndarray, np.ndarray]:
    """(treated mean, omega-weighted control mean) over all periods, for plots."""
    return fit.y[fit.n0:].mean(axis=0), fit.omega @ fit.y[:fit.n0]


# --------------------------------------------------------------------------------------------------- variance


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    total = x.sum()
    return x / total if total != 0 else np.full(x.size, 1.0 / x.size)


def _scaled_sd(values: np.ndarray) -> float:
    b = values.size
    return float(math.sqrt((b - 1) / b) * np.std(values, ddof=1))


def placebo_se(fit: SynthFit, replications: int, permutation: PermutationSource) -> tuple[float, np.ndarray]:
    """Algorithm 4: reassign treatment to N_tr randomly chosen controls (the last N_tr of a permutation of the
    controls), re-estimate with the same settings (weights re-optimised from the fitted ones) and take the SD of the
    placebo estimates. Returns (se, placebo estimates)."""
    n1 = fit.n_treated
    if fit.n0 <= n1:
        raise ValueError("the placebo SE needs more control units than treated units")
    estimates = np.empty(replications)
    for r in range(replications):
        order = np.asarray(permutation(fit.n0))
        n0 = fit.n0 - n1
        omega = _sum_normalize(fit.omega[order[:n0]])
        estimates[r] = _estimate(fit.y[order], n0, fit.t0, fit.settings, omega, fit.lambda_)[0]
    return _scaled_sd(estimates), estimates


def placebo_se_all(fit: SynthFit) -> tuple[float, np.ndarray]:
    """Algorithm 4 with every placebo assignment once instead of random draws: each set of N_tr controls in turn
    plays the treated units (the other controls keep their order). This is the limit of the random version as the
    replications grow, without Monte Carlo error; feasible when C(N_co, N_tr) is small (N_co with one treated
    unit). Returns (se, placebo estimates)."""
    from itertools import combinations

    n1 = fit.n_treated
    if fit.n0 <= n1:
        raise ValueError("the placebo SE needs more control units than treated units")
    controls = np.arange(fit.n0)
    estimates = []
    for pseudo in combinations(range(fit.n0), n1):
        order = np.concatenate([np.setdiff1d(controls, pseudo), np.asarray(pseudo)])
        n0 = fit.n0 - n1
        omega = _sum_normalize(fit.omega[order[:n0]])
        estimates.append(_estimate(fit.y[order], n0, fit.t0, fit.settings, omega, fit.lambda_)[0])
    values = np.asarray(estimates)
    return float(np.std(values, ddof=0)), values


def jackknife_se(fit: SynthFit) -> float:
    """Algorithm 3, fixed weights: leave out each unit in turn, renormalise the remaining controls' omega, keep
    lambda. NaN when it is undefined: one treated unit, or one control carrying all of the unit weight."""
    n, n0 = fit.y.shape[0], fit.n0
    if fit.n_treated == 1 or int(np.count_nonzero(fit.omega)) == 1:
        return math.nan
    fixed = replace(fit.settings, update_omega=False, update_lambda=False)
    values = np.empty(n)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        controls = keep[keep < n0]
        values[i] = _estimate(fit.y[keep], controls.size, fit.t0, fixed, _sum_normalize(fit.omega[controls]),
                              fit.lambda_)[0]
    return float(math.sqrt((n - 1) / n * (n - 1) * np.var(values, ddof=1)))


def bootstrap_se(fit: SynthFit, replications: int, resample: ResampleSource) -> tuple[float, np.ndarray]:
    """Algorithm 2: resample units with replacement (draws with only controls or only treated units are redrawn),
    re-estimate the weights from the resampled fitted ones. NaN with one treated unit (undefined)."""
    if fit.n_treated == 1:
        return math.nan, np.empty(0)
    n, n0 = fit.y.shape[0], fit.n0
    estimates = np.empty(replications)
    count = 0
    while count < replications:
        draw = np.sort(np.asarray(resample(n)))
        controls = draw[draw < n0]
        if controls.size in (0, n):  # all controls or all treated: no contrast, redraw
            continue
        estimates[count] = _estimate(fit.y[draw], controls.size, fit.t0, fit.settings,
                                     _sum_normalize(fit.omega[controls]), fit.lambda_)[0]
        count += 1
    return _scaled_sd(estimates), estimates
