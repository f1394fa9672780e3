"""Measurement invariance of a multi-item index: multi-group confirmatory factor analysis (one factor).

Before an index's mean is compared between arms and waves, the items must measure the same construct in the same
units in every group. For groups g (arm x wave by default) and items j, the one-factor model with mean structure is

    x_gj = nu_gj + lambda_gj * eta_g + e_gj,   eta_g ~ (kappa_g, phi_g),   e_gj ~ (0, theta_gj)

fitted by maximum likelihood to each group's complete-case means and covariances (divisor n_g, lavaan's
``likelihood = "normal"``), at three levels (Meredith 1993; Vandenberg & Lance 2000):

- **configural**: same pattern (one factor) in every group, all parameters free; marker item 1 (lambda = 1) and
  kappa = 0 in every group, as lavaan's defaults;
- **metric** (weak): loadings equal across groups; factor variances free;
- **scalar** (strong): loadings and intercepts equal; factor means free in every group but the first.

Each level reports chi-square, df, CFI, TLI, RMSEA with its 90% CI and SRMR, computed as lavaan 0.6 does
(multi-group RMSEA times sqrt(G); SRMR = Bentler's, means included, averaged over groups weighted by n_g; baseline:
independence model with free means and variances per group). tests/reference/invariance/reference.R holds the
lavaan fits of the committed examples, and tests/reference/test_invariance_lavaan.py matches them.

**Change criteria (Chen 2007, Structural Equation Modeling 14(3):464-504).** A level
is rejected against the one below when CFI falls by 0.010 or more *and* RMSEA rises by 0.015 or more or SRMR rises
by 0.030 or more (metric) / 0.010 or more (scalar). Chen recommends the stricter cut-offs -0.005 / 0.010 /
0.025 (metric) / 0.005 (scalar) when the total sample is 300 or fewer; both are applied by sample size. The
chi-square difference test is reported beside them but does not decide: with hundreds of respondents per group it
rejects differences too small to matter (Cheung & Rensvold 2002). Configural fit must be acceptable (CFI >= 0.90)
for any comparison to make sense.

**Verdict.** comparable (scalar holds: means and associations may be compared) / only metric (loadings hold,
intercepts do not: compare associations, not means) / not comparable (configural fit poor or loadings differ).
When scalar fails, each item's intercepts are freed in turn (partial invariance, Byrne, Shavelson & Muthen 1989;
lavaan's ``group.partial``); the best-fitting one is reported, and whether the rest then holds by the same criteria.

**Items as continuous.** Likert items are treated as continuous (normal-theory ML); the ordinal alternative
(thresholds, WLSMV with polychoric correlations) is not done. With 5-point items whose answers are not piled at
one end, ML on the raw scores gives similar verdicts (Rhemtulla, Brosseau-Liard & Savalei 2012).

**Why not a library.** semopy (PyPI, 2.3.11) fits multi-group models group by group (``semopy.multigroup`` loops
over the groups, one separate ``Model.fit`` each) and has no cross-group equality constraints such as lavaan's
``group.equal``, so it cannot fit the metric or scalar model. The model here is small (one factor, 3-10 items, a
few groups), so the ML fit is written with numpy/scipy: the discrepancy function and its analytic gradient,
L-BFGS-B from each group's first principal component, variances kept positive (lavaan allows Heywood cases; a
survey index with a negative residual variance has other problems first).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from ._blas import small_blas
from .results.parts import InvarianceFit, MeasurementInvariance

LEVELS: tuple[str, ...] = ("configural", "metric", "scalar")
#: Chen (2007) cut-offs: (delta CFI at most, delta RMSEA at least, delta SRMR at least for metric, for scalar).
CHEN_LARGE = (-0.010, 0.015, 0.030, 0.010)
CHEN_SMALL = (-0.005, 0.010, 0.025, 0.005)  # total N <= 300
CHEN_SMALL_N = 300
CONFIGURAL_MIN_CFI = 0.90
#: Fewer complete answers than this in a group and its covariance matrix is too noisy for fit indices to mean much.
MIN_GROUP_N = 30
VERDICTS = ("comparable", "only metric", "not comparable")
CRITERION = ("Chen (2007): a level fails when CFI falls by >= 0.010 and RMSEA rises by >= 0.015 or SRMR by >= 0.030 "
             "(metric) / 0.010 (scalar); -0.005 / 0.010 / 0.025 / 0.005 when N <= 300. Configural needs CFI >= 0.90.")
METHOD = ("multi-group one-factor CFA, maximum likelihood with mean structure on complete cases, items treated as "
          "continuous (ordinal WLSMV not done); marker item 1; fit indices as lavaan 0.6")


@dataclass(frozen=True)
class GroupMoments:
    """One group's complete-case sample moments (covariance with divisor n, as the ML discrepancy uses)."""

    label: str
    n: int
    mean: NDArray[np.float64]
    cov: NDArray[np.float64]

    @classmethod
    def of(cls, label: str, items: NDArray[np.float64]) -> GroupMoments:
        return cls(label, int(items.shape[0]), items.mean(axis=0), np.cov(items, rowvar=False, ddof=0))


@dataclass(frozen=True)
class LevelFit:
    """One invariance level's ML solution and fit indices (``loadings[g]`` etc. per group, marker loading 1)."""

    level: str
    chisq: float
    df: int
    p_value: float
    cfi: float
    tli: float | None
    rmsea: float
    rmsea_ci: tuple[float, float]
    srmr: float
    loadings: NDArray[np.float64]  # (G, p)
    intercepts: NDArray[np.float64]  # (G, p)
    residual_variances: NDArray[np.float64]  # (G, p)
    factor_variances: NDArray[np.float64]  # (G,)
    factor_means: NDArray[np.float64]  # (G,)
    converged: bool
    baseline_chisq: float
    baseline_df: int


# --------------------------------------------------------------------------- the parameter layout per level


@dataclass(frozen=True)
class _Layout:
    """Where each group's parameters sit in the free vector (-1: fixed; loading 1 / factor mean 0)."""

    lam: NDArray[np.int64]  # (G, p)
    phi: NDArray[np.int64]  # (G,)
    theta: NDArray[np.int64]  # (G, p)
    nu: NDArray[np.int64]  # (G, p)
    kappa: NDArray[np.int64]  # (G,)
    size: int


def _layout(level: str, groups: int, p: int, free_intercepts: tuple[int, ...] = ()) -> _Layout:
    counter = iter(range(10**6))

    def block(shape: tuple[int, ...]) -> NDArray[np.int64]:
        return np.array([next(counter) for _ in range(int(np.prod(shape)))], dtype=np.int64).reshape(shape)

    shared_lam = level in ("metric", "scalar")
    shared_nu = level == "scalar"
    lam = np.full((groups, p), -1, dtype=np.int64)
    free_lam = block((p - 1,))
    for g in range(groups):
        lam[g, 1:] = free_lam if shared_lam or g == 0 else block((p - 1,))
    phi = block((groups,))
    theta = block((groups, p))
    free_nu = block((p,))
    nu = np.stack([free_nu if shared_nu or g == 0 else block((p,)) for g in range(groups)])
    for j in free_intercepts:  # partial scalar invariance: these items' intercepts differ by group
        nu[1:, j] = block((groups - 1,))
    kappa = np.full(groups, -1, dtype=np.int64)
    if shared_nu:
        kappa[1:] = block((groups - 1,))
    return _Layout(lam, phi, theta, nu, kappa, next(counter))


def _unpack(x: NDArray[np.float64], layout: _Layout) -> tuple[NDArray[np.float64], ...]:
    def take(index: NDArray[np.int64], fixed: float) -> NDArray[np.float64]:
        return np.where(index >= 0, x[np.maximum(index, 0)], fixed)

    return (take(layout.lam, 1.0), take(layout.phi, 0.0), take(layout.theta, 0.0), take(layout.nu, 0.0),
            take(layout.kappa, 0.0))


def _implied(lam: NDArray[np.float64], phi: float, theta: NDArray[np.float64], nu: NDArray[np.float64],
             kappa: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return phi * np.outer(lam, lam) + np.diag(theta), nu + kappa * lam


def _discrepancy(x: NDArray[np.float64], layout: _Layout, groups: Sequence[_Prepared], total: int,
                 ) -> tuple[float, NDArray[np.float64]]:
    """sum_g (n_g / N) F_g with F_g the ML discrepancy, and its gradient in x (analytic)."""
    lam, phi, theta, nu, kappa = _unpack(x, layout)
    value, grad = 0.0, np.zeros(layout.size)
    for g, moments in enumerate(groups):
        sigma, mu = _implied(lam[g], phi[g], theta[g], nu[g], kappa[g])
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return np.inf, grad
        inverse = np.linalg.inv(sigma)
        d = moments.mean - mu
        target = moments.cov + np.outer(d, d)
        weight = moments.n / total
        value += weight * (logdet + float(np.trace(target @ inverse)) - moments.log_det_s - lam.shape[1])
        w = inverse - inverse @ target @ inverse  # dF/dSigma (symmetric)
        h = -2.0 * inverse @ d  # dF/dmu
        d_lam = 2.0 * phi[g] * (w @ lam[g]) + kappa[g] * h
        for index, gradient in ((layout.lam[g], d_lam), (layout.theta[g], np.diag(w)), (layout.nu[g], h)):
            free = index >= 0
            np.add.at(grad, index[free], weight * gradient[free])
        if layout.phi[g] >= 0:
            grad[layout.phi[g]] += weight * float(lam[g] @ w @ lam[g])
        if layout.kappa[g] >= 0:
            grad[layout.kappa[g]] += weight * float(lam[g] @ h)
    return value, grad


def _start(layout: _Layout, groups: Sequence[GroupMoments]) -> NDArray[np.float64]:
    """Per-group first principal component loadings scaled to the marker, averaged where parameters are shared."""
    sums, counts = np.zeros(layout.size), np.zeros(layout.size)
    for g, moments in enumerate(groups):
        values, vectors = np.linalg.eigh(moments.cov)
        loadings = vectors[:, -1] * np.sqrt(values[-1]) * 0.9
        loadings *= 1.0 if loadings.sum() >= 0 else -1.0
        psi = np.maximum(np.diag(moments.cov) - loadings**2, 0.1 * np.diag(moments.cov))
        marker = loadings[0] if abs(loadings[0]) > 1e-3 else 1.0
        values = ((layout.lam[g], loadings / marker), (layout.phi[g:g + 1], np.array([marker**2])),
                  (layout.theta[g], psi), (layout.nu[g], moments.mean), (layout.kappa[g:g + 1], np.zeros(1)))
        for index, value in values:
            free = index >= 0
            np.add.at(sums, index[free], value[free])
            np.add.at(counts, index[free], 1.0)
    return sums / np.maximum(counts, 1.0)


# --------------------------------------------------------------------------- fit indices (as lavaan 0.6)


def _rmsea(chisq: float, df: int, n: int, groups: int) -> tuple[float, tuple[float, float]]:
    if df <= 0:
        return 0.0, (0.0, 0.0)
    point = float(np.sqrt(max(0.0, chisq / (n * df) - 1.0 / n)) * np.sqrt(groups))

    def noncentrality(probability: float) -> float:
        """lambda with P(chi2(df, lambda) <= chisq) = probability; 0 when even lambda = 0 gives less."""
        if stats.chi2.cdf(chisq, df) < probability:
            return 0.0
        upper = max(chisq, 1.0)
        while stats.ncx2.cdf(chisq, df, upper) > probability:
            upper *= 2.0
        return float(optimize.brentq(lambda lam: stats.ncx2.cdf(chisq, df, lam) - probability, 1e-12, upper,
                                     xtol=1e-12, rtol=1e-12))

    def scale(lam: float) -> float:
        return float(np.sqrt(lam / (n * df)) * np.sqrt(groups))

    return point, (scale(noncentrality(0.95)), scale(noncentrality(0.05)))


def _srmr(groups: Sequence[GroupMoments], implied: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]],
          total: int) -> float:
    """Bentler's SRMR with the mean residuals, per group, averaged with weights n_g / N (lavaan's ``srmr``)."""
    value = 0.0
    for moments, (sigma, mu) in zip(groups, implied, strict=True):
        sd = np.sqrt(np.diag(moments.cov))
        residual = (moments.cov - sigma) / np.outer(sd, sd)
        lower = residual[np.tril_indices(sd.size)]
        means = (moments.mean - mu) / sd
        squares = float(lower @ lower + means @ means) / (lower.size + means.size)
        value += moments.n / total * np.sqrt(squares)
    return float(value)


def _baseline(groups: Sequence[_Prepared]) -> tuple[float, int]:
    """Independence model, free means and variances per group: closed form."""
    chisq = sum(m.n * (float(np.sum(np.log(np.diag(m.cov)))) - m.log_det_s) for m in groups)
    p = groups[0].cov.shape[0]
    return float(chisq), len(groups) * p * (p - 1) // 2


# --------------------------------------------------------------------------- fitting


@small_blas
def fit_level(level: str, groups: Sequence[GroupMoments], *, free_intercepts: tuple[int, ...] = ()) -> LevelFit:
    """ML fit of one invariance level to the groups' moments (``free_intercepts``: item positions whose intercepts
    stay free at the scalar level, for partial invariance)."""
    prepared = [_with_log_det(m) for m in groups]
    count, p = len(prepared), prepared[0].cov.shape[0]
    total = sum(m.n for m in prepared)
    layout = _layout(level, count, p, free_intercepts)
    start = _start(layout, prepared)
    variance = np.concatenate([layout.phi, layout.theta.ravel()])
    bounds = [(None, None)] * layout.size
    for index in variance:  # variances stay positive (lavaan allows Heywood cases; a survey index should not have one)
        bounds[index] = (1e-8, None)
    solution = optimize.minimize(_discrepancy, start, args=(layout, prepared, total), jac=True, method="L-BFGS-B",
                                 bounds=bounds, options={"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15,
                                                         "gtol": 1e-11, "maxcor": 30})
    x = solution.x
    lam, phi, theta, nu, kappa = _unpack(x, layout)
    implied = [_implied(lam[g], phi[g], theta[g], nu[g], kappa[g]) for g in range(count)]
    chisq = max(0.0, float(solution.fun) * total)
    moments_count = count * (p * (p + 1) // 2 + p)
    df = moments_count - layout.size
    baseline_chisq, baseline_df = _baseline(prepared)
    cfi = _cfi(chisq, df, baseline_chisq, baseline_df)
    # A saturated model (df 0) fits perfectly: TLI 1, as lavaan reports it.
    tli = 1.0 if df <= 0 else float((baseline_chisq / baseline_df - chisq / df) / (baseline_chisq / baseline_df - 1))
    rmsea, rmsea_ci = _rmsea(chisq, df, total, count)
    converged = bool(solution.success) or float(np.max(np.abs(solution.jac))) < 1e-6
    return LevelFit(level, chisq, int(df), float(stats.chi2.sf(chisq, df)) if df > 0 else 1.0, cfi, tli, rmsea,
                    rmsea_ci, _srmr(prepared, implied, total), lam, nu, theta, phi, kappa, converged,
                    baseline_chisq, baseline_df)


def _cfi(chisq: float, df: int, baseline_chisq: float, baseline_df: int) -> float:
    model = max(chisq - df, 0.0)
    denominator = max(baseline_chisq - baseline_df, model, 0.0)
    return 1.0 if denominator == 0 else float(1.0 - model / denominator)


@dataclass(frozen=True)
class _Prepared(GroupMoments):
    log_det_s: float = 0.0


def _with_log_det(moments: GroupMoments) -> _Prepared:
    sign, log_det = np.linalg.slogdet(moments.cov)
    if sign <= 0:
        raise ValueError(f"group '{moments.label}': the items' covariance matrix is singular")
    return _Prepared(moments.label, moments.n, moments.mean, moments.cov, float(log_det))


# --------------------------------------------------------------------------- the verdict


def chen_cutoffs(total: int) -> tuple[float, float, float, float]:
    return CHEN_SMALL if total <= CHEN_SMALL_N else CHEN_LARGE


def _level_holds(fit: LevelFit, previous: LevelFit, total: int) -> bool:
    cfi_cut, rmsea_cut, srmr_metric, srmr_scalar = chen_cutoffs(total)
    srmr_cut = srmr_metric if fit.level == "metric" else srmr_scalar
    worse = (fit.cfi - previous.cfi <= cfi_cut
             and (fit.rmsea - previous.rmsea >= rmsea_cut or fit.srmr - previous.srmr >= srmr_cut))
    return not worse


def _rounded(values: NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _part(fit: LevelFit, previous: LevelFit | None, holds: bool, labels: Sequence[str]) -> InvarianceFit:
    delta = {}
    if previous is not None:
        delta_chisq, delta_df = fit.chisq - previous.chisq, fit.df - previous.df
        delta = {"delta_chisq": delta_chisq, "delta_df": delta_df,
                 "delta_p_value": float(stats.chi2.sf(max(delta_chisq, 0.0), delta_df)),
                 "delta_cfi": fit.cfi - previous.cfi, "delta_rmsea": fit.rmsea - previous.rmsea,
                 "delta_srmr": fit.srmr - previous.srmr}
    return InvarianceFit(
        level=fit.level, chisq=fit.chisq, df=fit.df, p_value=fit.p_value, cfi=fit.cfi, tli=fit.tli,
        rmsea=fit.rmsea, rmsea_ci=fit.rmsea_ci, srmr=fit.srmr, **delta, holds=holds, converged=fit.converged,
        loadings={label: _rounded(fit.loadings[g]) for g, label in enumerate(labels)},
        intercepts={label: _rounded(fit.intercepts[g]) for g, label in enumerate(labels)},
        factor_means={label: float(fit.factor_means[g]) for g, label in enumerate(labels)})


#: Fitted invariance records kept in memory, keyed on the exact moments they were fitted to (``_moments_key``).
#: A run builds each index twice (the testability check, then the estimate) and several hypotheses share an index
#: on the same data (h1, h6 and h7a of the demo): the ML fits are the same function of the same numbers, so they
#: are fitted once. Bounded (least recently used out) so that a long-lived process does not grow.
INVARIANCE_CACHE_SIZE = 32
_fitted: OrderedDict[str, MeasurementInvariance] = OrderedDict()
_fitted_lock = threading.Lock()


def _moments_key(groups: Sequence[GroupMoments], item_names: Sequence[str], note: str | None) -> str:
    """SHA-256 of everything ``invariance_from_moments`` reads: labels, n, the exact bytes of means and
    covariances, item names and the note."""
    digest = hashlib.sha256()
    for part in (*item_names, "\x1e", note or "", "\x1e"):
        digest.update(part.encode() + b"\x1f")
    for m in groups:
        digest.update(f"{m.label}\x1f{m.n}\x1f{m.mean.shape}{m.cov.shape}".encode())
        digest.update(np.ascontiguousarray(m.mean, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(m.cov, dtype=np.float64).tobytes())
    return digest.hexdigest()


def invariance_from_moments(groups: Sequence[GroupMoments], item_names: Sequence[str], *,
                            note: str | None = None) -> MeasurementInvariance:
    """Configural, metric and scalar fits, the Chen (2007) decisions and the verdict. The same moments give the
    same (frozen) record, fitted once per process while it stays among the last ``INVARIANCE_CACHE_SIZE``."""
    key = _moments_key(groups, item_names, note)
    with _fitted_lock:
        if key in _fitted:
            _fitted.move_to_end(key)
            return _fitted[key]
    found = _fit_invariance(groups, item_names, note=note)
    with _fitted_lock:
        _fitted[key] = found
        while len(_fitted) > INVARIANCE_CACHE_SIZE:
            _fitted.popitem(last=False)
    return found


def _fit_invariance(groups: Sequence[GroupMoments], item_names: Sequence[str], *,
                    note: str | None = None) -> MeasurementInvariance:
    total = sum(m.n for m in groups)
    labels = [m.label for m in groups]
    fits = [fit_level(level, groups) for level in LEVELS]
    stuck = [fit.level for fit in fits if not fit.converged]
    if stuck:
        return MeasurementInvariance(
            groups=tuple(labels), group_n=tuple(m.n for m in groups), item_names=tuple(item_names),
            method=METHOD, criterion=CRITERION,
            note=f"the ML fit did not converge ({', '.join(stuck)}): no verdict" + (f"; {note}" if note else ""))
    configural_ok = fits[0].cfi >= CONFIGURAL_MIN_CFI
    metric_ok = configural_ok and _level_holds(fits[1], fits[0], total)
    scalar_ok = metric_ok and _level_holds(fits[2], fits[1], total)
    verdict = "comparable" if scalar_ok else "only metric" if metric_ok else "not comparable"
    parts = (_part(fits[0], None, configural_ok, labels), _part(fits[1], fits[0], metric_ok, labels),
             _part(fits[2], fits[1], scalar_ok, labels))
    partial = None
    if metric_ok and not scalar_ok:
        partial = _partial_scalar(groups, fits[1], item_names, labels, total)
    return MeasurementInvariance(
        groups=tuple(labels), group_n=tuple(m.n for m in groups), item_names=tuple(item_names), levels=parts,
        verdict=verdict, comparable_means=scalar_ok, warning=warning_for(verdict, partial), partial_scalar=partial,
        criterion=CRITERION, cutoffs=chen_cutoffs(total), method=METHOD, note=note)


def _partial_scalar(groups: Sequence[GroupMoments], metric: LevelFit, item_names: Sequence[str],
                    labels: Sequence[str], total: int) -> InvarianceFit | None:
    """The scalar model with the one item's intercepts freed that fits best (Byrne, Shavelson & Muthen 1989):
    which item drives the intercept difference, and whether the rest of the index is then scalar-invariant."""
    p = len(item_names)
    if p < 3:
        return None
    fits = [fit_level("scalar", groups, free_intercepts=(j,)) for j in range(p)]
    best = min(range(p), key=lambda j: fits[j].chisq)
    fit = fits[best]
    if not fit.converged:
        return None
    part = _part(fit, metric, _level_holds(fit, metric, total), labels)
    return InvarianceFit.from_dict({**part.to_dict(), "level": "partial scalar", "free_intercept": item_names[best]})


def warning_for(verdict: str | None, partial: InvarianceFit | None = None) -> str | None:
    if verdict == "only metric":
        text = ("the index is not scalar-invariant across arms and waves (item intercepts differ): its mean "
                "differences, and the effect estimated from them, may reflect item functioning rather than the "
                "construct; compare associations, not means")
        if partial is not None and partial.holds:
            text += (f"; the intercepts of item '{partial.free_intercept}' differ most, and with them free the other "
                     "items are scalar-invariant (partial invariance): an index without that item could be compared")
        return text
    if verdict == "not comparable":
        return ("the index does not measure the same construct across arms and waves (configural fit poor or "
                "loadings differ): its mean differences and associations are not comparable")
    return None


def measurement_invariance(items: NDArray[np.float64], groups: Sequence[str] | NDArray[np.str_],
                           item_names: Sequence[str], *, order: Sequence[str] | None = None,
                           note: str | None = None) -> MeasurementInvariance:
    """Multi-group CFA invariance of ``items`` (rows: respondents, NaN: unanswered) across ``groups``' labels.

    Complete cases only, as for reliability. Groups with fewer than MIN_GROUP_N complete answers are left out (named
    in the note). Returns a part with a ``note`` and no levels when an item has no variation in a group, or there
    are fewer than 3 items or fewer than 2 groups left.
    """
    labels = np.asarray(groups, dtype=object)
    complete = ~np.isnan(items).any(axis=1)
    wanted = list(order) if order is not None else sorted({str(v) for v in labels[complete]})
    present = [g for g in wanted if (complete & (labels == g)).any()]
    base = {"item_names": tuple(item_names), "method": METHOD, "criterion": CRITERION}
    if items.shape[1] < 3:
        return MeasurementInvariance(**base, note="fewer than 3 items: a one-factor model cannot be tested")
    if len(present) < 2:
        return MeasurementInvariance(**base, note="fewer than 2 groups with complete answers")
    small = [g for g in present if (complete & (labels == g)).sum() < MIN_GROUP_N]
    if small:  # e.g. the few comparison-arm participants of a knowledge test: test the groups that have answers
        present = [g for g in present if g not in small]
        left_out = (f"left out, fewer than {MIN_GROUP_N} complete answers (the verdict does not cover them): "
                    + ", ".join(f"'{g}'" for g in small))
        note = left_out if note is None else f"{left_out}; {note}"
    if len(present) < 2:
        return MeasurementInvariance(
            **base, note=f"fewer than 2 groups with {MIN_GROUP_N} or more complete answers: not tested")
    blocks = [items[complete & (labels == g)] for g in present]
    if any(not np.all(block.var(axis=0) > 0) for block in blocks):
        return MeasurementInvariance(**base, groups=tuple(present), note="an item has no variation in a group")
    moments = [GroupMoments.of(g, block) for g, block in zip(present, blocks, strict=True)]
    try:
        return invariance_from_moments(moments, item_names, note=note)
    except (ValueError, np.linalg.LinAlgError):
        return MeasurementInvariance(**base, groups=tuple(present),
                                     note="a group's item covariance matrix is singular (an item copies others)")
