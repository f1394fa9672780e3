"""Sensitivity of an event study to violations of parallel trends (Rambachan and Roth 2023, "HonestDiD").

The event study is ``beta = (beta_pre, beta_post)`` on a universal base (the reference period, normalised to 0, is
left out) with covariance ``sigma``; ``beta = delta + (0, tau)`` where ``delta`` is the violation of parallel trends.
The target is ``theta = l' tau``. A restriction set Delta bounds how ``delta_post`` may continue ``delta_pre``:

- Delta^SD(M), smoothness: every second difference of (delta_pre, 0, delta_post) is at most M in absolute value
  (M = 0: the violation is linear and extrapolated);
- Delta^RM(Mbar), relative magnitudes: every post-period one-period change is at most Mbar times the largest
  pre-period one-period change (a union over which pre-period change is the largest and its sign).

Reported per M: the identified set (two linear programs per polyhedron), the fixed-length confidence interval (FLCI,
Armstrong-Kolesar optimal affine estimator; Delta^SD only), and the ARP moment-inequality confidence sets of Andrews,
Roth and Pakes (conditional, and hybrid with a least-favorable first stage of size kappa = alpha / 10). The breakdown
value is the smallest M at which the confidence set contains 0.

Implementation notes (our own code, checked against the ``honestdid`` Python package to 1e-4 in
``tests/reference``): the ARP test's truncation points [vlo, vup] are computed exactly by two Charnes-Cooper linear
programs instead of bisection; confidence-set endpoints are refined by bisection between grid points instead of being
grid points; the FLCI uses the exact folded-normal quantile. The least-favorable critical value is simulated from
``numpy.random.RandomState(seed).multivariate_normal`` (1,000 draws), the convention of the reference package, so that
seeded results can be compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

__all__ = ["EventStudy", "HonestResult", "sd_constraints", "rm_constraints", "identified_set", "flci",
           "arp_accepts", "confidence_set", "honest_sensitivity", "folded_normal_quantile"]

Restriction = Literal["relative_magnitudes", "smoothness"]
Method = Literal["conditional", "hybrid", "flci"]


@dataclass(frozen=True)
class EventStudy:
    """Universal-base event-study coefficients without the reference period, pre-periods first."""

    beta: NDArray[np.float64]
    sigma: NDArray[np.float64]
    n_pre: int
    n_post: int

    def __post_init__(self) -> None:
        if self.beta.size != self.n_pre + self.n_post or self.sigma.shape != (self.beta.size, self.beta.size):
            raise ValueError("beta and sigma must have n_pre + n_post entries")


# --------------------------------------------------------------------------------------------------- restrictions


def sd_constraints(n_pre: int, n_post: int, m: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A delta <= d for Delta^SD(M): |second differences of (delta_pre, 0, delta_post)| <= M."""
    total = n_pre + n_post
    second = np.zeros((total - 1, total + 1))
    for r in range(total - 1):
        second[r, r:r + 3] = (1.0, -2.0, 1.0)
    second = np.delete(second, n_pre, axis=1)  # the reference period is 0
    a = np.vstack([second, -second])
    return a, np.full(a.shape[0], float(m))


def rm_constraints(n_pre: int, n_post: int, mbar: float, s: int,
                   max_positive: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Delta^RM_{s,sign}(Mbar): the pre-period change ending at event time s (s <= 0, relative to the reference
    period 0) is the largest in absolute value, with the given sign, and every post-period change is at most Mbar
    times it."""
    total = n_pre + n_post
    first = np.zeros((total, total + 1))
    for r in range(total):
        first[r, r], first[r, r + 1] = -1.0, 1.0
    largest = np.zeros(total + 1)
    largest[n_pre + s - 1], largest[n_pre + s] = -1.0, 1.0
    if not max_positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (n_pre, 1)), np.tile(mbar * largest, (n_post, 1))])
    a = np.vstack([first - bound, -first - bound])
    a = a[np.sum(a ** 2, axis=1) > 1e-10]
    a = np.delete(a, n_pre, axis=1)
    return a, np.zeros(a.shape[0])


def _polyhedra(restriction: Restriction, n_pre: int, n_post: int,
               m: float) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    if restriction == "smoothness":
        return [sd_constraints(n_pre, n_post, m)]
    return [rm_constraints(n_pre, n_post, m, s, sign) for s in range(-(n_pre - 1), 1) for sign in (True, False)]


def _arp_rows(restriction: Restriction, a: NDArray[np.float64], n_pre: int, n_post: int) -> NDArray[np.bool_]:
    """Moments the ARP test uses: those involving a post period (as the reference package does; for Delta^SD
    with one post period all moments)."""
    if restriction == "smoothness" and n_post == 1:
        return np.ones(a.shape[0], dtype=bool)
    return np.any(a[:, n_pre:] != 0, axis=1)


# --------------------------------------------------------------------------------------------------- identified set


def identified_set(beta: NDArray[np.float64], l_vec: NDArray[np.float64], n_pre: int,
                   polyhedra: list[tuple[NDArray[np.float64], NDArray[np.float64]]]) -> tuple[float, float]:
    """[l'beta_post - max l'delta_post, l'beta_post - min l'delta_post] over delta in the union of polyhedra with
    delta_pre = beta_pre."""
    n = beta.size
    objective = np.concatenate([np.zeros(n_pre), l_vec])
    eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n - n_pre))])
    point = float(l_vec @ beta[n_pre:])
    lows, highs = [], []
    for a, d in polyhedra:
        kw = dict(A_ub=a, b_ub=d, A_eq=eq, b_eq=beta[:n_pre], bounds=[(None, None)] * n, method="highs")
        top = optimize.linprog(-objective, **kw)
        bottom = optimize.linprog(objective, **kw)
        if top.status == 2 or bottom.status == 2:  # infeasible: this polyhedron does not contain beta_pre
            continue
        lows.append(point + top.fun if top.status == 0 else -math.inf)
        highs.append(point - bottom.fun if bottom.status == 0 else math.inf)
    if not lows:
        return math.nan, math.nan
    return float(min(lows)), float(max(highs))


# --------------------------------------------------------------------------------------------------- FLCI


def folded_normal_quantile(p: float, mean: float) -> float:
    """The p-quantile of |N(mean, 1)|."""
    mean = abs(mean)
    if mean > 40:
        return mean + float(stats.norm.ppf(p))
    f = lambda q: stats.norm.cdf(q - mean) - stats.norm.cdf(-q - mean) - p  # noqa: E731
    return float(optimize.brentq(f, 0.0, mean + 10.0, xtol=1e-14, rtol=1e-14))


def _sd_bias_terms(n_pre: int, n_post: int, l_vec: NDArray[np.float64]) -> tuple[float, float]:
    """(constant, sum target) of the worst-case bias over Delta^SD(1) of an affine estimator with post weights l
    and pre weights given by w (v_pre = first differences of w): bias = constant + sum |cumsum(w)|, sum(w) =
    target (the estimator must be unbiased for linear violations)."""
    s = np.arange(1, n_post + 1)
    constant = sum(abs(float(np.arange(1, k + 1) @ l_vec[n_post - k:])) for k in range(1, n_post + 1))
    target = float(s @ l_vec)
    return constant - target, target


def flci(study: EventStudy, l_vec: NDArray[np.float64], m: float, alpha: float) -> dict[str, Any]:
    """The optimal fixed-length confidence interval for theta under Delta^SD(M) (Rambachan-Roth section 4.1)."""
    k, n_post = study.n_pre, study.n_post
    constant, target = _sd_bias_terms(k, n_post, l_vec)
    to_v = np.eye(k) - np.eye(k, k=-1)  # v_pre = to_v @ w
    sigma = study.sigma

    def vector(w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.concatenate([to_v @ w, l_vec])

    def half_length(x: NDArray[np.float64]) -> float:
        w, u = x[:k], x[k:]
        v = vector(w)
        sd = math.sqrt(max(float(v @ sigma @ v), 1e-300))
        bias = m * (constant + float(u.sum()))
        return folded_normal_quantile(1 - alpha, bias / sd) * sd

    lower = np.tril(np.ones((k, k)))
    cons = [{"type": "eq", "fun": lambda x: np.array([x[:k].sum() - target]), "jac": lambda x: np.concatenate(
                [np.ones(k), np.zeros(k)])[None, :]},
            {"type": "ineq", "fun": lambda x: np.concatenate([x[k:] - lower @ x[:k], x[k:] + lower @ x[:k]]),
             "jac": lambda x: np.vstack([np.hstack([-lower, np.eye(k)]), np.hstack([lower, np.eye(k)])])}]
    best = None
    # Starting points: all weight on the last pre-period (least bias) and the minimum-variance weights.
    w0 = np.zeros(k)
    w0[-1] = target
    starts = [w0, np.full(k, target / k)]
    for w in starts:
        x0 = np.concatenate([w, np.abs(lower @ w) + 1e-9])
        res = optimize.minimize(half_length, x0, method="SLSQP", constraints=cons,
                                options={"ftol": 1e-14, "maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    v = vector(best.x[:k])
    half = half_length(best.x)
    centre = float(v @ study.beta)
    return {"ci_low": centre - half, "ci_high": centre + half, "half_length": half, "weights": v.tolist()}


# --------------------------------------------------------------------------------------------------- ARP test


def _lp_eta(y: NDArray[np.float64], x: NDArray[np.float64], sd: NDArray[np.float64]) -> tuple[float, NDArray]:
    """eta = min_nu max_j (y_j - x_j nu) / sd_j and the dual weights (gamma >= 0, gamma'sd = 1, gamma'x = 0)."""
    if x.shape[1] == 0:
        j = int(np.argmax(y / sd))
        gamma = np.zeros(y.size)
        gamma[j] = 1.0 / sd[j]
        return float(y[j] / sd[j]), gamma
    c = np.zeros(1 + x.shape[1])
    c[0] = 1.0
    res = optimize.linprog(c, A_ub=np.column_stack([-sd, -x]), b_ub=-y, bounds=[(None, None)] * c.size,
                           method="highs")
    if res.status != 0:
        return math.nan, np.zeros(y.size)
    return float(res.x[0]), -res.ineqlin.marginals


def _truncation(s: NDArray[np.float64], b: NDArray[np.float64], x: NDArray[np.float64],
                sd: NDArray[np.float64]) -> tuple[float, float]:
    """The range of c over which the chosen dual vertex stays optimal for y = s + b c (exact, two LPs).

    Every dual-feasible gamma must satisfy gamma's + c (gamma'b - 1) <= 0: vertices with gamma'b > 1 bound c from
    above, those with gamma'b < 1 from below. Each bound is a linear-fractional program, made linear with the
    Charnes-Cooper substitution z = t gamma."""
    n = s.size
    # Variables (z, t) >= 0; equalities: sd'z - t = 0, x'z = 0, and the normalisation.
    base = np.vstack([np.concatenate([sd, [-1.0]]), np.hstack([x.T, np.zeros((x.shape[1], 1))])])
    rhs = np.zeros(base.shape[0])
    bounds = [(0, None)] * (n + 1)
    up = optimize.linprog(np.concatenate([-s, [0.0]]), A_eq=np.vstack([base, np.concatenate([b, [-1.0]])]),
                          b_eq=np.concatenate([rhs, [1.0]]), bounds=bounds, method="highs")
    vup = float(up.fun) if up.status == 0 else math.inf
    low = optimize.linprog(np.concatenate([-s, [0.0]]), A_eq=np.vstack([base, np.concatenate([-b, [1.0]])]),
                           b_eq=np.concatenate([rhs, [1.0]]), bounds=bounds, method="highs")
    vlo = float(-low.fun) if low.status == 0 else -math.inf
    return vlo, vup


def _vertex_truncation(vertices: NDArray[np.float64], s: NDArray[np.float64],
                       b: NDArray[np.float64]) -> tuple[float, float]:
    """``_truncation`` by enumeration: each vertex gamma requires gamma's + c (gamma'b - 1) <= 0."""
    gb, gs = vertices @ b - 1.0, vertices @ s
    tol = 1e-10
    above, below = gb > tol, gb < -tol
    vup = float(np.min(-gs[above] / gb[above])) if above.any() else math.inf
    vlo = float(np.max(-gs[below] / gb[below])) if below.any() else -math.inf
    return vlo, vup


def _truncated_normal_quantile(p: float, low: float, high: float) -> float:
    """The p-quantile of N(0, 1) truncated to [low, high], in log space so that far tails stay exact (scipy's
    truncnorm.ppf gives the same values, 100 times slower)."""
    if low >= high:
        return low
    if low > 0:  # upper tail: work with survival functions, S(x) = S(low) - p (S(low) - S(high))
        log_s_low, log_s_high = special.log_ndtr(-low), special.log_ndtr(-high)
        target = log_s_low + math.log1p(-p * -math.expm1(log_s_high - log_s_low))
        return float(-special.ndtri_exp(target))
    log_low, log_high = special.log_ndtr(low), special.log_ndtr(high)
    ratio = math.exp(log_low - log_high)
    return float(special.ndtri_exp(log_high + math.log(ratio + p * (1 - ratio))))


MAX_VERTEX_SUBSETS = 200_000


def dual_vertices(x: NDArray[np.float64], sd: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Every vertex of {gamma >= 0 : gamma'sd = 1, gamma'x = 0} (rows), or None when there are too many subsets
    to list. With them eta = max over vertices of gamma'y, exactly the LP's value, for any y at once."""
    m, p = x.shape
    k = p + 1
    if math.comb(m, k) > MAX_VERTEX_SUBSETS:
        return None
    import itertools

    subsets = np.array(list(itertools.combinations(range(m), k)), dtype=np.intp)
    system = np.concatenate([sd[subsets][:, None, :], np.transpose(x[subsets], (0, 2, 1))], axis=1)
    det = np.linalg.det(system)
    usable = np.abs(det) > 1e-12 * np.max(np.abs(system), axis=(1, 2)) ** k
    rhs = np.zeros((int(usable.sum()), k))
    rhs[:, 0] = 1.0
    solved = np.linalg.solve(system[usable], rhs[..., None])[..., 0]
    keep = np.all(solved >= -1e-10, axis=1)
    vertices = np.zeros((int(keep.sum()), m))
    rows = np.repeat(np.arange(vertices.shape[0]), k)
    vertices[rows, subsets[usable][keep].ravel()] = np.clip(solved[keep], 0.0, None).ravel()
    return vertices


def least_favorable_cv(x: NDArray[np.float64], sigma: NDArray[np.float64], kappa: float, *, seed: int,
                       sims: int = 1000) -> float:
    """1 - kappa quantile of eta under the least favorable null (all moments binding)."""
    draws = np.random.RandomState(seed).multivariate_normal(np.zeros(sigma.shape[0]), sigma, size=sims)
    sd = np.sqrt(np.diag(sigma))
    vertices = dual_vertices(x, sd)
    if vertices is not None:
        etas = np.max(draws @ vertices.T, axis=1) if vertices.size else np.full(sims, np.nan)
    else:
        etas = np.array([_lp_eta(xi, x, sd)[0] for xi in draws])
        etas = etas[np.isfinite(etas)]
    return float(np.quantile(etas, 1 - kappa))


def arp_accepts(y: NDArray[np.float64], x: NDArray[np.float64], sigma: NDArray[np.float64], alpha: float, *,
                hybrid_cv: float | None = None, kappa: float = 0.0,
                vertices: NDArray[np.float64] | None = None) -> bool:
    """ARP conditional (or least-favorable hybrid) test of E[y - x nu] <= 0 for some nu; True when not rejected.

    ``vertices`` (from ``dual_vertices``) replace the linear programs by exact enumeration."""
    sd = np.sqrt(np.diag(sigma))
    if vertices is not None:
        if vertices.shape[0] == 0:
            return True
        values = vertices @ y
        best = int(np.argmax(values))
        eta, gamma = float(values[best]), vertices[best]
    else:
        eta, gamma = _lp_eta(y, x, sd)
    if not math.isfinite(eta):
        return True
    size = alpha
    if hybrid_cv is not None:
        if eta > hybrid_cv:
            return False
        size = (alpha - kappa) / (1 - kappa)
    var = float(gamma @ sigma @ gamma)
    if var < np.finfo(float).eps:
        return not eta > 0
    sigma_b = math.sqrt(var)
    if eta <= 0:
        return True  # the critical value is never negative
    b = sigma @ gamma / var
    s = y - b * float(gamma @ y)
    if vertices is not None:
        vlo, vup = _vertex_truncation(vertices, s, b)
    else:
        vlo, vup = _truncation(s, b, x, sd)
    if hybrid_cv is not None and x.shape[1] > 0:
        vup = min(vup, hybrid_cv)  # the reference caps vup only with nuisance parameters
    if not (vlo <= eta <= vup):
        return True
    crit = max(0.0, _truncated_normal_quantile(1 - size, vlo / sigma_b, vup / sigma_b))
    return not eta / sigma_b > crit


@dataclass(frozen=True)
class _Moments:
    """One polyhedron's moments, reparametrised so theta is the first coordinate of Gamma tau."""

    y0: NDArray[np.float64]       # A beta - d
    slope: NDArray[np.float64]    # d y / d theta
    x: NDArray[np.float64]        # nuisance columns
    sigma: NDArray[np.float64]
    hybrid_cv: float | None
    vertices: NDArray[np.float64] | None


def _moments(study: EventStudy, l_vec: NDArray[np.float64], a: NDArray[np.float64], d: NDArray[np.float64],
             rows: NDArray[np.bool_], method: Method, alpha: float, seed: int) -> _Moments:
    a, d = a[rows], d[rows]
    # Gamma: l' completed to a basis with unit rows (any completion gives the same test).
    pivot = int(np.flatnonzero(np.abs(l_vec) > 1e-12)[0])
    gamma_mat = np.vstack([l_vec] + [np.eye(study.n_post)[i] for i in range(study.n_post) if i != pivot])
    a_gamma_inv = a[:, study.n_pre:] @ np.linalg.inv(gamma_mat)
    sigma_y = a @ study.sigma @ a.T
    x = a_gamma_inv[:, 1:]
    kappa = alpha / 10
    cv = least_favorable_cv(x, sigma_y, kappa, seed=seed) if method == "hybrid" else None
    vertices = dual_vertices(x, np.sqrt(np.diag(sigma_y)))
    return _Moments(a @ study.beta - d, -a_gamma_inv[:, 0], x, sigma_y, cv, vertices)


def _accepts(moments: _Moments, theta: float, alpha: float) -> bool:
    return arp_accepts(moments.y0 + moments.slope * theta, moments.x, moments.sigma, alpha,
                       hybrid_cv=moments.hybrid_cv, kappa=alpha / 10, vertices=moments.vertices)


def _interval_from_grid(accept, grid: NDArray[np.float64], refine: bool) -> tuple[float, float, bool]:
    """Smallest and largest accepted theta, refined by bisection against the neighbouring rejected grid point."""
    ok = np.array([accept(t) for t in grid])
    if not ok.any():
        return math.nan, math.nan, False
    first, last = int(np.argmax(ok)), int(ok.size - 1 - np.argmax(ok[::-1]))
    open_end = bool(ok[0] or ok[-1])
    low, high = float(grid[first]), float(grid[last])
    if refine:
        if first > 0:
            low = _bisect(accept, float(grid[first - 1]), low)
        if last < ok.size - 1:
            high = _bisect(accept, float(grid[last + 1]), high)
    return low, high, open_end


def _bisect(accept, rejected: float, accepted: float, tol: float = 1e-9) -> float:
    scale = 1.0 + abs(accepted)
    while abs(accepted - rejected) > tol * scale:
        mid = 0.5 * (accepted + rejected)
        if accept(mid):
            accepted = mid
        else:
            rejected = mid
    return accepted


def confidence_set(study: EventStudy, l_vec: NDArray[np.float64], restriction: Restriction, m: float, *,
                   method: Literal["conditional", "hybrid"], alpha: float, grid: NDArray[np.float64],
                   seed: int = 0, refine: bool = True) -> dict[str, Any]:
    """The ARP confidence set for theta under Delta(M) (for Delta^RM the union over its polyhedra), reported as
    its smallest and largest accepted value."""
    lows, highs, open_end = [], [], False
    for a, d in _polyhedra(restriction, study.n_pre, study.n_post, m):
        rows = _arp_rows(restriction, a, study.n_pre, study.n_post)
        moments = _moments(study, l_vec, a, d, rows, method, alpha, seed)
        low, high, is_open = _interval_from_grid(lambda t, mo=moments: _accepts(mo, t, alpha), grid, refine)
        if math.isfinite(low):
            lows.append(low)
            highs.append(high)
            open_end |= is_open
    if not lows:
        return {"ci_low": math.nan, "ci_high": math.nan, "open_at_grid_end": False}
    return {"ci_low": min(lows), "ci_high": max(highs), "open_at_grid_end": open_end}


def _zero_accepted(study: EventStudy, l_vec: NDArray[np.float64], restriction: Restriction, m: float,
                   method: Method, alpha: float, seed: int) -> bool:
    if method == "flci":
        out = flci(study, l_vec, m, alpha)
        return out["ci_low"] <= 0 <= out["ci_high"]
    for a, d in _polyhedra(restriction, study.n_pre, study.n_post, m):
        rows = _arp_rows(restriction, a, study.n_pre, study.n_post)
        if _accepts(_moments(study, l_vec, a, d, rows, method, alpha, seed), 0.0, alpha):
            return True
    return False


def breakdown_value(study: EventStudy, l_vec: NDArray[np.float64], restriction: Restriction, method: Method,
                    alpha: float, seed: int, tol: float = 1e-3) -> float | None:
    """Smallest M (Mbar) whose confidence set contains 0: 0 when it already does at M = 0; None when it has not
    by M = 2^12 times the start."""
    if _zero_accepted(study, l_vec, restriction, 0.0, method, alpha, seed):
        return 0.0
    sd = math.sqrt(float(l_vec @ study.sigma[study.n_pre:, study.n_pre:] @ l_vec))
    high = 1.0 if restriction == "relative_magnitudes" else max(sd, 1e-8)
    low = 0.0
    for _ in range(12):
        if _zero_accepted(study, l_vec, restriction, high, method, alpha, seed):
            break
        low, high = high, 2 * high
    else:
        return None
    while high - low > tol * max(high, 1e-12):
        mid = 0.5 * (low + high)
        if _zero_accepted(study, l_vec, restriction, mid, method, alpha, seed):
            high = mid
        else:
            low = mid
    return float(high)


# --------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class HonestResult:
    """Sensitivity of one target to the size of the violation: a row per M (or Mbar)."""

    restriction: Restriction
    method: Method
    target: str
    estimate: float
    std_error: float
    original_ci: tuple[float, float]
    rows: tuple[dict[str, Any], ...]
    breakdown: float | None
    alpha: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"restriction": self.restriction, "method": self.method, "target": self.target,
                "estimate": self.estimate, "std_error": self.std_error,
                "original_ci": list(self.original_ci), "rows": [dict(r) for r in self.rows],
                "breakdown_value": self.breakdown, "alpha": self.alpha, "notes": list(self.notes)}

    def plot(self, ax: Any = None) -> Any:
        """The sensitivity plot: the confidence set against M (Mbar), the original interval at the left."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
        else:
            fig = ax.figure
        ms = [r["m"] for r in self.rows]
        step = (max(ms) - min(ms)) / max(len(ms) - 1, 1) if len(ms) > 1 else 1.0
        ax.errorbar([min(ms) - step], [self.estimate], yerr=[[self.estimate - self.original_ci[0]],
                                                             [self.original_ci[1] - self.estimate]],
                    fmt="o", color="black", capsize=3, label="original")
        lows = np.array([r["ci_low"] for r in self.rows], dtype=float)
        highs = np.array([r["ci_high"] for r in self.rows], dtype=float)
        mid = (lows + highs) / 2
        ax.errorbar(ms, mid, yerr=[mid - lows, highs - mid], fmt="none", color="tab:blue", capsize=3,
                    label=f"{self.method} ({self.restriction.replace('_', ' ')})")
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("Mbar" if self.restriction == "relative_magnitudes" else "M")
        ax.set_ylabel(f"{100 * (1 - self.alpha):.0f}% confidence set")
        if self.breakdown is not None:
            ax.axvline(self.breakdown, color="tab:red", lw=0.8, label=f"breakdown {self.breakdown:.3g}")
        ax.legend(fontsize=8)
        return fig


def honest_sensitivity(study: EventStudy, *, l_vec: NDArray[np.float64] | None = None,
                       restriction: Restriction = "relative_magnitudes", values: tuple[float, ...],
                       method: Method | None = None, alpha: float = 0.05, grid_points: int = 60,
                       seed: int = 0, target: str = "average of post-period effects",
                       with_breakdown: bool = True) -> HonestResult:
    """The sensitivity analysis: identified set and confidence set for each M (Mbar) in ``values``.

    ``method`` defaults to the reference's choices: the hybrid (C-LF) set for Delta^RM and the FLCI for Delta^SD.
    """
    if study.n_pre < 1 or study.n_post < 1:
        raise ValueError("needs at least one pre-period (besides the reference) and one post-period")
    l_vec = np.full(study.n_post, 1.0 / study.n_post) if l_vec is None else np.asarray(l_vec, dtype=float)
    method = method or ("hybrid" if restriction == "relative_magnitudes" else "flci")
    if restriction == "relative_magnitudes" and method == "flci":
        raise ValueError("the FLCI is for Delta^SD; Delta^RM is not convex-symmetric (use conditional or hybrid)")
    if restriction == "relative_magnitudes" and study.n_pre < 2:
        # Delta^RM needs a pre-period change: one pre-period (plus the reference) gives a single change.
        pass
    post = slice(study.n_pre, None)
    estimate = float(l_vec @ study.beta[post])
    sd = math.sqrt(float(l_vec @ study.sigma[post, post] @ l_vec))
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for m in values:
        polyhedra = _polyhedra(restriction, study.n_pre, study.n_post, m)
        id_low, id_high = identified_set(study.beta, l_vec, study.n_pre, polyhedra)
        if method == "flci":
            out = flci(study, l_vec, m, alpha)
            ci = {"ci_low": out["ci_low"], "ci_high": out["ci_high"], "open_at_grid_end": False}
        else:
            ci = _adaptive_confidence_set(study, l_vec, restriction, m, method, alpha, grid_points, seed,
                                          id_low, id_high, sd)
        row = {"m": float(m), "id_low": id_low, "id_high": id_high, **ci}
        if math.isnan(id_low):
            row["note"] = ("identified set empty: no violation in this restriction set reproduces the estimated "
                           "pre-period coefficients exactly (the confidence set still accounts for their noise)")
        rows.append(row)
    breakdown = breakdown_value(study, l_vec, restriction, method, alpha, seed) if with_breakdown else None
    return HonestResult(restriction=restriction, method=method, target=target, estimate=estimate, std_error=sd,
                        original_ci=(estimate - z * sd, estimate + z * sd), rows=tuple(rows), breakdown=breakdown,
                        alpha=alpha)


def _adaptive_confidence_set(study: EventStudy, l_vec: NDArray[np.float64], restriction: Restriction, m: float,
                             method: Literal["conditional", "hybrid"], alpha: float, grid_points: int, seed: int,
                             id_low: float, id_high: float, sd: float) -> dict[str, Any]:
    """A grid around the identified set (widened until the set is closed inside it), then refined endpoints."""
    width = 20.0
    for _ in range(6):
        low = (id_low if math.isfinite(id_low) else -1e6) - width * sd
        high = (id_high if math.isfinite(id_high) else 1e6) + width * sd
        out = confidence_set(study, l_vec, restriction, m, method=method, alpha=alpha,  # type: ignore[arg-type]
                             grid=np.linspace(low, high, grid_points), seed=seed)
        if not out["open_at_grid_end"]:
            return out
        width *= 4
    return out
