"""Outcome construction: turn a source's columns into the registered outcome, never touching the input frame.

Index methods (``outcome.construction.method``), all on the same items, reverse-coding and ``min_items`` rule:

- ``mean``: the mean of a respondent's answered items after reverse-coding (``(low + high) - x`` on ``scale``).
- ``zscore`` (Kling, Liebman & Katz 2007): each item as a z-score against the *reference group*, the comparison arm
  (``design.treatment == 0``) at the pre wave (``design.pre``); reverse-coded items change sign; the mean of a
  respondent's answered z-scores; then the index itself is standardized against the reference group again, so it
  is in SD units of the comparison arm at baseline.
- ``icw`` (Anderson 2008): the same z-scores, weighted by ``w = Sigma^{-1} 1`` (row sums of the inverse covariance of
  the z-scores in the reference group, complete cases), i.e. the GLS estimate of a common mean; missing items drop
  out with their weights; re-standardized like ``zscore``. Weights come from the reference group so that treatment
  cannot change them. Highly correlated items get less weight; a weight can be negative (Anderson's method allows it).

All statistics use SD with ddof = 1. Reliability is reported per wave for every index: Cronbach's alpha with the
Feldt (1965) F-based CI, and McDonald's omega (one-factor maximum likelihood; omega = (sum l)^2 / ((sum l)^2 +
sum psi)) with a percentile bootstrap CI over respondents (seeded). Both use the items as the index combines them
(reverse-coded raw items for ``mean``, signed z-scores for ``zscore``/``icw``) and complete cases.

Beside reliability, every index with a design is tested for measurement invariance across its arm x wave groups
(``measurement.py``: configural, metric and scalar multi-group CFA), on the same items; the per-item linear
standardization of ``zscore``/``icw`` is the same in every group, so it changes no fit statistic or verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ._blas import small_blas
from .errors import DataError, SpecError
from .measurement import measurement_invariance
from .results.parts import MeasurementInvariance
from .spec import Construction, Design

RELIABILITY_DRAWS = 1000
RELIABILITY_SEED = 20260307


@dataclass(frozen=True)
class BuiltOutcome:
    values: pd.Series
    n_missing: int
    n_too_few_items: int
    reliability: tuple[dict[str, Any], ...] = ()
    index: dict[str, Any] = field(default_factory=dict)
    invariance: MeasurementInvariance | None = None


def numeric_column(df: pd.DataFrame, column: str, *, file: str) -> pd.Series:
    """The column as float64; non-numeric cells are an error (counted, never shown)."""
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    if pd.api.types.is_numeric_dtype(raw):
        return pd.to_numeric(raw).astype("float64")
    converted = pd.to_numeric(raw, errors="coerce")
    bad = int((converted.isna() & raw.notna()).sum())
    if bad:
        raise DataError(f"{bad} non-numeric value{'s' if bad != 1 else ''} where numbers are expected",
                        file=file, column=column, fix="recode text answers to numbers or declare them missing")
    return converted.astype("float64")


@small_blas
def build_outcome(df: pd.DataFrame, construction: Construction, *, file: str,
                  function: Callable[[pd.DataFrame], pd.Series] | None = None, design: Design | None = None,
                  reliability_seed: int = RELIABILITY_SEED, reliability_draws: int = RELIABILITY_DRAWS) -> BuiltOutcome:
    if construction.method == "column":
        values = numeric_column(df, construction.column or "", file=file)
        return BuiltOutcome(values, int(values.isna().sum()), 0)
    if construction.method == "function":
        if function is None:
            raise SpecError("analysis function was not resolved", field="outcome.construction.function")
        result = function(df.copy())
        if not isinstance(result, pd.Series) or len(result) != len(df):
            raise DataError(f"analysis function {construction.function} must return a Series with one value per "
                            "row", file=file, fix="fix the function in analysis/")
        values = pd.to_numeric(result, errors="coerce").astype("float64")
        values.index = df.index
        return BuiltOutcome(values, int(values.isna().sum()), 0)
    return _build_index(df, construction, file=file, design=design, seed=reliability_seed, draws=reliability_draws)


def _items(df: pd.DataFrame, construction: Construction, *, file: str) -> pd.DataFrame:
    items = pd.DataFrame({c: numeric_column(df, c, file=file) for c in construction.items}, index=df.index)
    if construction.scale is not None:
        low, high = construction.scale
        outside = (items < low) | (items > high)
        if outside.to_numpy().any():
            column = str(outside.sum().idxmax())
            count = int(outside.to_numpy().sum())
            raise DataError(f"{count} value{'s' if count != 1 else ''} outside the registered scale "
                            f"[{low:g}, {high:g}]", file=file, column=column,
                            fix="recode or set out-of-range answers to missing")
    return items


def _reference_rows(df: pd.DataFrame, design: Design | None, method: str, *, file: str) -> NDArray[np.bool_]:
    if design is None or design.pre is None:
        raise SpecError(f"index method '{method}' standardizes against the comparison arm at the pre wave, so it "
                        "needs design.pre and design.treatment", field="outcome.construction.method",
                        fix="register design.pre (the baseline wave label) or use method: mean")
    treated = numeric_column(df, design.treatment, file=file)
    wave = df[design.time].astype("string")
    reference = ((treated == 0) & (wave == design.pre)).fillna(False).to_numpy(dtype=bool)
    if reference.sum() < 2:
        raise DataError(f"index method '{method}' needs the comparison arm at the pre wave ('{design.pre}') as its "
                        f"reference group, but {int(reference.sum())} row(s) belong to it", file=file,
                        column=design.treatment, fix="check the treatment and wave columns, or use method: mean")
    return reference


def _standardize(values: NDArray[np.float64], reference: NDArray[np.bool_], *, what: str, file: str,
                 column: str | None) -> tuple[NDArray[np.float64], float, float]:
    sample = values[reference & ~np.isnan(values)]
    if sample.size < 2:
        raise DataError(f"{what}: fewer than 2 answers in the reference group (comparison arm, pre wave)",
                        file=file, column=column, fix="check the item or drop it from the index")
    mean, sd = float(sample.mean()), float(sample.std(ddof=1))
    if not sd > 0:
        raise DataError(f"{what}: no variation in the reference group (comparison arm, pre wave), so it cannot "
                        "be standardized", file=file, column=column, fix="drop the item from the index")
    return (values - mean) / sd, mean, sd


def _build_index(df: pd.DataFrame, construction: Construction, *, file: str, design: Design | None, seed: int,
                 draws: int) -> BuiltOutcome:
    items = _items(df, construction, file=file)
    method = construction.method
    needed = construction.min_items or 1
    answered = items.notna().sum(axis=1).to_numpy()
    too_few = answered < needed
    info: dict[str, Any] = {"method": method, "min_items": needed}
    if method == "mean":
        if construction.scale is not None:
            low, high = construction.scale
            for col in construction.reverse:
                items[col] = (low + high) - items[col]
        combined = items.to_numpy(dtype=np.float64)
        values = np.where(too_few, np.nan, items.mean(axis=1, skipna=True).to_numpy(dtype=np.float64))
    else:
        reference = _reference_rows(df, design, method, file=file)
        z = np.empty(items.shape)
        centres, spreads = {}, {}
        for j, col in enumerate(construction.items):
            z[:, j], centres[col], spreads[col] = _standardize(items[col].to_numpy(dtype=np.float64), reference,
                                                               what=f"item '{col}'", file=file, column=col)
            if col in construction.reverse:
                z[:, j] = -z[:, j]
        answered_mask = ~np.isnan(z)
        if method == "zscore":
            weights = np.ones(z.shape[1])
        else:
            weights = _icw_weights(z[reference], file=file, items=construction.items)
        weighted = np.where(answered_mask, z * weights, 0.0).sum(axis=1)
        total_weight = np.where(answered_mask, weights, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = weighted / total_weight
        raw = np.where(too_few, np.nan, raw)
        values, index_mean, index_sd = _standardize(raw, reference, what=f"the {method} index", file=file,
                                                    column=None)
        assert design is not None  # _reference_rows checked it
        info.update({"reference_group": f"{design.treatment} == 0 at {design.time} == '{design.pre}'",
                     "item_means": centres, "item_sds": spreads, "index_mean": index_mean, "index_sd": index_sd,
                     "weights": dict(zip(construction.items, map(float, weights / weights.sum()), strict=True))})
        combined = z
    series = pd.Series(values, index=df.index, dtype="float64")
    reliability = _reliability_by_wave(df, combined, design, construction, seed=seed, draws=draws)
    invariance = _invariance_by_arm_and_wave(df, combined, design, construction)
    return BuiltOutcome(series, int(series.isna().sum()), int((too_few & (answered > 0)).sum()), reliability, info,
                        invariance)


def _icw_weights(z_reference: NDArray[np.float64], *, file: str, items: tuple[str, ...]) -> NDArray[np.float64]:
    complete = z_reference[~np.isnan(z_reference).any(axis=1)]
    if complete.shape[0] <= complete.shape[1]:
        raise DataError(f"the icw index needs more complete answers in the reference group than items "
                        f"({complete.shape[0]} <= {complete.shape[1]})", file=file, column=items[0],
                        fix="use method: zscore")
    covariance = np.cov(complete, rowvar=False, ddof=1)
    try:
        inverse = np.linalg.inv(covariance)
    except np.linalg.LinAlgError:
        raise DataError("the icw index's item covariance is singular in the reference group (an item is a copy "
                        "of others)", file=file, column=items[0], fix="drop the redundant item or use zscore") from None
    weights = inverse.sum(axis=1)
    if not weights.sum() > 0:
        raise DataError("the icw weights sum to zero or less", file=file, column=items[0], fix="use method: zscore")
    return weights


# --------------------------------------------------------------------------- reliability


def cronbach_alpha(items: NDArray[np.float64]) -> float:
    """Cronbach's alpha of complete cases (rows) over items (columns)."""
    k = items.shape[1]
    item_var = items.var(axis=0, ddof=1).sum()
    total_var = items.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1.0 - item_var / total_var))


def feldt_interval(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt (1965): (1 - alpha) / (1 - alpha_hat) ~ F(n - 1, (n - 1)(k - 1))."""
    tail = (1.0 - level) / 2.0
    dfn, dfd = n - 1, (n - 1) * (k - 1)
    return (float(1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - tail, dfn, dfd)),
            float(1.0 - (1.0 - alpha) * stats.f.ppf(tail, dfn, dfd)))


@small_blas
def one_factor_ml(covariances: NDArray[np.float64], *, iterations: int = 5000, tol: float = 1e-12,
                  start: NDArray[np.float64] | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Maximum-likelihood one-factor loadings and uniquenesses for one (p, p) or a batch (B, p, p) of matrices.

    The ML fixed point (Joreskog 1967): for given uniquenesses psi, the loadings are
    ``psi^(1/2) u sqrt(theta - 1)`` with (theta, u) the leading eigenpair of ``psi^(-1/2) S psi^(-1/2)``; then
    ``psi = diag(S - l l')``, kept above a small floor (Heywood cases).
    """
    s = np.asarray(covariances, dtype=np.float64)
    single = s.ndim == 2
    if single:
        s = s[None]
    diag = np.einsum("bii->bi", s)
    psi = diag * 0.5 if start is None else np.broadcast_to(start, diag.shape).copy()
    floor = diag * 1e-6
    loadings = np.zeros_like(diag)
    u = np.linalg.eigh(s / np.sqrt(psi)[:, :, None] / np.sqrt(psi)[:, None, :])[1][:, :, -1]
    active = np.arange(s.shape[0])  # only matrices that have not converged are iterated
    for _ in range(iterations):
        root = np.sqrt(psi[active])
        scaled = s[active] / root[:, :, None] / root[:, None, :]
        vector = u[active]
        for _ in range(2):  # warm-started power steps: the leading eigenvector moves little per iteration
            vector = (scaled @ vector[:, :, None])[:, :, 0]
            vector /= np.sqrt((vector * vector).sum(axis=1, keepdims=True))
        theta = (vector * (scaled @ vector[:, :, None])[:, :, 0]).sum(axis=1)
        current = root * vector * np.sqrt(np.clip(theta - 1.0, 0.0, None))[:, None]
        new_psi = np.maximum(diag[active] - current**2, floor[active])
        change = np.max(np.abs(new_psi - psi[active]), axis=1)
        psi[active], u[active], loadings[active] = new_psi, vector, current
        active = active[change >= tol]
        if active.size == 0:
            break
    # Eigenvectors have an arbitrary sign; report loadings that mostly point the positive way.
    flip = np.where(loadings.sum(axis=1) < 0, -1.0, 1.0)
    loadings = loadings * flip[:, None]
    return (loadings[0], psi[0]) if single else (loadings, psi)


def mcdonald_omega(loadings: NDArray[np.float64], uniquenesses: NDArray[np.float64]) -> NDArray[np.float64] | float:
    common = loadings.sum(axis=-1) ** 2
    result = common / (common + uniquenesses.sum(axis=-1))
    return float(result) if np.ndim(result) == 0 else result


# Pattern x draw count blocks are capped at ~16M floats (128 MB) when answers rarely repeat (continuous items).
_PATTERN_BLOCK_ELEMENTS = 16_000_000
# Row picks are drawn ~4M at a time (16 MB of int32), so they are still in cache when gathered: 100 x n at once was
# 400 MB per block at 1M rows, written to memory and read back, and 2-4x slower per pick on a busy machine.
_PICK_BLOCK_ELEMENTS = 4_000_000


def _resample_picks(rng: np.random.Generator, n: int, draws: int) -> Iterator[NDArray[np.integer]]:
    """Each draw's n row picks, in order: the values ``rng.integers(0, n, (100, n))`` blocks gave. numpy's bounded
    integers take the bit stream one value at a time whatever the requested shape, so drawing a few rows of picks
    per call changes no pick (tests compare with the 100-row blocks). int32 picks are the same draws as int64
    ones (bounds below 2^32 are drawn in 32 bits either way) at half the memory."""
    per_call = max(1, _PICK_BLOCK_ELEMENTS // max(n, 1))
    dtype = np.int32 if n < 2**31 else np.int64
    done = 0
    while done < draws:
        block = rng.integers(0, n, (min(per_call, draws - done), n), dtype=dtype)
        done += block.shape[0]
        yield from block


def _bootstrap_covariances(complete: NDArray[np.float64], rng: np.random.Generator, draws: int,
                           ) -> NDArray[np.float64]:
    """Covariance of each bootstrap resample of rows, from resampling counts (never a draws x n x k copy).

    Same RNG stream as drawing the index blocks of 100 x n directly; each resample's covariance is
    sum_i c_i (x_i - m)(x_i - m)' / (n - 1) with c_i the times row i was drawn, computed on data centred at the
    full-sample mean so the one-pass formula does not cancel. Rows with the same answers (Likert items: at most
    5^k patterns) enter once, weighted by how often the draw picked any of them, so a draw costs one pass over
    its picks plus a (patterns x k^2) product instead of an n x k one.
    """
    n, k = complete.shape
    mean = complete.mean(axis=0)
    patterns, pattern_of = np.unique(complete, axis=0, return_inverse=True)
    # Narrow integers: each draw gathers n of them at random, and a 2 MB table stays in cache where 8 MB did not.
    pattern_of = pattern_of.ravel().astype(np.min_scalar_type(max(patterns.shape[0] - 1, 0)))
    centred = patterns - mean  # the same bits as centring each row: identical rows, identical subtraction
    products = (centred[:, :, None] * centred[:, None, :]).reshape(-1, k * k)
    n_patterns = patterns.shape[0]
    rows_per_product = max(1, _PATTERN_BLOCK_ELEMENTS // n_patterns)
    covs = np.empty((draws, k, k))
    picked = np.empty(n, dtype=pattern_of.dtype)  # one draw's patterns, reused: np.take into it is ~1.5x indexing
    picks = _resample_picks(rng, n, draws)
    for start in range(0, draws, 100):  # blocks of 100 draws, products in the same shapes as before (same bits)
        in_block = min(100, draws - start)
        for first in range(0, in_block, rows_per_product):
            counts = np.empty((min(rows_per_product, in_block - first), n_patterns))
            for row in range(counts.shape[0]):
                counts[row] = np.bincount(np.take(pattern_of, next(picks), out=picked), minlength=n_patterns)
            shift = (counts @ centred) / n
            cross = (counts @ products).reshape(-1, k, k)
            at = start + first
            covs[at:at + counts.shape[0]] = (cross - n * shift[:, :, None] * shift[:, None, :]) / (n - 1)
    return covs


@small_blas
def reliability(items: NDArray[np.float64], *, level: float = 0.95, draws: int = RELIABILITY_DRAWS,
                seed: int = RELIABILITY_SEED) -> dict[str, Any]:
    """Alpha (Feldt CI) and omega (bootstrap percentile CI) of complete cases."""
    complete = items[~np.isnan(items).any(axis=1)]
    n, k = complete.shape
    record: dict[str, Any] = {"n": int(n), "items": int(k)}
    if n < 3 or k < 2 or not np.all(complete.var(axis=0, ddof=1) > 0):
        record["note"] = "too few complete answers or an item without variation"
        return record
    alpha = cronbach_alpha(complete)
    loadings, psi = one_factor_ml(np.cov(complete, rowvar=False, ddof=1))
    omega = mcdonald_omega(loadings, psi)
    rng = np.random.default_rng(seed)
    covs = _bootstrap_covariances(complete, rng, draws)
    # Bootstrap fits start from the full-sample solution, which is close: 300 iterations give omega to about 1e-7.
    boot_loadings, boot_psi = one_factor_ml(covs, iterations=300, tol=1e-7, start=psi)
    boot_omega = np.asarray(mcdonald_omega(boot_loadings, boot_psi))
    tail = (1.0 - level) / 2.0
    record.update({
        "alpha": alpha, "alpha_ci": list(feldt_interval(alpha, n, k, level)),
        "omega": float(omega),
        "omega_ci": [float(np.quantile(boot_omega, tail)), float(np.quantile(boot_omega, 1.0 - tail))],
        "loadings": [float(v) for v in loadings], "ci_level": level,
        "method": "alpha: Cronbach, Feldt F interval; omega: one-factor ML, percentile bootstrap over respondents",
        "draws": draws, "seed": seed,
    })
    return record


def _reliability_by_wave(df: pd.DataFrame, combined: NDArray[np.float64], design: Design | None,
                         construction: Construction, *, seed: int, draws: int) -> tuple[dict[str, Any], ...]:
    if design is None or design.time not in df.columns:
        waves = [("all rows", np.ones(len(df), dtype=bool))]
    else:
        labels = df[design.time].astype("string")
        ordered = [w for w in (design.pre, design.post) if w is not None]
        ordered += sorted(set(labels.dropna().unique()) - set(ordered))
        waves = [(str(w), (labels == w).fillna(False).to_numpy(dtype=bool)) for w in ordered]
    records = []
    for wave, rows in waves:
        if not rows.any():
            continue
        record = {"wave": wave, **reliability(combined[rows], draws=draws, seed=seed),
                  "threshold": construction.reliability_threshold}
        below = [name for name in ("alpha", "omega") if record.get(name) is not None
                 and record[name] < construction.reliability_threshold]
        record["below_threshold"] = below
        records.append(record)
    return tuple(records)


# --------------------------------------------------------------------------- measurement invariance


def _arm_label(value: float, column: str) -> str:
    return {0.0: "comparison", 1.0: "treated"}.get(value, f"{column} = {value:g}")


def _invariance_by_arm_and_wave(df: pd.DataFrame, combined: NDArray[np.float64], design: Design | None,
                                construction: Construction) -> MeasurementInvariance | None:
    """Multi-group CFA across arm x wave (arm alone for a single wave); None without a design to group by."""
    if design is None or design.treatment not in df.columns:
        return None
    # Coerced, not checked: a treatment column the estimator cannot read is its error to report, not this test's.
    arm = pd.to_numeric(df[design.treatment], errors="coerce").to_numpy(dtype=np.float64)
    arms = sorted(set(arm[~np.isnan(arm)].tolist()))
    has_waves = design.time in df.columns
    wave = df[design.time].astype("string").to_numpy(dtype=object, na_value=None) if has_waves else None
    waves = [w for w in (design.pre, design.post) if w is not None] if has_waves else []
    if wave is not None:
        waves += sorted({w for w in wave if w is not None} - set(waves))
    labels = np.full(len(df), "", dtype=object)
    order = []
    for a in arms:
        for w in waves or [None]:
            label = _arm_label(a, design.treatment) + (f", {w}" if w is not None else "")
            rows = (arm == a) & ((wave == w) if w is not None and wave is not None else True)
            labels[rows] = label
            order.append(label)
    note = None
    if has_waves and design.unit in df.columns:
        units = df[design.unit].astype("string").to_numpy(dtype=object, na_value=None)
        per_unit = pd.Series(wave).groupby(units, dropna=True).nunique()
        if (per_unit > 1).any():
            note = ("the same respondents answer in several waves: the multi-group model treats the waves as "
                    "independent samples, so chi-square statistics and p-values are approximate (the change "
                    "criteria are descriptive); a longitudinal CFA with correlated item residuals is not done")
    return measurement_invariance(combined, labels, construction.items, order=order, note=note)
