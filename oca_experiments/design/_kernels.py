"""Batched estimators: the registered 2x2 DiD on R simulated surveys at once, in closed form.

Why closed form is exact here: in a two-wave panel with respondent and wave fixed effects, the within transformation
turns every row into +/- half the respondent's change, so the DiD coefficient is the slope of the change on the
treatment indicator among respondents seen in both waves, and the FE residuals are +/- half the change-regression
residuals. Repeated cross-sections are saturated in (treated, post), so the coefficient is a contrast of four cell
means. Both give the coefficient and its CR1/HC1/iid variance from a handful of column sums per replicate, with the
small-sample factors of ``estimators._linalg.fit_linear`` (fixest's), so each replicate matches the registered
fitter to floating-point precision (tests check this against ``fit_survey_did``). Sums use NumPy's pairwise
reductions rather than BLAS, so results do not depend on thread counts and are identical on every executor.

Every array below is (R, ...) with one row per replicate. A replicate the registered estimator would refuse (an arm
with fewer than 2 clusters left, or no respondents) gets NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._simulate import Layout, SimulatedOutcomes

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BatchFit:
    """Coefficient and conventional sandwich variance per replicate, plus what cluster inference needs."""

    estimate: Array
    variance: Array
    df: Array
    n_obs: Array
    n_clusters: Array


def _segment_sums(values: Array, layout: Layout) -> Array:
    return np.add.reduceat(values, layout.cluster_starts, axis=1)


def panel_did(out: SimulatedOutcomes, layout: Layout, se_type: str) -> BatchFit:
    """``y ~ treated_x_post | unit + wave`` on respondents observed in both waves, for every replicate."""
    stays = out.responded_endline.astype(np.float64)
    change = (out.endline - out.baseline) * stays
    treated = layout.treated
    n = stays.sum(axis=1)
    n1 = (stays * treated).sum(axis=1)
    n0 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        mean1 = (change * treated).sum(axis=1) / n1
        mean0 = (change * (1.0 - treated)).sum(axis=1) / n0
        estimate = mean1 - mean0
        residual = (change - (mean0[:, None] + (mean1 - mean0)[:, None] * treated)) * stays
        share_treated = n1 / n
        sxx = n1 * n0 / n  # sum of (T - mean T)^2 over stayers
        n_obs = 2.0 * n
        if se_type == "CR1":
            stays_c = _segment_sums(stays, layout)
            present = stays_c > 0
            g = present.sum(axis=1).astype(np.float64)
            g1 = (present * layout.treated_cluster).sum(axis=1)
            resid_c = _segment_sums(residual, layout)
            score = (layout.treated_cluster[None, :] - share_treated[:, None]) * resid_c
            # fit_linear: K = 1 slope + 2 wave levels - 1 shared constant (unit FE are nested in clusters).
            factor = g / (g - 1) * (n_obs - 1) / (n_obs - 3)
            variance = factor * (score**2).sum(axis=1) / sxx**2
            df = g - 1
            refused = (g1 < 2) | (g - g1 < 2)
        elif se_type == "HC1":
            lever = (treated[None, :] - share_treated[:, None]) ** 2
            variance = n / (n - 2) * (lever * residual**2).sum(axis=1) / sxx**2
            df, g, refused = n - 2, np.full_like(n, np.nan), (n1 < 1) | (n0 < 1)
        elif se_type == "iid":
            variance = (residual**2).sum(axis=1) / ((n - 2) * sxx)
            df, g, refused = n - 2, np.full_like(n, np.nan), (n1 < 1) | (n0 < 1)
        else:
            raise ValueError(f"no batched kernel for se_type {se_type!r}")
    return _refuse(BatchFit(estimate, variance, df, n_obs, g), refused)


def cross_section_did(out: SimulatedOutcomes, layout: Layout, se_type: str) -> BatchFit:
    """``y ~ treated + post + treated_x_post`` on baseline plus endline respondents, for every replicate."""
    answered = out.responded_endline.astype(np.float64)
    treated = layout.treated
    control = 1.0 - treated
    r = out.baseline.shape[0]
    n10 = np.full(r, treated.sum())
    n00 = np.full(r, control.sum())
    n11 = (answered * treated).sum(axis=1)
    n01 = (answered * control).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        m10 = (out.baseline * treated).sum(axis=1) / n10
        m00 = (out.baseline * control).sum(axis=1) / n00
        m11 = (out.endline * answered * treated).sum(axis=1) / n11
        m01 = (out.endline * answered * control).sum(axis=1) / n01
        estimate = (m11 - m10) - (m01 - m00)
        resid_pre = out.baseline - (m00[:, None] + (m10 - m00)[:, None] * treated)
        resid_post = (out.endline - (m01[:, None] + (m11 - m01)[:, None] * treated)) * answered
        # The coefficient is sum_i a_i y_i with a = +-1 / (cell size); its sandwich uses a_i * residual_i.
        a_pre = -treated[None, :] / n10[:, None] + control[None, :] / n00[:, None]
        a_post = treated[None, :] / n11[:, None] - control[None, :] / n01[:, None]
        n_obs = n10 + n00 + n11 + n01
        k = 4.0
        if se_type == "CR1":
            scores = _segment_sums(a_pre * resid_pre + a_post * resid_post, layout)
            g = np.full(r, float(layout.n_clusters))  # every cluster is seen at baseline
            factor = g / (g - 1) * (n_obs - 1) / (n_obs - k)
            variance = factor * (scores**2).sum(axis=1)
            df = g - 1
        elif se_type == "HC1":
            meat = (a_pre**2 * resid_pre**2).sum(axis=1) + (a_post**2 * resid_post**2).sum(axis=1)
            variance = n_obs / (n_obs - k) * meat
            df, g = n_obs - k, np.full(r, np.nan)
        elif se_type == "iid":
            sigma2 = ((resid_pre**2).sum(axis=1) + (resid_post**2).sum(axis=1)) / (n_obs - k)
            variance = sigma2 * (1 / n10 + 1 / n00 + 1 / n11 + 1 / n01)
            df, g = n_obs - k, np.full(r, np.nan)
        else:
            raise ValueError(f"no batched kernel for se_type {se_type!r}")
    refused = (n11 < 1) | (n01 < 1)
    return _refuse(BatchFit(estimate, variance, df, n_obs, g), refused)


def _refuse(fit: BatchFit, refused: NDArray[np.bool_]) -> BatchFit:
    if not refused.any():
        return fit
    nan = np.where(refused, np.nan, 1.0)
    return BatchFit(fit.estimate * nan, fit.variance * nan, fit.df * nan, fit.n_obs, fit.n_clusters)


# --------------------------------------------------------------------------- wild cluster bootstrap (panel DiD)

#: Replicates per block of the bootstrap: bounds memory at about draws x block x 14 floats.
_WILD_BLOCK = 16
#: As ``estimators._cluster_inference``: |t*| within this relative distance of |t| counts as a tie.
_TIE_TOLERANCE = 1e-10


#: Which p-value a request asks for: two-sided, or one-sided for an increase ("upper") or a decrease ("lower").
P_VALUE_KINDS = ("two_sided", "upper", "lower")


def panel_wild_bootstrap(out: SimulatedOutcomes, layout: Layout, fit: BatchFit, weights: Array,
                         requests: list[tuple[Array, str]]) -> list[Array]:
    """WCR wild cluster bootstrap p-values of the panel DiD (null imposed, CR1-studentized).

    ``requests`` pairs a null value per replicate with a p-value kind; one p-value array comes back per request.
    Same test as ``estimators._cluster_inference.wild_cluster_bootstrap`` on the registered fitter's design. In the
    differenced form the restricted residuals are u(r) = (change - r T) - mean, the unrestricted bootstrap residuals
    are u*v minus their arm mean, and treatment is constant within a cluster, so for one draw v::

        t*(r) = sum_a d_a W_a / sqrt(ssc * sum_a d_a^2 (Q_a - 2 W_a P_a + W_a^2 S_a))

    with per-arm sums W_a = sum v_g U_g, P_a = sum pi_g v_g U_g, Q_a = sum v_g^2 U_g^2, S_a = sum pi_g^2 over the
    arm's clusters (U_g: cluster total of u(r), pi_g = n_g / n_arm, d_a = (T_a - mean T) / Sxx). All are affine or
    quadratic in r, so two products of the (B, G) weights with (G, 14) cluster sums give every draw at every r:
    O(B G) per replicate instead of O(B G^2).
    """
    results = [np.full(fit.estimate.size, np.nan) for _ in requests]
    std_error = np.sqrt(fit.variance)
    for start in range(0, fit.estimate.size, _WILD_BLOCK):
        block = slice(start, start + _WILD_BLOCK)
        pieces = _panel_wild_pieces(out, layout, weights, block)
        refused = ~np.isfinite(fit.estimate[block])
        for (null, kind), result in zip(requests, results, strict=True):
            r = null[block]
            t_draws = pieces.t_draws(r)
            t_obs = (fit.estimate[block] - r) / std_error[block]
            slack = (np.abs(t_obs) * _TIE_TOLERANCE)[:, None]
            with np.errstate(invalid="ignore"):
                if kind == "two_sided":
                    hits = np.abs(t_draws) >= np.abs(t_obs)[:, None] - slack
                elif kind == "upper":
                    hits = t_draws >= t_obs[:, None] - slack
                else:
                    hits = t_draws <= t_obs[:, None] + slack
            p_values = hits.mean(axis=1)
            p_values[refused] = np.nan
            result[block] = p_values
    return results


@dataclass(frozen=True)
class _WildPieces:
    linear: Array  # (S, B, 8): W_1 (r^0, r^1), W_0 (r^0, r^1), P_1 (..), P_0 (..)
    quadratic: Array  # (S, B, 6): Q_1 (00, 01, 11), Q_0 (00, 01, 11)
    pi_square: Array  # (S, 2): S_1, S_0
    slope: Array  # (S, 2): d_1, d_0
    ssc: Array  # (S,)

    def t_draws(self, r: Array) -> Array:
        r1 = r[:, None]
        lin, quad = self.linear, self.quadratic
        w1, w0 = lin[..., 0] - r1 * lin[..., 1], lin[..., 2] - r1 * lin[..., 3]
        p1, p0 = lin[..., 4] - r1 * lin[..., 5], lin[..., 6] - r1 * lin[..., 7]
        q1 = quad[..., 0] - 2.0 * r1 * quad[..., 1] + r1 * r1 * quad[..., 2]
        q0 = quad[..., 3] - 2.0 * r1 * quad[..., 4] + r1 * r1 * quad[..., 5]
        d1, d0 = self.slope[:, 0:1], self.slope[:, 1:2]
        s1, s0 = self.pi_square[:, 0:1], self.pi_square[:, 1:2]
        numerator = d1 * w1 + d0 * w0
        variance = self.ssc[:, None] * (d1 * d1 * (q1 - 2.0 * w1 * p1 + w1 * w1 * s1)
                                         + d0 * d0 * (q0 - 2.0 * w0 * p0 + w0 * w0 * s0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return numerator / np.sqrt(np.clip(variance, 0.0, None))


def _panel_wild_pieces(out: SimulatedOutcomes, layout: Layout, weights: Array, block: slice) -> _WildPieces:
    stays = out.responded_endline[block].astype(np.float64)
    change = (out.endline[block] - out.baseline[block]) * stays
    tc = layout.treated_cluster[None, :]
    cc = 1.0 - tc
    with np.errstate(divide="ignore", invalid="ignore"):
        n_g = _segment_sums(stays, layout)
        n = n_g.sum(axis=1)
        n1 = (n_g * tc).sum(axis=1)
        n0 = n - n1
        share = n1 / n
        sxx = n1 * n0 / n
        u0 = _segment_sums(change, layout) - n_g * (change.sum(axis=1) / n)[:, None]
        u1 = n_g * (tc - share[:, None])
        pi = n_g * (tc / n1[:, None] + cc / n0[:, None])
        g = (n_g > 0).sum(axis=1).astype(np.float64)
        n_obs = 2.0 * n
        ssc = g / (g - 1) * (n_obs - 1) / (n_obs - 3)
        slope = np.column_stack([(1.0 - share) / sxx, -share / sxx])
    linear_cols = np.stack([u0 * tc, u1 * tc, u0 * cc, u1 * cc, pi * u0 * tc, pi * u1 * tc, pi * u0 * cc,
                            pi * u1 * cc], axis=2)
    quadratic_cols = np.stack([u0 * u0 * tc, u0 * u1 * tc, u1 * u1 * tc, u0 * u0 * cc, u0 * u1 * cc,
                               u1 * u1 * cc], axis=2)
    linear = _weights_times(weights, linear_cols)
    quadratic = _weights_times(weights * weights, quadratic_cols)
    pi_square = np.column_stack([(pi * pi * tc).sum(axis=1), (pi * pi * cc).sum(axis=1)])
    return _WildPieces(linear, quadratic, pi_square, slope, ssc)


def _weights_times(weights: Array, columns: Array) -> Array:
    """(B, G) @ (S, G, K) -> (S, B, K) as one 2-d product: NumPy's stacked matmul does not batch it into BLAS."""
    s, g, k = columns.shape
    flat = weights @ np.ascontiguousarray(columns.transpose(1, 0, 2)).reshape(g, s * k)
    return flat.reshape(weights.shape[0], s, k).transpose(1, 0, 2)
