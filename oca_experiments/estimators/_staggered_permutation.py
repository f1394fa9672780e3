"""Permutation inference for the staggered DiD when few units are treated (issue 15 item 5, issue 22 item 4).

With one or a handful of treated units the influence-function variance rests on one to six treated rows and the
t(G - 1) interval under-covers (2 cohorts x 3 treated pages, 20 comparison pages: 89% for the simple ATT, 85% for
the average event-time effect). Here the adoption pattern is re-assigned to other units instead: every draw hands
the observed cohort sizes (which units adopt when) to a random set of units, the whole Callaway-Sant'Anna estimate
is recomputed, and the observed estimate is ranked among the re-assigned ones (Fisher's randomization test; with
one treated unit this is the placebo-unit test of Abadie et al. / Conley-Taber in its exact-permutation form).

The test is exact when units are exchangeable under the null (their untreated paths' distributions do not depend
on which of them adopted): the same assumption that the pooled variance of single-unit cohorts makes, stated for
the whole path. The interval inverts the test of a constant additive effect tau: under that null, y - tau * D
(D the observed treatment indicator) are the untreated outcomes, and because every CS estimator here is linear in
the outcome for a fixed assignment, each draw's statistic is ``a - tau * b`` with ``a`` and ``b`` the estimator on
y and on D. The set {tau : p(tau) > alpha} is found exactly from the roots of the quadratics that compare each
draw with the observed statistic. P-values use (1 + #{draws at least as extreme}) / (B + 1); when every distinct
assignment can be listed they are all used (exact).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import EstimationError
from ._staggered import NEVER, AttGT, StaggeredPanel, att_gt

__all__ = ["PermutationResult", "aggregation_weights", "permutation_inference", "assignment_count",
           "treated_unit_count"]

ENUMERATE_UP_TO = 20_000  # list every distinct assignment when there are at most this many


@dataclass(frozen=True)
class PermutationResult:
    """A permutation test and its inverted interval for one aggregate of ATT(g, t)."""

    estimate: float
    p_value_two_sided: float
    p_value_greater: float
    p_value_less: float
    ci_low: float
    ci_high: float
    ci_level: float
    draws: int
    enumerated: bool
    possible_assignments: int
    smallest_p_value: float
    seed: int
    failed_draws: int

    def p_value(self, tails: str, direction: str) -> float:
        if tails == "two":
            return self.p_value_two_sided
        return self.p_value_greater if direction == "increase" else self.p_value_less

    def record(self) -> dict[str, object]:
        return {"p_value_two_sided": self.p_value_two_sided, "p_value_greater": self.p_value_greater,
                "p_value_less": self.p_value_less, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "ci_level": self.ci_level, "draws": self.draws, "enumerated": self.enumerated,
                "possible_assignments": self.possible_assignments, "smallest_p_value": self.smallest_p_value,
                "seed": self.seed, "failed_draws": self.failed_draws,
                "p_value_convention": "(1 + #{re-assignments at least as extreme}) / (B + 1)",
                "statistic": "the aggregate itself, re-estimated on every re-assignment of adoption dates to units"}


def _usable(panel: StaggeredPanel, anticipation: int) -> NDArray[np.bool_]:
    # The same units att_gt keeps: those treated before their first possible pre-period are dropped.
    return (panel.cohort == NEVER) | (panel.cohort - anticipation >= 1)


def treated_unit_count(panel: StaggeredPanel, anticipation: int = 0) -> int:
    cohort = panel.cohort[_usable(panel, anticipation)]
    return int((cohort != NEVER).sum())


def assignment_count(cohort: NDArray[np.intp]) -> int:
    """Distinct ways to hand the observed cohort sizes to the units (a multinomial coefficient)."""
    total, left = 1, cohort.size
    for g in np.unique(cohort):
        k = int((cohort == g).sum())
        total *= math.comb(left, k)
        left -= k
    return total


def _all_assignments(cohort: NDArray[np.intp]) -> NDArray[np.intp]:
    """Every distinct arrangement of the cohort labels over the units, the observed one excluded."""
    labels = [int(g) for g in np.unique(cohort) if g != NEVER]
    n = cohort.size
    rows: list[NDArray[np.intp]] = []

    def place(row: NDArray[np.intp], free: tuple[int, ...], depth: int) -> None:
        if depth == len(labels):
            rows.append(row.copy())
            return
        g = labels[depth]
        for chosen in itertools.combinations(free, int((cohort == g).sum())):
            row[list(chosen)] = g
            place(row, tuple(i for i in free if i not in chosen), depth + 1)
            row[list(chosen)] = NEVER

    place(np.full(n, NEVER, dtype=np.intp), tuple(range(n)), 0)
    out = np.array(rows, dtype=np.intp).reshape(-1, n)
    return out[~np.all(out == cohort[None, :], axis=1)]


def aggregation_weights(cells: AttGT, kind: Literal["simple", "event_time", "group"],
                        event_window: tuple[int, int] | None = None) -> NDArray[np.float64]:
    """Weights w with ``aggregate(cells, kind).overall == w @ cells.att`` (the cohort shares are fixed by the
    cohort sizes, which every re-assignment keeps)."""
    share = {int(g): float(np.mean(cells.unit_cohort == g)) for g in np.unique(cells.group)}
    prob = np.array([share[int(g)] for g in cells.group])
    post = cells.post
    w = np.zeros(cells.att.size)
    if kind == "simple":
        w[post] = prob[post] / prob[post].sum()
        return w
    if kind == "event_time":
        event = cells.time - cells.group
        lo, hi = (int(event.min()), int(event.max())) if event_window is None else event_window
        post_events = [e for e in range(max(lo, 0), hi + 1) if np.any(event == e)]
        for e in post_events:
            which = event == e
            w[which] = prob[which] / prob[which].sum() / len(post_events)
        return w
    groups = sorted({int(g) for g in cells.group})
    pg = np.array([share[g] for g in groups])
    for g, weight in zip(groups, pg / pg.sum(), strict=True):
        which = (cells.group == g) & post
        w[which] = weight / which.sum()
    return w


def _cell_statistics(y: NDArray[np.float64], assignments: NDArray[np.intp], cells: AttGT, *,
                     control_group: str, anticipation: int, rows_mode: bool = False) -> NDArray[np.float64]:
    """Unconditional ATT(g, t) of every cell under every assignment: (B, K, outcomes) for y of shape (N, T, m).
    ``rows_mode``: the four group-period means over every observed row (unbalanced_panel: allow_unbalanced)."""
    n_draws = assignments.shape[0]
    out = np.full((n_draws, cells.att.size, y.shape[2]), np.nan)
    never = assignments == NEVER
    for k, (g, t, base) in enumerate(zip(cells.group, cells.time, cells.base, strict=True)):
        if t == base:
            out[:, k, :] = 0.0
            continue
        if rows_mode:
            treated = assignments == g
            if control_group == "never_treated":
                control = never
            else:
                control = never | ((assignments > max(t, base) + anticipation) & (assignments != g))
            total = np.zeros((n_draws, y.shape[2]))
            for period, sign_t, sign_c in ((t, 1.0, -1.0), (base, -1.0, 1.0)):
                seen = np.all(np.isfinite(y[:, period, :]), axis=1)
                values = np.where(seen[:, None], y[:, period, :], 0.0)
                for members, sign in ((treated & seen[None, :], sign_t), (control & seen[None, :], sign_c)):
                    with np.errstate(invalid="ignore", divide="ignore"):
                        total += sign * (members @ values) / members.sum(axis=1)[:, None]
            out[:, k, :] = total
            continue
        observed = np.all(np.isfinite(y[:, t, :]) & np.isfinite(y[:, base, :]), axis=1)
        change = np.where(observed[:, None], y[:, t, :] - y[:, base, :], 0.0)
        treated = (assignments == g) & observed[None, :]
        if control_group == "never_treated":
            control = never & observed[None, :]
        else:
            control = (never | ((assignments > max(t, base) + anticipation) & (assignments != g))) & observed[None, :]
        n_t, n_c = treated.sum(axis=1), control.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k, :] = (treated @ change) / n_t[:, None] - (control @ change) / n_c[:, None]
        out[(n_t == 0) | (n_c == 0), k, :] = np.nan
    return out


def _covariate_statistics(panel: StaggeredPanel, usable: NDArray[np.bool_], outcomes: NDArray[np.float64],
                          assignments: NDArray[np.intp], cells: AttGT, *, control_group: str, method: str,
                          anticipation: int) -> NDArray[np.float64]:
    """The same with covariates: att_gt re-run per assignment (slower, exact)."""
    index = {(int(g), int(t)): k for k, (g, t) in enumerate(zip(cells.group, cells.time, strict=True))}
    out = np.full((assignments.shape[0], cells.att.size, outcomes.shape[2]), np.nan)
    for b, row in enumerate(assignments):
        cohort = panel.cohort.copy()
        cohort[usable] = row
        for m in range(outcomes.shape[2]):
            y = panel.y.copy()
            y[usable] = outcomes[:, :, m]
            try:
                redrawn = att_gt(replace(panel, y=y, cohort=cohort),
                                 control_group=control_group,  # type: ignore[arg-type]
                                 method=method, base_period=cells.base_period,  # type: ignore[arg-type]
                                 anticipation=anticipation, pool_singleton_cohorts=False)
            except (EstimationError, np.linalg.LinAlgError):
                continue
            for g, t, a in zip(redrawn.group, redrawn.time, redrawn.att, strict=True):
                k = index.get((int(g), int(t)))
                if k is not None:
                    out[b, k, m] = a
    return out


def _accepted_hull(a0: float, b0: float, a: NDArray[np.float64], b: NDArray[np.float64], alpha: float,
                   denominator: int) -> tuple[float, float]:
    """Smallest and largest tau with p(tau) > alpha for p(tau) = (1 + #{|a - tau b| >= |a0 - tau b0|}) / denom."""
    # |a - tau b|^2 - |a0 - tau b0|^2 = c2 tau^2 + c1 tau + c0: its roots are where a draw changes side.
    c2, c1, c0 = b ** 2 - b0 ** 2, -2 * (a * b - a0 * b0), a ** 2 - a0 ** 2
    roots: list[NDArray[np.float64]] = []
    quad = np.abs(c2) > 1e-12 * (1 + b ** 2)
    disc = c1 ** 2 - 4 * c2 * c0
    ok = quad & (disc >= 0)
    sq = np.sqrt(np.where(ok, disc, 0.0))
    roots += [((-c1 - sq) / (2 * c2))[ok], ((-c1 + sq) / (2 * c2))[ok]]
    lin = ~quad & (np.abs(c1) > 0)
    roots.append(-c0[lin] / c1[lin])
    points = np.unique(np.concatenate(roots))
    points = points[np.isfinite(points)]
    scale = 1.0 + (np.max(np.abs(points)) if points.size else abs(a0))
    # p is constant between consecutive roots: probe each open segment (and the two unbounded ones). At a root
    # the tie counts as extreme, so the closure of an accepted segment is accepted too.
    edges = np.concatenate([[-np.inf], points, [np.inf]])
    probes = np.concatenate([[points[0] - scale] if points.size else [a0 / b0 - scale],
                             (points[:-1] + points[1:]) / 2,
                             [points[-1] + scale] if points.size else [a0 / b0 + scale]])

    def p_at(tau: NDArray[np.float64]) -> NDArray[np.float64]:
        hits = np.zeros(tau.size)
        for start in range(0, a.size, 512):
            sl = slice(start, start + 512)
            hits += np.sum(np.abs(a[sl, None] - tau[None, :] * b[sl, None]) >= np.abs(a0 - tau * b0)[None, :],
                           axis=0)
        return (1.0 + hits) / denominator

    accepted = np.flatnonzero(p_at(probes) > alpha + 1e-12)
    if accepted.size == 0:
        return float("nan"), float("nan")
    # Segment i runs from edges[i] to edges[i + 1].
    return float(edges[accepted[0]]), float(edges[accepted[-1] + 1])


def permutation_inference(panel: StaggeredPanel, cells: AttGT, kind: Literal["simple", "event_time", "group"], *,
                          control_group: str, method: str, anticipation: int, event_window: tuple[int, int] | None,
                          ci_level: float, draws: int, seed: int,
                          unbalanced: str = "pairwise") -> PermutationResult:
    """Fisher permutation test of no effect and the inverted interval for a constant additive effect."""
    usable = _usable(panel, anticipation)
    y = panel.y[usable]
    cohort = panel.cohort[usable]
    treated_now = (cohort[:, None] != NEVER) & (np.arange(y.shape[1])[None, :] >= cohort[:, None])
    outcomes = np.stack([y, np.where(np.isfinite(y), treated_now.astype(np.float64), np.nan)], axis=2)
    possible = assignment_count(cohort)
    enumerated = possible - 1 <= min(draws, ENUMERATE_UP_TO)
    if enumerated:
        assignments = _all_assignments(cohort)
    else:
        rng = np.random.default_rng(seed)
        assignments = rng.permuted(np.tile(cohort, (draws, 1)), axis=1)
    if assignments.shape[0] == 0:
        raise EstimationError("the adoption pattern cannot be re-assigned: every unit is in the same cohort")
    weights = aggregation_weights(cells, kind, event_window)
    rows_mode = unbalanced == "allow_unbalanced" and not np.all(np.isfinite(y))
    actual = _cell_statistics(outcomes, cohort[None, :], cells, control_group=control_group,
                              anticipation=anticipation, rows_mode=rows_mode) \
        if cells.method == "unconditional" else None
    if cells.method == "unconditional":
        stats_cells = _cell_statistics(outcomes, assignments, cells, control_group=control_group,
                                       anticipation=anticipation, rows_mode=rows_mode)
        a0, b0 = (actual[0].T @ weights)  # type: ignore[index]
    else:
        stats_cells = _covariate_statistics(panel, usable, outcomes, assignments, cells, control_group=control_group,
                                            method=method, anticipation=anticipation)
        a0 = float(cells.att @ weights)
        b0 = float(_covariate_statistics(panel, usable, outcomes, cohort[None, :], cells,
                                         control_group=control_group, method=method,
                                         anticipation=anticipation)[0, :, 1] @ weights)
    used = weights > 0
    valid = np.all(np.isfinite(stats_cells[:, used, :]), axis=(1, 2))
    a = np.where(valid, np.nan_to_num(stats_cells[:, :, 0]) @ weights, np.nan)
    b = np.where(valid, np.nan_to_num(stats_cells[:, :, 1]) @ weights, np.nan)
    failed = int((~valid).sum())
    n_draws = assignments.shape[0]
    denominator = n_draws + 1
    # A re-assignment whose statistic cannot be computed counts as at least as extreme (conservative).
    p_two = (1 + failed + np.sum(np.abs(a[valid]) >= abs(a0) * (1 - 1e-12))) / denominator
    p_greater = (1 + failed + np.sum(a[valid] >= a0 - 1e-12 * abs(a0))) / denominator
    p_less = (1 + failed + np.sum(a[valid] <= a0 + 1e-12 * abs(a0))) / denominator
    alpha = round(1 - ci_level, 12)  # 1 - 0.9 is 0.0999...98 in floating point; p = k / (B + 1) is compared exactly
    if failed:
        # Unknown draws are extreme at every tau: they shift p(tau) up uniformly.
        low, high = _accepted_hull(float(a0), float(b0), a[valid], b[valid], alpha - failed / denominator,
                                   denominator)
    else:
        low, high = _accepted_hull(float(a0), float(b0), a, b, alpha, denominator)
    return PermutationResult(estimate=float(a0), p_value_two_sided=float(min(p_two, 1.0)),
                             p_value_greater=float(min(p_greater, 1.0)), p_value_less=float(min(p_less, 1.0)),
                             ci_low=low, ci_high=high, ci_level=ci_level, draws=n_draws, enumerated=enumerated,
                             possible_assignments=possible, smallest_p_value=1.0 / denominator, seed=seed,
                             failed_draws=failed)
