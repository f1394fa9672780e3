"""Attrition in a baseline/endline panel: who left, whether it differs by arm, and bounds on the effect.

Units are those with an answered outcome at the pre wave; a *leaver* has no answered outcome at the post wave.

- **Differential attrition**: ``leaver = c + d * treated``, clustered; d is the difference in attrition rates and
  its test follows the hypothesis' registered inference rule (few-cluster rule included), two-sided.
- **Balance of stayers and leavers by arm**: pre-wave means of the outcome and each numeric covariate for treated
  stayers, treated leavers, comparison stayers and comparison leavers, with the p-value of the treated x leaver
  interaction (does attrition select differently by arm?).
- **Lee (2009) bounds** for the effect on units that would answer in either arm. The arm that keeps more units is
  trimmed by ``p = (q_more - q_less) / q_more`` of its observed outcomes from the top (lower bound) or the bottom
  (upper bound), with fractional weight at the cut (ties are common in Likert indices). The outcome is the one the
  estimator compares: the change ``post - pre`` for panel DiD and change scores, the post outcome for ANCOVA (whose
  baseline adjustment the bounds do not make; the record says so). The interval is Imbens & Manski's (2004) for
  the identified set, with the bounds' standard errors from a cluster bootstrap stratified by arm (seeded).

Everything is computed on raw counts; small cells are suppressed afterwards (summarize/_disaggregate.py) before any
of it leaves the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, stats

from ..results.parts import Attrition
from ..spec import HypothesisSpec
from ._inference import regression_inference
from ._linalg import fit_within
from ._survey_frame import cluster_codes

LEE_DRAWS = 999


def _two_sided(spec: HypothesisSpec) -> HypothesisSpec:
    inference = spec.inference.model_copy(update={"tails": "two", "randomization": None})
    return spec.model_copy(update={"direction": "any", "inference": inference})


def _regression_test(y: NDArray[np.float64], x: NDArray[np.float64], index: int, clusters: NDArray[Any] | None,
                     spec: HypothesisSpec) -> dict[str, Any]:
    labels, codes = cluster_codes(clusters) if clusters is not None else (None, None)
    try:
        fit = fit_within(y, x, fixed_effects=[], clusters=codes)
        primary = regression_inference(fit, index, _two_sided(spec), cluster_labels=labels, null_draws=False)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return {"error": str(exc)}
    return {"estimate": float(fit.params[index]), "std_error": primary.std_error, "ci_low": primary.ci_low,
            "ci_high": primary.ci_high, "p_value": primary.p_value_two_sided, "inference": primary.se_type,
            "rule_fired": bool(primary.record["rule"].get("fired"))}


def _trimmed_means(values: NDArray[np.float64], weights: NDArray[np.float64], share: NDArray[np.float64], *,
                   top: bool) -> NDArray[np.float64]:
    """Weighted means after removing ``share`` of the weight from the top (or bottom), fractionally at the cut.

    ``weights`` is (B, m), one row per bootstrap draw (or a single row); ``share`` is (B,).
    """
    order = np.argsort(values, kind="stable")
    if top:
        order = order[::-1]
    v, w = values[order], np.atleast_2d(weights)[:, order]
    remove = np.asarray(share, dtype=np.float64).reshape(-1, 1) * w.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(w, axis=1)
    removed = np.clip(remove - (cumulative - w), 0.0, w)  # weight removed from each value, in trimming order
    kept = w - removed
    return (kept @ v) / kept.sum(axis=1)


def _trimmed_mean(values: NDArray[np.float64], weights: NDArray[np.float64], share: float, *, top: bool) -> float:
    return float(_trimmed_means(values, weights, np.array([share]), top=top)[0])


def _lee_batch(outcome: NDArray[np.float64], stays: NDArray[np.bool_], treated: NDArray[np.bool_],
               weights: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                                                      NDArray[np.bool_]]:
    """Lower and upper bounds, trimming share and trimmed arm (True: treated) for each row of ``weights`` (B, n)."""
    w = np.atleast_2d(weights)
    retained = {arm: (w[:, stays & (treated == arm)].sum(axis=1) / w[:, treated == arm].sum(axis=1))
                for arm in (True, False)}
    treated_more = retained[True] >= retained[False]
    lower, upper = np.empty(w.shape[0]), np.empty(w.shape[0])
    share = np.empty(w.shape[0])
    for more in (True, False):
        rows = treated_more == more
        if not rows.any():
            continue
        q_more, q_less = retained[more][rows], retained[not more][rows]
        share[rows] = np.where(q_more > 0, (q_more - q_less) / np.where(q_more > 0, q_more, 1.0), 0.0)
        trimmed = stays & (treated == more)
        other = stays & (treated != more)
        other_mean = (w[rows][:, other] @ outcome[other]) / w[rows][:, other].sum(axis=1)
        low_mean = _trimmed_means(outcome[trimmed], w[rows][:, trimmed], share[rows], top=True)
        high_mean = _trimmed_means(outcome[trimmed], w[rows][:, trimmed], share[rows], top=False)
        if more:  # treated trimmed: effect = treated - comparison
            lower[rows], upper[rows] = low_mean - other_mean, high_mean - other_mean
        else:  # comparison trimmed: trimming the top of the comparison arm raises the effect
            lower[rows], upper[rows] = other_mean - high_mean, other_mean - low_mean
    return lower, upper, share, treated_more


def _imbens_manski(lower: float, upper: float, se_lower: float, se_upper: float, level: float) -> tuple[float, float]:
    width = max(upper - lower, 0.0)
    spread = max(se_lower, se_upper)
    if not spread > 0:
        return lower, upper

    def gap(c: float) -> float:
        return float(stats.norm.cdf(c + width / spread) - stats.norm.cdf(-c) - level)

    critical = optimize.brentq(gap, 0.0, 10.0)
    return lower - critical * se_lower, upper + critical * se_upper


# ~16M float64 = 128 MB per (draws x units) block; the full block was draws x n (4 GB at 1M units, 499 draws).
LEE_CHUNK_ELEMENTS = 16_000_000
# Bootstrap weights are cluster counts, so each draw's trimmed mean needs only per-cluster prefix sums along the
# sorted outcome: (units + 1) x clusters floats per table, two tables at a time. Above this (or with more clusters
# than draws, where the tables cost more than the draws x units blocks) the block path runs.
LEE_PREFIX_ELEMENTS = 48_000_000  # e.g. 2M units x 24 clusters; the tables are per arm, so about half that


def _lee_bootstrap(values: NDArray[np.float64], stays: NDArray[np.bool_], treated: NDArray[np.bool_],
                   counts: NDArray[np.float64], groups: NDArray[Any], chunk_elements: int,
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Bootstrap bounds draw block by draw block, so memory stays bounded at any n."""
    rows_per_chunk = max(1, chunk_elements // max(values.size, 1))
    lows, highs, usables = [], [], []
    for start in range(0, counts.shape[0], rows_per_chunk):
        weights = counts[start:start + rows_per_chunk][:, groups]
        usable = ((weights[:, stays & treated].sum(axis=1) > 0) & (weights[:, stays & ~treated].sum(axis=1) > 0))
        if usable.any():
            low, high, _, _ = _lee_batch(values, stays, treated, weights[usable])
            lows.append(low)
            highs.append(high)
        usables.append(usable)
    empty = np.empty(0)
    return (np.concatenate(lows) if lows else empty, np.concatenate(highs) if highs else empty,
            np.concatenate(usables))


def _group_totals(groups: NDArray[np.intp], mask: NDArray[np.bool_], n_groups: int,
                  values: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    return np.bincount(groups[mask], weights=None if values is None else values[mask], minlength=n_groups)


def _cluster_trimmed_means(values: NDArray[np.float64], groups: NDArray[np.intp], counts: NDArray[np.float64],
                           share: NDArray[np.float64], *, top: bool) -> NDArray[np.float64]:
    """``_trimmed_means`` for weights ``counts[:, groups]`` without forming that draws x units matrix.

    Units are put in the same trimming order; ``held[j, g]`` counts cluster g's units among the first j and
    ``tail[j, g]`` sums their values from position j on. A draw's cumulative weight at j is ``counts @ held[j]``
    (integers, exact), so the cut is found by bisection and the kept mean is ``counts @ tail[cut + 1]`` plus the
    fractional unit at the cut: O(units x clusters) once, O(draws x clusters x log units) per draw block.
    """
    order = np.argsort(values, kind="stable")
    if top:
        order = order[::-1]
    v, g = values[order], groups[order]
    m, n_groups = v.size, counts.shape[1]
    positions = np.arange(1, m + 1)
    held = np.zeros((m + 1, n_groups))
    held[positions, g] = 1.0
    np.cumsum(held, axis=0, out=held)
    tail = np.zeros((m + 1, n_groups))
    tail[positions - 1, g] = v
    tail = np.cumsum(tail[::-1], axis=0)[::-1]
    total = counts @ held[m]
    remove = share * total
    low, high = np.zeros(counts.shape[0], dtype=np.intp), np.full(counts.shape[0], m, dtype=np.intp)
    while True:  # first unit whose cumulative weight exceeds the weight to remove (m: none)
        searching = low < high
        if not searching.any():
            break
        mid = (low + high) // 2
        above = np.einsum("bg,bg->b", counts, held[np.minimum(mid + 1, m)]) > remove
        high = np.where(searching & above, mid, high)
        low = np.where(searching & ~above, mid + 1, low)
    cut = np.minimum(low, m - 1)
    cumulative = np.einsum("bg,bg->b", counts, held[cut + 1])
    partial = np.where(low < m, cumulative - remove, 0.0)  # kept weight of the unit at the cut
    kept_sum = np.einsum("bg,bg->b", counts, tail[cut + 1]) + partial * v[cut]
    kept_weight = np.where(low < m, total - cumulative, 0.0) + partial
    with np.errstate(invalid="ignore", divide="ignore"):
        return kept_sum / kept_weight


def _lee_bootstrap_by_cluster(values: NDArray[np.float64], stays: NDArray[np.bool_], treated: NDArray[np.bool_],
                              counts: NDArray[np.float64], groups: NDArray[np.intp],
                              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """The same bounds as ``_lee_bootstrap`` from per-cluster totals: no draws x units matrix at all."""
    n_groups = counts.shape[1]
    kept = {arm: counts @ _group_totals(groups, stays & (treated == arm), n_groups) for arm in (True, False)}
    usable = (kept[True] > 0) & (kept[False] > 0)
    c = counts[usable]
    retained = {arm: kept[arm][usable] / (c @ _group_totals(groups, treated == arm, n_groups))
                for arm in (True, False)}
    treated_more = retained[True] >= retained[False]
    lower, upper = np.empty(c.shape[0]), np.empty(c.shape[0])
    for more in (True, False):
        rows = treated_more == more
        if not rows.any():
            continue
        q_more, q_less = retained[more][rows], retained[not more][rows]
        share = np.where(q_more > 0, (q_more - q_less) / np.where(q_more > 0, q_more, 1.0), 0.0)
        trimmed, other = stays & (treated == more), stays & (treated != more)
        other_mean = ((c[rows] @ _group_totals(groups, other, n_groups, values))
                      / (c[rows] @ _group_totals(groups, other, n_groups)))
        low_mean = _cluster_trimmed_means(values[trimmed], groups[trimmed], c[rows], share, top=True)
        high_mean = _cluster_trimmed_means(values[trimmed], groups[trimmed], c[rows], share, top=False)
        if more:
            lower[rows], upper[rows] = low_mean - other_mean, high_mean - other_mean
        else:
            lower[rows], upper[rows] = other_mean - high_mean, other_mean - low_mean
    return lower, upper, usable


def lee_bounds(outcome: NDArray[np.float64], stays: NDArray[np.bool_], treated: NDArray[np.bool_],
               clusters: NDArray[Any] | None, *, level: float, seed: int, draws: int = LEE_DRAWS,
               chunk_elements: int = LEE_CHUNK_ELEMENTS, prefix_elements: int = LEE_PREFIX_ELEMENTS,
               ) -> dict[str, Any]:
    """Lee bounds with an Imbens-Manski interval; ``outcome`` is NaN for leavers.

    ``chunk_elements`` caps the draws x units weight block held at once (memory, not results: every draw is
    computed on its own row, so the numbers do not depend on it). ``prefix_elements`` caps the per-cluster prefix
    tables of the by-cluster path (used when units x clusters fits and clusters <= draws; same numbers to
    rounding).
    """
    values = np.where(stays, outcome, 0.0)  # leavers carry zero weight in every mean below
    lower, upper, share, treated_more = (float(a[0]) if a.dtype != bool else bool(a[0])
                                         for a in _lee_batch(values, stays, treated, np.ones(outcome.size)))
    groups = cluster_codes(clusters)[1] if clusters is not None else np.arange(outcome.size)
    rng = np.random.default_rng(seed)
    arms_of_group = pd.Series(treated).groupby(groups).first().to_numpy()
    counts = np.zeros((draws, arms_of_group.size))
    for arm in (True, False):  # stratified by arm so both arms are always present
        ids = np.flatnonzero(arms_of_group == arm)
        picks = rng.integers(0, ids.size, (draws, ids.size))
        np.add.at(counts, (np.repeat(np.arange(draws), ids.size), ids[picks].ravel()), 1.0)
    if counts.shape[1] <= draws and (outcome.size + 1) * counts.shape[1] <= prefix_elements:
        low_b, high_b, usable = _lee_bootstrap_by_cluster(values, stays, treated, counts, groups)
    else:  # more clusters than draws (or none): units x clusters tables would cost more than draws x units blocks
        low_b, high_b, usable = _lee_bootstrap(values, stays, treated, counts, groups, chunk_elements)
    se_lower, se_upper = float(low_b.std(ddof=1)), float(high_b.std(ddof=1))
    ci_low, ci_high = _imbens_manski(lower, upper, se_lower, se_upper, level)
    return {"lower": lower, "upper": upper, "trim_share": share,
            "trimmed_arm": "treated" if treated_more else "comparison",
            "se_lower": se_lower, "se_upper": se_upper, "ci_low": ci_low, "ci_high": ci_high, "ci_level": level,
            "interval": "Imbens-Manski (2004) for the identified set; bound SEs from a cluster bootstrap "
                        "stratified by arm", "draws": int(usable.sum()), "seed": int(seed)}


def attrition_analysis(units: pd.DataFrame, spec: HypothesisSpec, *, outcome_kind: str,
                       covariates: tuple[str, ...] = ()) -> Attrition:
    """Raw (unsuppressed) attrition part from a unit table with y_pre, y_post, treated, cluster and covariates.

    ``outcome_kind``: "change" (post - pre) or "post" (the post outcome), the quantity the bounds are on.
    """
    base = units.loc[units["y_pre"].notna()].reset_index(drop=True)
    leaver = base["y_post"].isna().to_numpy()
    treated = base["treated"].to_numpy(dtype=np.float64)
    clusters = base["cluster"].to_numpy() if "cluster" in base else None
    arms: dict[str, dict[str, Any]] = {}
    for value, label in ((1.0, "treated"), (0.0, "comparison")):
        in_arm = treated == value
        total, left = int(in_arm.sum()), int((leaver & in_arm).sum())
        arms[label] = {"baseline_n": total, "stayers": total - left, "leavers": left,
                       "rate": left / total if total else None}
    record: dict[str, Any] = {"unit_of_count": "units with an answered pre-wave outcome", "by_arm": arms,
                              "leaver_definition": "no answered outcome at the post wave"}
    if min(a["baseline_n"] for a in arms.values()) == 0:
        record["note"] = "one arm has no units at the pre wave"
        return Attrition.from_dict(record)
    if not leaver.any():  # the best case a field team can deliver: nothing to test, balance or bound
        record["no_attrition"] = True
        record["note"] = "no attrition: every unit with an answered pre-wave outcome answered at the post wave"
        record["differential_test"] = {"what": "difference in attrition rates, treated minus comparison",
                                       "estimate": 0.0, "note": "no attrition in either arm: nothing to test"}
        record["lee_bounds"] = {"note": "no attrition: the estimate needs no bounds"}
        return Attrition.from_dict(record)
    record["no_attrition"] = False
    x = np.column_stack([np.ones(treated.size), treated])
    record["differential_test"] = {
        "what": "difference in attrition rates, treated minus comparison",
        **_regression_test(leaver.astype(np.float64), x, 1, clusters, spec)}
    rows = []
    variables = [("outcome (pre wave)", base["y_pre"].to_numpy(dtype=np.float64))]
    for col in covariates:
        if col in base and pd.api.types.is_numeric_dtype(base[col]):
            variables.append((col, base[col].to_numpy(dtype=np.float64)))
    for name, values in variables:
        ok = ~np.isnan(values)
        row: dict[str, Any] = {"variable": name, "cells": {}}
        for value, arm in ((1.0, "treated"), (0.0, "comparison")):
            for left, status in ((False, "stayers"), (True, "leavers")):
                members = ok & (treated == value) & (leaver == left)
                row["cells"][f"{arm} {status}"] = {"n": int(members.sum()),
                                                  "mean": float(values[members].mean()) if members.any() else None}
        empty = [name for name, cell in row["cells"].items() if cell["n"] == 0]
        if empty:  # the treated x leaver interaction is not identified without all four groups
            row["selective_attrition_p_value"] = None
            row["selective_attrition_note"] = (f"not tested: no units among the {' and '.join(empty)} (the "
                                               "treated x leaver comparison needs all four groups)")
            rows.append(row)
            continue
        design = np.column_stack([np.ones(treated.size), treated, leaver, treated * leaver])[ok]
        test = _regression_test(values[ok], design, 3, clusters[ok] if clusters is not None else None, spec)
        row["selective_attrition_p_value"] = test.get("p_value")
        if "error" in test:
            row["selective_attrition_error"] = test["error"]
        rows.append(row)
    record["balance"] = rows
    rates = [a["rate"] for a in arms.values()]
    if rates[0] == rates[1]:
        record["lee_bounds"] = {"note": "attrition rates are equal in both arms: no trimming is needed"}
    else:
        stays = ~leaver
        if outcome_kind == "change":
            quantity = (base["y_post"] - base["y_pre"]).to_numpy(dtype=np.float64)
            described = "change in the outcome, post minus pre"
        else:
            quantity = base["y_post"].to_numpy(dtype=np.float64)
            described = "post-wave outcome (the bounds ignore ANCOVA's baseline adjustment)"
        bounds = lee_bounds(quantity, stays, treated == 1.0, clusters, level=spec.inference.ci_level,
                            seed=spec.inference.bootstrap.seed)
        record["lee_bounds"] = {"outcome": described, **bounds}
    return Attrition.from_dict(record)  # the record's key order (results.json) and its None rates kept


def unit_table_for(spec: HypothesisSpec, frame: pd.DataFrame, outcome: pd.Series, *, file: str,
                   covariates: tuple[str, ...] = ()) -> pd.DataFrame:
    """The unit table attrition needs, from the survey frame (one row per unit at the pre wave)."""
    from ._ancova import unit_panel

    units, _ = unit_panel(frame, outcome, spec, file=file, extra_columns=covariates)
    return units


__all__ = ["LEE_DRAWS", "attrition_analysis", "lee_bounds", "unit_table_for"]
