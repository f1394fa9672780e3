"""Hand-written log densities and gradients of the three models, compiled by numba and cached on disk.

Why by hand: nutpie's PyMC path generates and compiles a numba function per model graph on every new process
(its wrappers carry dynamic globals, so numba cannot cache them), which costs 15-55 s per model on this 2-core
machine. These kernels are plain ``@njit(cache=True)`` functions: compiled once per installation (a few seconds),
then loaded from numba's on-disk cache in milliseconds.

Each kernel returns ``(log density, gradient)`` on the *unconstrained* vector that NUTS moves in, Jacobians
included, for exactly the model that ``_models.py`` writes in PyMC: ``tests/unit/bayes/test_kernels.py`` checks
that the log density equals PyMC's ``model.compile_logp()`` at random points (to 1e-9, normalising constants
included) and that the gradient equals finite differences. The layouts of the unconstrained vectors are in
``_density.py``. The kernels release the GIL so that nutpie's chain threads run in parallel.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import carray, cfunc, njit, types

LOG_2PI = math.log(2.0 * math.pi)
HALF_LOG_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)

_TABLE_MAX = 4096
_SQRT2 = math.sqrt(2.0)
_JIT = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


@njit(**_JIT)
def _sigmoid(a: float) -> float:
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@njit(**_JIT)
def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (absolute error < 1e-12)."""
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
    return result + math.log(x) - 0.5 / x - series


@njit(**_JIT)
def _log_rising(x: float, m: int) -> tuple[float, float]:
    """lgamma(x + m) - lgamma(x) and digamma(x + m) - digamma(x) for x > 0 and a whole m >= 0, accurately.

    Small m (most daily counts): log(x (x+1) ... (x+m-1)) and a sum of reciprocals, exact and several times cheaper
    than special functions. Larger m: lgamma/digamma while x < 1e6; beyond, their difference in Stirling's series
    written without cancellation (a difference of lgamma values near 1e16 would lose every digit).
    """
    if m <= 16:
        total, reciprocal = 0.0, 0.0
        if x < 1e12:  # one log of the product; it cannot overflow below (1e12 + 16)^16
            product = 1.0
            for j in range(m):
                product *= x + j
                reciprocal += 1.0 / (x + j)
            return math.log(product), reciprocal
        for j in range(m):
            total += math.log(x + j)
            reciprocal += 1.0 / (x + j)
        return total, reciprocal
    if x < 1e6:
        return math.lgamma(x + m) - math.lgamma(x), digamma(x + m) - digamma(x)
    y = x + m
    log_ratio = math.log1p(m / x)
    log_value = ((x - 0.5) * log_ratio + m * math.log(y) - m + (1.0 / y - 1.0 / x) / 12.0
                 - (1.0 / y ** 3 - 1.0 / x ** 3) / 360.0)
    return log_value, log_ratio - 0.5 * (1.0 / y - 1.0 / x) - (1.0 / (y * y) - 1.0 / (x * x)) / 12.0


@njit(**_JIT)
def _normal(x: float, mu: float, sd: float) -> float:
    z = (x - mu) / sd
    return -0.5 * LOG_2PI - math.log(sd) - 0.5 * z * z


@njit(**_JIT)
def _log_halfnormal_on_log(u: float, scale: float) -> tuple[float, float]:
    """HalfNormal(scale) density of exp(u) plus the log Jacobian u, and its derivative in u."""
    s = math.exp(u)
    z = s / scale
    return HALF_LOG_2_OVER_PI - math.log(scale) - 0.5 * z * z + u, 1.0 - z * z


# --------------------------------------------------------------------------- DiD


@njit(**_JIT)
def did_logp(x: np.ndarray, n: np.ndarray, mean_change: np.ndarray, treated: np.ndarray, group: np.ndarray,
             ss_dof: np.ndarray, within_ss: np.ndarray, scales: np.ndarray, n_groups: int, hierarchical: bool,
             centered: bool) -> tuple[float, np.ndarray]:
    """scales = (trend, effect, group_sd, cluster_sd, noise_sd). Layout: see ``_density.DidDensity``."""
    grad = np.zeros(x.shape[0])
    trend, effect = x[0], x[1]
    lp = _normal(trend, 0.0, scales[0]) + _normal(effect, 0.0, scales[1])
    grad[0] = -trend / scales[0] ** 2
    grad[1] = -effect / scales[1] ** 2
    group_effect = np.empty(n_groups)
    group_sd = 0.0
    if hierarchical:
        term, d = _log_halfnormal_on_log(x[2], scales[2])
        lp += term
        grad[2] += d
        group_sd = math.exp(x[2])
        for g in range(n_groups):
            if centered:
                value = x[3 + g]
                group_effect[g] = value
                lp += _normal(value, effect, group_sd)
                r = (value - effect) / group_sd
                grad[3 + g] -= r / group_sd
                grad[1] += r / group_sd
                grad[2] += r * r - 1.0
            else:
                z = x[3 + g]
                group_effect[g] = effect + group_sd * z
                lp += _normal(z, 0.0, 1.0)
                grad[3 + g] -= z
        i_cluster, i_noise = 3 + n_groups, 4 + n_groups
    else:
        group_effect[0] = effect
        i_cluster, i_noise = 2, 3
    term, d = _log_halfnormal_on_log(x[i_cluster], scales[3])
    lp += term
    grad[i_cluster] += d
    term, d = _log_halfnormal_on_log(x[i_noise], scales[4])
    lp += term
    grad[i_noise] += d
    cluster_var = math.exp(2.0 * x[i_cluster])
    noise_var = math.exp(2.0 * x[i_noise])
    d_group = np.zeros(n_groups)
    for c in range(n.shape[0]):
        v = cluster_var + noise_var / n[c]
        r = mean_change[c] - (trend + group_effect[int(group[c])] * treated[c])
        lp += -0.5 * LOG_2PI - 0.5 * math.log(v) - 0.5 * r * r / v
        d_mu = r / v
        d_v = 0.5 * (r * r / v - 1.0) / v
        grad[0] += d_mu
        d_group[int(group[c])] += d_mu * treated[c]
        grad[i_cluster] += d_v * 2.0 * cluster_var
        grad[i_noise] += d_v * 2.0 * noise_var / n[c]
    for g in range(n_groups):
        if not hierarchical:
            grad[1] += d_group[g]
        elif centered:
            grad[3 + g] += d_group[g]
        else:
            grad[1] += d_group[g]
            grad[3 + g] += d_group[g] * group_sd
            grad[2] += d_group[g] * group_sd * x[3 + g]
    # within SS / noise_var ~ chi^2(dof): Gamma(shape dof / 2, rate 1 / (2 noise_var))
    log_rate = -math.log(2.0) - 2.0 * x[i_noise]
    for j in range(ss_dof.shape[0]):
        shape = 0.5 * ss_dof[j]
        lp += shape * log_rate - math.lgamma(shape) + (shape - 1.0) * math.log(within_ss[j]) \
            - within_ss[j] / (2.0 * noise_var)
        grad[i_noise] += -2.0 * shape + within_ss[j] / noise_var
    return lp, grad


# --------------------------------------------------------------------------- ordinal


@njit(**_JIT)
def _category_prob(k: int, cuts: np.ndarray, eta: float) -> float:
    """P(Y = k) = sigmoid(cut_k - eta) - sigmoid(cut_{k-1} - eta), computed on the side that does not cancel."""
    last = cuts.shape[0]
    if k == 0:
        return _sigmoid(cuts[0] - eta)
    if k == last:
        return _sigmoid(eta - cuts[last - 1])
    lower, upper = cuts[k - 1] - eta, cuts[k] - eta
    if lower > 0.0:
        return _sigmoid(-lower) - _sigmoid(-upper)
    return _sigmoid(upper) - _sigmoid(lower)


@njit(**_JIT)
def ordinal_logp(x: np.ndarray, counts: np.ndarray, n_clusters: int, n_cat: int, treated: np.ndarray,
                 scales: np.ndarray,
                 first_centre: float, gap_centres: np.ndarray, gap_sd: float,
                 constant: float) -> tuple[float, np.ndarray]:
    """scales = (arm, cluster_sd, first cutpoint, effect, shock_sd, trend) in logits; gap_sd is the log-gaps'
    SD. counts: (cluster, wave, category) flattened row-major."""
    n_waves = 2
    n_gaps = n_cat - 2
    grad = np.zeros(x.shape[0])
    i_arm = 1 + n_gaps
    i_trend, i_effect, i_cluster_sd = i_arm + 1, i_arm + 2, i_arm + 3
    i_cluster_z = i_arm + 4
    i_shock_sd = i_cluster_z + n_clusters
    i_shock_z = i_shock_sd + 1
    cut_sd = scales[2]
    lp = constant + _normal(x[0], first_centre, cut_sd)
    grad[0] = -(x[0] - first_centre) / cut_sd ** 2
    cuts = np.empty(n_cat - 1)
    cuts[0] = x[0]
    for j in range(n_gaps):  # log-gaps: LogNormal density plus Jacobian = Normal density of the log
        u = x[1 + j]
        lp += _normal(u, gap_centres[j], gap_sd)
        grad[1 + j] = -(u - gap_centres[j]) / gap_sd ** 2
        cuts[j + 1] = cuts[j] + math.exp(u)
    arm, trend, effect = x[i_arm], x[i_trend], x[i_effect]
    lp += _normal(arm, 0.0, scales[0]) + _normal(trend, 0.0, scales[5]) + _normal(effect, 0.0, scales[3])
    grad[i_arm] = -arm / scales[0] ** 2
    grad[i_trend] = -trend / scales[5] ** 2
    grad[i_effect] = -effect / scales[3] ** 2
    term, d = _log_halfnormal_on_log(x[i_cluster_sd], scales[1])
    lp += term
    grad[i_cluster_sd] = d
    term, d = _log_halfnormal_on_log(x[i_shock_sd], scales[4])
    lp += term
    grad[i_shock_sd] = d
    cluster_sd, shock_sd = math.exp(x[i_cluster_sd]), math.exp(x[i_shock_sd])
    d_cuts = np.zeros(n_cat - 1)
    for c in range(n_clusters):
        z = x[i_cluster_z + c]
        lp += _normal(z, 0.0, 1.0)
        grad[i_cluster_z + c] -= z
        s = x[i_shock_z + c]
        lp += _normal(s, 0.0, 1.0)
        grad[i_shock_z + c] -= s
        for w in range(n_waves):
            # one within-community wave contrast: +-shock_sd * s / sqrt(2) (see _models.build_ordinal_model)
            sign = (w - 0.5) * _SQRT2
            eta = (arm * treated[c] + cluster_sd * z + trend * w + effect * treated[c] * w
                   + shock_sd * sign * s)
            d_eta = 0.0
            for k in range(n_cat):
                count = counts[(c * n_waves + w) * n_cat + k]
                if count == 0:
                    continue
                p = _category_prob(k, cuts, eta)
                lp += count * math.log(p)
                if k < n_cat - 1:  # upper cut of category k
                    s_up = _sigmoid(cuts[k] - eta)
                    g = count * s_up * (1.0 - s_up) / p
                    d_cuts[k] += g
                    d_eta -= g
                if k > 0:  # lower cut
                    s_low = _sigmoid(cuts[k - 1] - eta)
                    g = count * s_low * (1.0 - s_low) / p
                    d_cuts[k - 1] -= g
                    d_eta += g
            grad[i_arm] += d_eta * treated[c]
            grad[i_trend] += d_eta * w
            grad[i_effect] += d_eta * treated[c] * w
            grad[i_cluster_sd] += d_eta * cluster_sd * z
            grad[i_cluster_z + c] += d_eta * cluster_sd
            grad[i_shock_sd] += d_eta * shock_sd * sign * s
            grad[i_shock_z + c] += d_eta * shock_sd * sign
    # cut_k = first + sum_{j < k} exp(u_j)
    tail = 0.0
    for k in range(n_cat - 2, -1, -1):
        if k < n_cat - 2:
            grad[1 + k] += tail * (cuts[k + 1] - cuts[k])
        tail += d_cuts[k]
    grad[0] += tail
    return lp, grad


# --------------------------------------------------------------------------- ITS


@njit(**_JIT)
def its_logp(x: np.ndarray, obs_unit: np.ndarray, obs_day: np.ndarray, successes: np.ndarray, trials: np.ndarray,
             step_of_day: np.ndarray, day_of_week: np.ndarray, regressor: np.ndarray, level_centre: float,
             scales: np.ndarray, weekday_basis: np.ndarray, n_units: int, n_steps: int,
             constant: float) -> tuple[float, np.ndarray]:
    """scales = (level, level_step_sd, overdispersion, regressor, season_sd). Layout: ``_density.ItsDensity``."""
    grad = np.zeros(x.shape[0])
    n_free_steps = n_steps - 1
    i_step_sd = n_units
    i_step_z = n_units + 1
    i_weekday = i_step_z + n_units * n_free_steps
    n_free_weekdays = 6  # weekday_basis: the (7, 6) Helmert basis, flattened row-major
    i_beta = i_weekday + n_free_weekdays
    i_od = i_beta + 1
    lp = constant
    for u in range(n_units):
        lp += _normal(x[u], level_centre, scales[0])
        grad[u] = -(x[u] - level_centre) / scales[0] ** 2
    term, d = _log_halfnormal_on_log(x[i_step_sd], scales[1])
    lp += term
    grad[i_step_sd] = d
    step_sd = math.exp(x[i_step_sd])
    walk = np.zeros((n_units, n_steps))
    for u in range(n_units):
        for j in range(n_free_steps):
            z = x[i_step_z + u * n_free_steps + j]
            lp += _normal(z, 0.0, 1.0)
            grad[i_step_z + u * n_free_steps + j] = -z
            walk[u, j + 1] = walk[u, j] + step_sd * z
    weekday = np.zeros(7)
    for j in range(n_free_weekdays):
        v = x[i_weekday + j]
        lp += _normal(v, 0.0, scales[4])
        grad[i_weekday + j] = -v / scales[4] ** 2
        for d7 in range(7):
            weekday[d7] += weekday_basis[d7 * 6 + j] * v
    beta = x[i_beta]
    lp += _normal(beta, 0.0, scales[3])
    grad[i_beta] = -beta / scales[3] ** 2
    term, d = _log_halfnormal_on_log(x[i_od], scales[2])
    lp += term
    grad[i_od] = d
    kappa = math.exp(-2.0 * x[i_od])  # concentration = 1 / overdispersion^2
    # lgamma(n + kappa) - lgamma(kappa) and its derivative, tabulated for every n up to the largest count of
    # trials (at most _TABLE_MAX; larger counts use the special functions)
    max_trials = 0
    for i in range(trials.shape[0]):
        max_trials = min(max(max_trials, int(trials[i])), _TABLE_MAX)
    log_rising_kappa = np.zeros(max_trials + 1)
    inv_rising_kappa = np.zeros(max_trials + 1)
    for m in range(max_trials):
        log_rising_kappa[m + 1] = log_rising_kappa[m] + math.log(kappa + m)
        inv_rising_kappa[m + 1] = inv_rising_kappa[m] + 1.0 / (kappa + m)
    d_walk = np.zeros((n_units, n_steps))
    d_weekday = np.zeros(7)
    d_kappa = 0.0
    for i in range(successes.shape[0]):
        u, day = int(obs_unit[i]), int(obs_day[i])
        step, dow = int(step_of_day[day]), int(day_of_week[day])
        eta = x[u] + walk[u, step] + weekday[dow] + beta * regressor[day]
        p = _sigmoid(eta)
        a, b = p * kappa, (1.0 - p) * kappa
        k, n_i = int(successes[i]), int(trials[i])
        # beta-binomial: lgamma(k+a) - lgamma(a) + lgamma(n-k+b) - lgamma(b) - (lgamma(n+kappa) - lgamma(kappa))
        log_a, d_a = _log_rising(a, k)
        log_b, d_b = _log_rising(b, n_i - k)
        if n_i <= _TABLE_MAX:
            log_n, d_n = log_rising_kappa[n_i], inv_rising_kappa[n_i]
        else:
            log_n, d_n = _log_rising(kappa, n_i)
        lp += log_a + log_b - log_n
        d_kappa += p * d_a + (1.0 - p) * d_b - d_n
        d_eta = kappa * p * (1.0 - p) * (d_a - d_b)
        grad[u] += d_eta
        d_walk[u, step] += d_eta
        d_weekday[dow] += d_eta
        grad[i_beta] += d_eta * regressor[day]
    grad[i_od] += d_kappa * (-2.0 * kappa)
    for j in range(n_free_weekdays):
        for d7 in range(7):
            grad[i_weekday + j] += weekday_basis[d7 * 6 + j] * d_weekday[d7]
    for u in range(n_units):
        tail = 0.0
        for s in range(n_steps - 1, 0, -1):
            tail += d_walk[u, s]
            grad[i_step_z + u * n_free_steps + s - 1] += tail * step_sd
            grad[i_step_sd] += d_walk[u, s] * walk[u, s]
    return lp, grad


# --------------------------------------------------------------------------- C entry points for nutpie
#
# nutpie's compiled-model interface (the one its PyMC path uses) calls C functions with the signatures below and
# an opaque data pointer. The data is one float64 buffer packed by ``_density.pack``: buffer[0] is its length,
# then (offset, length) pairs of each part, then the parts. These cfuncs are module-level and reference only
# cached njit functions, so numba caches them on disk too; sampling then never enters Python.

_LOGP_SIG = types.int64(types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                        types.CPointer(types.double), types.voidptr)
_EXPAND_SIG = types.int64(types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double),
                          types.voidptr)


@njit(**_JIT)
def _buffer(data: Any) -> np.ndarray:
    head = carray(data, (1,), np.float64)
    return carray(data, (int(head[0]),), np.float64)


@njit(**_JIT)
def _part(buffer: np.ndarray, i: int) -> np.ndarray:
    offset, length = int(buffer[1 + 2 * i]), int(buffer[2 + 2 * i])
    return buffer[offset:offset + length]


@njit(**_JIT)
def _copy(source: np.ndarray, start: int, target: np.ndarray, at: int, n: int) -> None:
    for i in range(n):
        target[at + i] = source[start + i]


@njit(**_JIT)
def _finish(lp: float, grad: np.ndarray, dim: int, out_: Any, logp_: Any) -> int:
    # Element loops, not array expressions: these compile much faster (no broadcasting error paths).
    out = carray(out_, (dim,))
    logp = carray(logp_, (1,))
    finite = True
    for i in range(dim):
        out[i] = grad[i]
        finite = finite and math.isfinite(grad[i])
    logp[0] = lp
    if not finite:
        return 3  # nutpie's codes for a non-finite gradient / log density: the step is rejected as divergent
    if not math.isfinite(lp):
        return 4
    return 0


def did_logp_c(dim: int, x_: Any, out_: Any, logp_: Any, data: Any) -> int:
    b = _buffer(data)
    x = carray(x_, (dim,))
    lp, grad = did_logp(x, _part(b, 0), _part(b, 1), _part(b, 2), _part(b, 3), _part(b, 4),
                        _part(b, 5), _part(b, 6), int(_part(b, 7)[0]), _part(b, 8)[0] > 0.5, _part(b, 9)[0] > 0.5)
    return _finish(lp, grad, dim, out_, logp_)


@njit(**_JIT)
def did_expand(x: np.ndarray, out: np.ndarray, n_groups: int, hierarchical: bool, centered: bool) -> None:
    out[0], out[1] = x[0], x[1]
    k = 2
    if hierarchical:
        group_sd = math.exp(x[2])
        out[k] = group_sd
        k += 1
        if not centered:
            _copy(x, 3, out, k, n_groups)
            k += n_groups
        for g in range(n_groups):
            out[k + g] = x[3 + g] if centered else x[1] + group_sd * x[3 + g]
        k += n_groups
        rest = 3 + n_groups
    else:
        out[k] = x[1]
        k += 1
        rest = 2
    out[k], out[k + 1] = math.exp(x[rest]), math.exp(x[rest + 1])


def did_expand_c(dim: int, n_out: int, x_: Any, out_: Any, data: Any) -> int:
    b = _buffer(data)
    did_expand(carray(x_, (dim,)), carray(out_, (n_out,)), int(_part(b, 7)[0]), _part(b, 8)[0] > 0.5,
               _part(b, 9)[0] > 0.5)
    return 0


def ordinal_logp_c(dim: int, x_: Any, out_: Any, logp_: Any, data: Any) -> int:
    b = _buffer(data)
    shape = _part(b, 1)
    lp, grad = ordinal_logp(carray(x_, (dim,)), _part(b, 0), int(shape[0]), int(shape[1]), _part(b, 2),
                            _part(b, 3), _part(b, 4)[0], _part(b, 5),
                            _part(b, 6)[0], _part(b, 7)[0])
    return _finish(lp, grad, dim, out_, logp_)


@njit(**_JIT)
def ordinal_expand(x: np.ndarray, out: np.ndarray, n_clusters: int, n_categories: int) -> None:
    n_gaps = n_categories - 2
    out[0] = x[0]
    cut = x[0]
    for j in range(n_gaps):
        gap = math.exp(x[1 + j])
        out[1 + j] = gap
    k = 1 + n_gaps
    out[k] = cut
    for j in range(n_gaps):
        cut += out[1 + j]
        out[k + 1 + j] = cut
    k += n_gaps + 1
    i = 1 + n_gaps  # arm, trend, effect
    out[k], out[k + 1], out[k + 2] = x[i], x[i + 1], x[i + 2]
    out[k + 3] = math.exp(x[i + 3])
    _copy(x, i + 4, out, k + 4, n_clusters)
    out[k + 4 + n_clusters] = math.exp(x[i + 4 + n_clusters])
    _copy(x, i + 5 + n_clusters, out, k + 5 + n_clusters, n_clusters)


def ordinal_expand_c(dim: int, n_out: int, x_: Any, out_: Any, data: Any) -> int:
    b = _buffer(data)
    shape = _part(b, 1)
    ordinal_expand(carray(x_, (dim,)), carray(out_, (n_out,)), int(shape[0]), int(shape[1]))
    return 0


def its_logp_c(dim: int, x_: Any, out_: Any, logp_: Any, data: Any) -> int:
    b = _buffer(data)
    sizes = _part(b, 10)
    n_units, n_steps = int(sizes[0]), int(sizes[1])
    lp, grad = its_logp(carray(x_, (dim,)), _part(b, 0), _part(b, 1), _part(b, 2), _part(b, 3), _part(b, 4),
                        _part(b, 5), _part(b, 6), _part(b, 7)[0], _part(b, 8), _part(b, 9), n_units, n_steps,
                        sizes[2])
    return _finish(lp, grad, dim, out_, logp_)


@njit(**_JIT)
def its_expand(x: np.ndarray, out: np.ndarray, basis: np.ndarray, n_units: int, n_steps: int) -> None:
    n_z = n_units * (n_steps - 1)
    _copy(x, 0, out, 0, n_units)
    out[n_units] = math.exp(x[n_units])
    _copy(x, n_units + 1, out, n_units + 1, n_z)
    i = n_units + 1 + n_z
    for d in range(7):
        value = 0.0
        for j in range(6):
            value += basis[d * 6 + j] * x[i + j]
        out[i + d] = value
    out[i + 7] = x[i + 6]
    out[i + 8] = math.exp(x[i + 7])


def its_expand_c(dim: int, n_out: int, x_: Any, out_: Any, data: Any) -> int:
    b = _buffer(data)
    sizes = _part(b, 10)
    its_expand(carray(x_, (dim,)), carray(out_, (n_out,)), _part(b, 9), int(sizes[0]),
               int(sizes[1]))
    return 0


# --------------------------------------------------------------------------- C entry points, one model at a time
# numba compiles a ``cfunc`` when it is created, so creating all six at import compiled (or loaded) every model
# before any could be used: the warm-up child's 7-9 s on a first run sat in front of the first Bayesian fit
# whatever its model. ``entry_points(model)`` creates one model's pair on first use; the warm-up child creates
# them model by model (``_warmup``), and a fit waits only until its own model's pair is in numba's cache. The
# functions stay in this file, so numba's cache is still invalidated by any edit to it.
_ENTRY_POINT_FUNCTIONS = {"did": (did_logp_c, did_expand_c), "ordinal": (ordinal_logp_c, ordinal_expand_c),
                          "its": (its_logp_c, its_expand_c)}
MODELS = tuple(_ENTRY_POINT_FUNCTIONS)


@functools.cache
def entry_points(model: str) -> tuple[Any, Any]:
    """``model``'s log density and expansion as C callbacks for nutpie (compiled, or loaded from the cache)."""
    logp, expand = _ENTRY_POINT_FUNCTIONS[model]
    return cfunc(_LOGP_SIG, cache=True)(logp), cfunc(_EXPAND_SIG, cache=True)(expand)
