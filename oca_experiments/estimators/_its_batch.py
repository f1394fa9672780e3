"""Many campaigns' local-level counterfactuals at once (issue 21: thousands of pages).

The per-campaign path fits one statsmodels ``UnobservedComponents`` model per series (and again for its placebo),
about 0.1 s each: 5,000 pages take many minutes. For the model the demo registers - a local level, at most one
fixed (dummy-form) seasonal, regressors with time-invariant coefficients, everything initialised exactly diffuse -
the same maximum-likelihood fit has a closed structure that vectorises over series:

    y_t = X_t delta + w_t + e_t,   w_1 = 0,  w_{t+1} = w_t + eta_t,   e ~ N(0, h),  eta ~ N(0, q)

where ``delta`` (initial level, initial seasonal states, regression coefficients) is diffuse and ``X_t`` is the
observation row times the transition's powers. De Jong's augmented Kalman filter runs one scalar filter for ``w``
over ``y`` and every column of ``X`` (gains do not depend on the data), and the exact-diffuse log-likelihood is

    -1/2 [ sum log F_t + log det S + y'S^-1 y - s'S^-1 s ]   (up to a constant; S = sum V_t V_t' / F_t)

the same function of (h, q) that statsmodels maximises with its exact initial filter. ``h`` is concentrated out
(h = RSS / (m - d)), and the score in ``log(q / h)`` is carried through the recursion in forward mode for every
series at once; its root is bracketed on a grid and polished by safeguarded secant steps. The forecast path, its
joint covariance, the one-step predictions and the smoothed components follow in closed form from the same filter.
A maximum at q = 0 (a fixed level: the score is negative everywhere, or negative at the smallest ratio and the
boundary's likelihood at least the best interior maximum's) is returned as exactly 0, where
statsmodels' BFGS stops at a tiny positive value (the numbers agree to its tolerance). Series with too few
observations, or whose score changes sign nowhere on the grid (maximum at h = 0), are returned as ``None``: the
caller fits those with statsmodels. Where the likelihood has several local maxima (short seasonal series with
regressors: an interior bump and a fixed level), the grid is refined inside any interval where the likelihood moves
against the scores at its ends (a maximum hidden between two points), the highest bracketed maximum is taken, or
q = 0 when that is higher. The per-campaign statsmodels path (``_its._fit(restarts=True)``) restarts BFGS from three
variance ratios and keeps the highest maximum too, so both paths report the global maximum, not whichever one a
start value leads to (h9's demo campaign 2: statsmodels' default start stopped 0.19 log-likelihood units lower).
"""

from __future__ import annotations

import atexit
import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .._blas import small_blas

__all__ = ["COMPILED_FROM_CELLS", "BatchMoments", "batch_supported", "compiled_worth_it", "fit_local_level_batch",
           "start_precompile"]

_GRID = np.linspace(np.log(1e-6), np.log(1e4), 13)  # log(q / h): where the score's sign change is searched


def batch_supported(level: str, seasonal: tuple[int, ...], stochastic_seasonal: bool) -> bool:
    """The model the batched path reproduces: a local level with at most one fixed seasonal."""
    return level == "local_level" and len(seasonal) <= 1 and not (seasonal and stochastic_seasonal)


@dataclass(frozen=True)
class BatchMoments:
    """One series' fit, in the shapes ``fit_counterfactual`` uses (model scale)."""

    params: dict[str, float]
    predicted: NDArray[np.float64]  # one-step-ahead predictions over the window (hidden periods: forecasts)
    cov: NDArray[np.float64]  # joint covariance of the observations from ``start`` on
    components: dict[str, list[float | None]]


def _seasonal_rows(n: int, period: int) -> NDArray[np.float64]:
    """Row t: the first seasonal state at t as a function of the s - 1 initial seasonal states."""
    k = period - 1
    transition = np.zeros((k, k))
    transition[0, :] = -1.0
    transition[1:, :-1] = np.eye(k - 1)
    rows = np.empty((n, k))
    power = np.eye(k)
    for t in range(n):
        rows[t] = power[0]
        power = transition @ power
    return rows


def _design(n: int, seasonal: tuple[int, ...], exog: NDArray[np.float64]) -> NDArray[np.float64]:
    """(series, n, d): the diffuse part's regressors: the level, the seasonal pattern, the regressors."""
    series = exog.shape[0]
    blocks = [np.ones((series, n, 1))]
    if seasonal:
        blocks.append(np.broadcast_to(_seasonal_rows(n, seasonal[0]), (series, n, seasonal[0] - 1)))
    if exog.shape[2]:
        blocks.append(exog)
    return np.concatenate(blocks, axis=2)


def _filter(z: NDArray, seen: NDArray, ratio: NDArray, *, derivative: bool = False, keep: bool = False):
    """The augmented scalar filter with h = 1 and q = ratio, for every series at once. ``z``: (n, series, 1 + d),
    time first so that each step reads contiguous memory: column 0 the outcome (0 where unobserved), then the
    diffuse part's regressors; ``seen``: (n, series) 0/1.

    Returns the cross-products of the scaled innovations ([y, X]' F^-1 [y, X], per series), sum log F, with
    ``derivative`` both their derivatives in ``ratio`` (forward mode, carried through the recursion), and with
    ``keep`` the predicted means (n, series, 1 + d), variances (n, series) and scaled innovations."""
    n, series, width = z.shape
    a = np.zeros((series, width))
    p = np.zeros(series)
    da, dp = np.zeros((series, width)), np.zeros(series)
    innovations = np.empty((n, series, width))
    variances = np.empty((n, series))
    d_innovations = np.empty((n, series, width)) if derivative else None
    d_variances = np.empty((n, series)) if derivative else None
    kept_a = np.empty((n, series, width)) if keep else None
    kept_p = np.empty((n, series)) if keep else None
    for t in range(n):
        if keep:
            kept_a[t], kept_p[t] = a, p
        on = seen[t]
        f = p + 1.0
        v = (z[t] - a) * on[:, None]
        innovations[t], variances[t] = v, f
        gain = on * p / f
        if derivative:
            dv = -da * on[:, None]
            d_innovations[t], d_variances[t] = dv, dp
            dgain = on * dp / (f * f)  # d(p / f) with df = dp
            da += dgain[:, None] * v + gain[:, None] * dv
            dp = dp * (1.0 - gain) - p * dgain + 1.0
        a += gain[:, None] * v
        p = p * (1.0 - gain) + ratio  # p / f where observed, p where not; then the level's variance
    root_f = np.sqrt(variances)[:, :, None]
    scaled = innovations / root_f
    cross = np.einsum("nsi,nsj->sij", scaled, scaled, optimize=True)
    log_f = (np.log(variances) * seen).sum(axis=0)
    if not derivative:
        return cross, log_f, (kept_a, kept_p, scaled) if keep else None
    d_scaled = d_innovations / root_f - 0.5 * scaled * (d_variances / variances)[:, :, None]
    half = np.einsum("nsi,nsj->sij", d_scaled, scaled, optimize=True)
    return cross, log_f, (half + half.transpose(0, 2, 1), (d_variances / variances * seen).sum(axis=0))


def _score_sums_loop(z, seen, ratio):  # pragma: no cover - compiled by numba (tests compare it to _filter)
    """``_filter(..., derivative=True)``'s sums, one series at a time in plain loops (compiled by numba when it is
    installed): no (n x series x width) temporaries and no per-step array overhead. Series first here:
    ``z`` (series, n, width), ``seen`` (series, n)."""
    series, n, width = z.shape
    cross = np.zeros((series, width, width))
    d_cross = np.zeros((series, width, width))
    log_f = np.zeros(series)
    d_log_f = np.zeros(series)
    a = np.empty(width)
    da = np.empty(width)
    u = np.empty(width)
    du = np.empty(width)
    for s in range(series):
        a[:] = 0.0
        da[:] = 0.0
        p = 0.0
        dp = 0.0
        q = ratio[s]
        for t in range(n):
            if seen[s, t] == 0.0:
                p = p + q
                dp = dp + 1.0
                continue
            f = p + 1.0
            root = np.sqrt(f)
            gain = p / f
            dgain = dp / (f * f)
            for i in range(width):
                v = z[s, t, i] - a[i]
                dv = -da[i]
                u[i] = v / root
                du[i] = dv / root - 0.5 * u[i] * (dp / f)
                da[i] += dgain * v + gain * dv
                a[i] += gain * v
            for i in range(width):  # the upper triangle; mirrored below
                for j in range(i, width):
                    cross[s, i, j] += u[i] * u[j]
                    d_cross[s, i, j] += du[i] * u[j] + u[i] * du[j]
            log_f[s] += np.log(f)
            d_log_f[s] += dp / f
            dp = dp * (1.0 - gain) - p * dgain + 1.0
            p = p * (1.0 - gain) + q
        for i in range(width):
            for j in range(i):
                cross[s, i, j] = cross[s, j, i]
                d_cross[s, i, j] = d_cross[s, j, i]
    return cross, log_f, d_cross, d_log_f


@functools.cache
def _compiled_score_sums():
    """The loop compiled by numba (the ``bayes`` extra), or None on a core install (the numpy recursion then)."""
    try:
        from numba import njit
    except ModuleNotFoundError:  # pragma: no cover - exercised by tests/unit/test_core_install.py
        return None
    _wait_for_precompile()  # the child's compiled code is then loaded from numba's cache, not compiled again
    return njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(_score_sums_loop)


# --------------------------------------------------------------------------- compiling ahead, on the other core
# numba compiles the loop once per installation (about 6 s on an idle machine) and caches it on disk.
# ``start_precompile`` (called by ``Study.run`` when a batched-ITS hypothesis reads a source of at least
# ``COMPILED_FROM_CELLS`` rows, i.e. a fit that will use the loop, and the cache has no compiled loop) compiles it
# in a child process while the run checks contracts and fits the survey hypotheses; the first batched fit waits
# for the child and loads the result from the cache. Nothing depends on the child: if it fails or is killed, the fit compiles
# in-process as before, and the compiled code is the same (bayes/_warmup.py does this for the Bayesian kernels).

_precompile_child: subprocess.Popen[bytes] | None = None
_PRECOMPILE = "from oca_experiments.estimators._its_batch import _compile_now; _compile_now()"


def _compile_now() -> None:
    """Compile (or load) the loop for the argument types a fit passes (C-contiguous float64, 3/2/1 dimensions)."""
    compiled = _compiled_score_sums()
    if compiled is not None:
        compiled(np.ones((1, 3, 2)), np.ones((1, 3)), np.ones(1))


def loop_cached() -> bool:
    """True when numba's cache holds the compiled loop, newer than this file (a cheap file check)."""
    source = Path(__file__)
    try:
        source_time = source.stat().st_mtime
    except OSError:
        return True
    if os.environ.get("NUMBA_CACHE_DIR"):
        folders = [Path(os.environ["NUMBA_CACHE_DIR"])]
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folders = [source.parent / "__pycache__", base / "numba"]
    for folder in folders:
        if not folder.is_dir():
            continue
        pattern = "_its_batch._score_sums_loop*.nbi" if folder.name == "__pycache__" else \
            "**/_its_batch._score_sums_loop*.nbi"
        try:
            if any(index.stat().st_mtime >= source_time for index in folder.glob(pattern)):
                return True
        except OSError:
            continue
    return False


def start_precompile() -> None:
    """Compile the loop in a child process unless numba is missing, the loop is loaded or cached, or a child runs."""
    global _precompile_child
    if _precompile_child is not None or _compiled_score_sums.cache_info().currsize or loop_cached():
        return
    try:
        import numba  # noqa: F401  (a core install has no compiled loop to prepare)
    except ModuleNotFoundError:  # pragma: no cover - exercised by tests/unit/test_core_install.py
        return
    try:
        _precompile_child = subprocess.Popen([sys.executable, "-c", _PRECOMPILE], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no child: the first batched fit compiles in-process
        _precompile_child = None


def _wait_for_precompile(timeout: float = 300.0) -> None:
    global _precompile_child
    child, _precompile_child = _precompile_child, None
    if child is None:
        return
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()


@atexit.register
def _stop_precompile() -> None:
    if _precompile_child is not None and _precompile_child.poll() is None:
        _precompile_child.kill()


#: Series x periods of one batched fit from which the numba loop is used (and, for a source of that many rows,
#: compiled ahead). Below it the numpy recursion is as fast or nearly (measured: 11 series x 180 days 0.06 s, 1,000
#: x 365 0.8 s against 0.2 s compiled) and a first compilation (about 6 s of CPU, once per installation) would
#: cost more than it saves: the demo's engagement fits (11 series) never compile. Both paths agree to about 1e-13
#: relative (tests/unit/engagement/test_its_batch.py), and the choice depends on the data's size only, so one
#: installation gives the same numbers on a cold and a warm run.
COMPILED_FROM_CELLS = 250_000


def compiled_worth_it(cells: int) -> bool:
    """Whether a batch (or a source) of ``cells`` series x periods goes through the compiled loop."""
    return cells >= COMPILED_FROM_CELLS


class _Series:
    """The chunk's data in the layout each path reads fastest: time first for the numpy recursion, series first
    for the compiled loop."""

    def __init__(self, z: NDArray, seen: NDArray, *, compiled: bool = True) -> None:
        self.compiled = _compiled_score_sums() if compiled else None
        if self.compiled is not None:
            self.z, self.seen = np.ascontiguousarray(z.transpose(1, 0, 2)), np.ascontiguousarray(seen.T)
        else:
            self.z, self.seen = z, seen

    def subset(self, rows: NDArray) -> _Series:
        out = object.__new__(_Series)
        out.compiled = self.compiled
        out.z, out.seen = (self.z[rows], self.seen[rows]) if self.compiled is not None else (
            self.z[:, rows], self.seen[:, rows])
        return out

    def sums(self, ratio: NDArray):
        if self.compiled is not None:
            return self.compiled(self.z, self.seen, np.ascontiguousarray(ratio, dtype=np.float64))
        cross, log_f, (d_cross, d_log_f) = _filter(self.z, self.seen, ratio, derivative=True)
        return cross, log_f, d_cross, d_log_f

    @property
    def width(self) -> int:
        return int(self.z.shape[2])


def _profile(data: _Series, m, log_ratio):
    """The exact-diffuse log-likelihood with h concentrated out, and its derivative, in log(q / h)."""
    d = data.width - 1
    ratio = np.exp(log_ratio)
    cross, log_f, d_cross, d_log_f = data.sums(ratio)
    s_xx, s_xy = cross[:, 1:, 1:], cross[:, 1:, 0]
    theta = np.linalg.solve(s_xx, s_xy[..., None])[..., 0]
    rss = cross[:, 0, 0] - np.einsum("sd,sd->s", s_xy, theta)
    value = -0.5 * ((m - d) * np.log(rss / (m - d)) + log_f + np.linalg.slogdet(s_xx)[1])
    d_xx, d_xy = d_cross[:, 1:, 1:], d_cross[:, 1:, 0]
    d_rss = (d_cross[:, 0, 0] - 2 * np.einsum("sd,sd->s", theta, d_xy)
             + np.einsum("sd,sde,se->s", theta, d_xx, theta))
    d_log_det = np.einsum("sii->s", np.linalg.solve(s_xx, d_xx))
    score = -0.5 * ((m - d) * d_rss / rss + d_log_f + d_log_det)
    return value, score * ratio


def _refine(data: _Series, m, points, values, scores, *, rounds: int = 3, split: int = 8):
    """Subdivide the grid intervals that hide a maximum between two points: the score has one sign at both ends
    but the likelihood moved the other way (negative scores and a higher right end: it rose somewhere inside;
    positive scores and a lower right end: it fell). The highest such interval of each series, ``rounds`` times.
    Returns the series' own sorted grids (series, points) with their values and scores."""
    for _ in range(rounds):
        rise = values[:, 1:] - values[:, :-1]
        hidden = (((scores[:, :-1] <= 0) & (scores[:, 1:] <= 0) & (rise > 0))
                  | ((scores[:, :-1] >= 0) & (scores[:, 1:] >= 0) & (rise < 0)))
        rows = np.flatnonzero(hidden.any(axis=1))
        if not rows.size:
            break
        pick = np.argmax(np.where(hidden[rows], np.maximum(values[rows, :-1], values[rows, 1:]), -np.inf), axis=1)
        left, width = points[rows, pick], points[rows, pick + 1] - points[rows, pick]
        sub = data.subset(rows)
        # Series not refined get copies of their last point (zero-width intervals: no sign change, no rise).
        new_points = np.repeat(points[:, -1:], split - 1, axis=1)
        new_values = np.repeat(values[:, -1:], split - 1, axis=1)
        new_scores = np.repeat(scores[:, -1:], split - 1, axis=1)
        for j in range(1, split):
            at = left + width * j / split
            new_points[rows, j - 1] = at
            new_values[rows, j - 1], new_scores[rows, j - 1] = _profile(sub, m[rows], at)
        points = np.concatenate([points, new_points], axis=1)
        values = np.concatenate([values, new_values], axis=1)
        scores = np.concatenate([scores, new_scores], axis=1)
        order = np.argsort(points, axis=1, kind="stable")
        points, values, scores = (np.take_along_axis(a, order, axis=1) for a in (points, values, scores))
    return points, values, scores


def _root(z, seen, m, *, compiled: bool = True) -> tuple[NDArray, NDArray[np.bool_]]:  # z, seen: time first
    """Each series' maximiser q / h of the profile likelihood, and whether it was found (False: leave the series
    to statsmodels). A score that is negative from the smallest ratio on puts the maximum at q = 0 (a fixed
    level), returned as 0. ``compiled``: the numba loop when available, else the numpy recursion."""
    series = z.shape[1]
    data = _Series(z, seen, compiled=compiled)
    values, scores = zip(*(_profile(data, m, np.full(series, g)) for g in _GRID), strict=True)
    points = np.broadcast_to(_GRID, (series, _GRID.size))
    points, values, scores = _refine(data, m, points, np.stack(values, axis=1), np.stack(scores, axis=1))
    # Of the grid intervals where the score turns from + to -, the one with the highest likelihood.
    change = (scores[:, :-1] > 0) & (scores[:, 1:] <= 0)
    best = np.argmax(np.where(change, np.maximum(values[:, :-1], values[:, 1:]), -np.inf), axis=1)
    rows = np.arange(series)
    interior = change[rows, best]
    at_zero = (scores < 0).all(axis=1)
    lo, hi = points[rows, best].copy(), points[rows, best + 1].copy()
    g_lo, g_hi = scores[rows, best], scores[rows, best + 1]
    # Secant steps on the two latest points (superlinear), kept inside the bracket (bisection when they leave it).
    x_prev, g_prev = lo.copy(), g_lo.copy()
    x, g_x = hi.copy(), g_hi.copy()
    active = np.flatnonzero(interior)
    for _ in range(100):
        if not active.size:
            break
        k = active
        step = g_x[k] * (x[k] - x_prev[k]) / np.where(g_x[k] != g_prev[k], g_x[k] - g_prev[k], 1.0)
        proposal = x[k] - step
        inside = (proposal > lo[k]) & (proposal < hi[k]) & (g_x[k] != g_prev[k])
        new = np.where(inside, proposal, 0.5 * (lo[k] + hi[k]))
        _, g = _profile(data.subset(k), m[k], new)
        x_prev[k], g_prev[k], x[k], g_x[k] = x[k], g_x[k], new, g
        right = g > 0  # the root is to the right
        lo[k], hi[k] = np.where(right, new, lo[k]), np.where(right, hi[k], new)
        done = (np.abs(g) < 1e-10 * m[k]) | (hi[k] - lo[k] < 1e-12)
        active = k[~done]
    # q = 0 is a local maximum too when the score is negative at the smallest ratio; where it is higher than the
    # interior maximum it is the maximum (short seasonal series: often a fixed level beats an interior bump).
    boundary = interior & (scores[:, 0] < 0)
    if boundary.any():
        k = np.flatnonzero(boundary)
        sub = data.subset(k)
        at_root, _ = _profile(sub, m[k], x[k])
        at_boundary, _ = _profile(sub, m[k], np.full(k.size, -np.inf))
        at_zero[k] = at_boundary >= at_root
    return np.where(at_zero, 0.0, np.exp(x)), interior | at_zero


@small_blas  # stacks of small matrices: one BLAS thread
def fit_local_level_batch(y: NDArray[np.float64], exog: NDArray[np.float64], fit_end: NDArray[np.int64],
                          seasonal: tuple[int, ...], *, components: NDArray[np.bool_], chunk: int = 1024
                          ) -> list[BatchMoments | None]:
    """Fit each series ``y[i]`` (model scale, NaN = unobserved) on its periods before ``fit_end[i]`` and forecast
    the rest of the window. ``exog``: (series, n, r). ``components[i]``: also the one-step predictions over the
    fitted periods and the smoothed components (a placebo needs neither). ``None`` for a series the batched path
    leaves to statsmodels (too few observations, or no maximum found). Series go in chunks to bound memory."""
    out: list[BatchMoments | None] = []
    compiled = compiled_worth_it(y.shape[0] * y.shape[1])  # the whole batch decides, so every chunk agrees
    for lo in range(0, y.shape[0], chunk):
        part = slice(lo, lo + chunk)
        out.extend(_fit_chunk(y[part], exog[part], fit_end[part], seasonal, components[part], compiled=compiled))
    return out


def _fit_chunk(y, exog, fit_end, seasonal, components, *, compiled: bool = True) -> list[BatchMoments | None]:
    series, n = y.shape
    x = _design(n, seasonal, np.asarray(exog, dtype=np.float64).reshape(series, n, -1))
    d = x.shape[2]
    mask = np.isfinite(y) & (np.arange(n)[None, :] < fit_end[:, None])
    m = mask.sum(axis=1).astype(float)
    out: list[BatchMoments | None] = [None] * series
    idx = np.flatnonzero(m > d + 1)
    if not idx.size:
        return out
    z = np.ascontiguousarray(np.concatenate([np.where(mask, y, 0.0)[:, :, None], x], axis=2)[idx]
                             .transpose(1, 0, 2))
    seen = np.ascontiguousarray(mask[idx].T.astype(np.float64))
    ratio, found = _root(z, seen, m[idx], compiled=compiled)
    cross, _, kept = _filter(z, seen, ratio, keep=True)
    pred, pred_p, scaled = (np.moveaxis(k, 0, 1) for k in kept)
    z, seen = z.transpose(1, 0, 2), seen.T
    s_xx, s_xy = cross[:, 1:, 1:], cross[:, 1:, 0]
    theta = np.linalg.solve(s_xx, s_xy[..., None])[..., 0]
    scale = (cross[:, 0, 0] - np.einsum("sd,sd->s", s_xy, theta)) / (m[idx] - d)
    for k, i in enumerate(idx):
        if found[k]:
            out[i] = _moments(z[k], seen[k], int(fit_end[i]), float(scale[k]), float(scale[k] * ratio[k]),
                              theta[k], s_xx[k], pred[k], pred_p[k], scaled[k], seasonal, exog.shape[2],
                              with_components=bool(components[i]))
    return out


def _one_step(x, pred, scaled, end) -> NDArray[np.float64]:
    """One-step predictions over the fitted periods: a_t + (X_t - A_t) delta_t, delta_t the diffuse part's
    estimate from the periods before t (while it is not yet identified, the exact-diffuse filter's limit: the
    minimum-norm solution)."""
    d = x.shape[1]
    products = scaled[:end, :, None] * scaled[:end, None, :]
    before = np.cumsum(products, axis=0) - products  # cross-products of the periods before t
    s_t, s_ty = before[:, 1:, 1:], before[:, 1:, 0]

    def identified(t: int) -> bool:
        eig = np.linalg.eigvalsh(s_t[t])
        return bool(eig[0] > 1e-9 * max(eig[-1], 1e-300))

    # Identification is monotone in t: the first identified period by bisection.
    first, last = 0, end
    while first < last:
        mid = (first + last) // 2
        if identified(mid):
            last = mid
        else:
            first = mid + 1
    delta = np.zeros((end, d))
    if first < end:
        delta[first:] = np.linalg.solve(s_t[first:], s_ty[first:][..., None])[..., 0]
    if first:
        delta[:first] = (np.linalg.pinv(s_t[:first], rcond=1e-9, hermitian=True) @ s_ty[:first][..., None])[..., 0]
    return pred[:end, 0] + np.einsum("td,td->t", x[:end] - pred[:end, 1:], delta)


def _moments(z, seen, start, h, q, theta, s_xx, pred, pred_p, scaled, seasonal, n_regressors, *,
             with_components):
    n = z.shape[0]
    x = z[:, 1:]
    # Forecasts from ``start`` on (nothing observed there): a + (X_t - A) theta, and their joint covariance:
    # the diffuse part's uncertainty, the level's predicted variance, its random-walk growth, the irregular.
    b = x[start:] - pred[start, 1:]
    forecast = pred[start, 0] + b @ theta
    steps = np.arange(n - start)
    cov = (b @ (h * np.linalg.inv(s_xx)) @ b.T + h * pred_p[start] + q * np.minimum.outer(steps, steps)
           + h * np.eye(n - start))
    predicted = np.full(n, np.nan)
    predicted[start:] = forecast
    comps: dict[str, list[float | None]] = {}
    if with_components:
        predicted[:start] = _one_step(x, pred, scaled, start)
        comps = _smoothed(z, seen, start, h, q, theta, pred, pred_p, seasonal, n_regressors)
    return BatchMoments(params={"sigma2.irregular": h, "sigma2.level": q}, predicted=predicted, cov=cov,
                        components=comps)


def _smoothed(z, seen, end, h, q, theta, pred, pred_p, seasonal, n_regressors):
    """Smoothed level and seasonal over the fitted periods, and the regressors' coefficients (model scale)."""
    x = z[:end, 1:]
    # w's smoother on the residual y - X theta: E[w | y] = E[w | y, delta = theta] in the diffuse limit.
    resid_pred = pred[:end, 0] - pred[:end, 1:] @ theta
    innovation = (z[:end, 0] - x @ theta) - resid_pred
    pv = h * pred_p[:end]  # the filter ran in units of h
    f = pv + h
    r = 0.0
    smoothed = np.empty(end)
    for t in range(end - 1, -1, -1):
        if seen[t]:
            r = innovation[t] / f[t] + (1 - pv[t] / f[t]) * r
        smoothed[t] = resid_pred[t] + pv[t] * r
    out: dict[str, list[float | None]] = {"level": [float(v) for v in theta[0] + smoothed]}
    if seasonal:
        k = seasonal[0] - 1
        out["seasonal"] = [float(v) for v in x[:, 1:1 + k] @ theta[1:1 + k]]
    if n_regressors:
        out["regression_coefficients"] = [float(v) for v in theta[-n_regressors:]]
    return out
