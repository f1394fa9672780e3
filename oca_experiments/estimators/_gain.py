"""Knowledge gain (relative change in the mean score) and the share reporting an outcome (Wilson interval).

**Knowledge gain** ``R = mean(post) / mean(pre) - 1`` over the units answering at both waves (``paired: true``) or
over every answer of each wave (``paired: false``), reported the way evaluations in this field report it:
"knowledge increased by X% (95% CI a-b)".

- Delta method, paired: ``R - R_hat ~ mean(z) / mean(pre)`` with ``z_i = post_i - theta_hat * pre_i`` (theta =
  R + 1), whose variance is that of a mean: CR1 over clusters (t with G - 1 df), CR2 with Satterthwaite df, or iid.
- Delta method, unpaired: the two wave means are the coefficients of ``y ~ 0 + 1{post} + 1{pre}`` and ``R`` is
  their ratio minus one, so ``var(R) = g' V g`` with ``g = (1 / mean_pre, -theta / mean_pre)``. Its influence
  function is centred *within each wave* (the residuals are deviations from the wave's own mean): a stacked
  ``post - theta * pre`` centred on the pooled mean would carry the between-wave difference as noise and triple the
  SE. CR1 / CR2 (Satterthwaite df of the contrast g) over clusters; ``iid`` is the two-sample delta method with
  each wave's own variance and Welch-Satterthwaite df (answers of different waves treated as independent, which
  is conservative when the same respondents answer both: then register ``paired: true`` or a cluster column).
- Bootstrap: percentile interval from resampling whole clusters (or units without clusters), seeded, each draw's
  wave means divided by the *resampled* answer counts; shown beside the primary interval. With few clusters it is
  optimistic, which is why it is not the primary one.
- Few clusters (the registered rule): a Fieller-type wild cluster bootstrap. ``theta = theta0`` holds exactly when
  ``E[post] - theta0 * E[pre] = 0``, a linear restriction whose wild bootstrap test (null imposed, Webb or
  Rademacher weights, CR1-studentized) is cheap for every theta0, so the interval is the set of theta0 not
  rejected; it is never symmetric by construction. Unpaired, the restricted model is ``E[y] = b * (theta0 *
  1{post} + 1{pre})`` and every bootstrap re-estimate centres each wave on its own resampled mean.

**Share** reporting an outcome (a 0/1 column): Wilson score interval with the effective sample size ``n / deff``,
where the design effect ``deff`` is the cluster-robust variance of the mean over the binomial one (at least 1),
as Korn & Graubard (1998) adapt Wilson's interval to clustered samples, with their degrees-of-freedom correction
(the effective n times (z / t_{G-1})^2, so few clusters widen the interval); the p-value is the score test of the
registered ``null_share`` with the same effective n, referred to t with G - 1 df.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .._blas import small_blas
from .._format import monte_carlo_p
from ..errors import DataError
from ..results import EstimateResult
from ..results.parts import InferenceRecord
from ..spec import HypothesisSpec
from ._ancova import unit_panel
from ._catalog import KnowledgeGainOptions, ShareOptions
from ._cluster_inference import (
    _TIE_TOLERANCE,
    _invert,
    bootstrap_weights,
    enumerable,
    enumerated_weights,
)
from ._inference import few_cluster_decision, t_inference, t_interval
from ._linalg import covariance, fit_within, satterthwaite_df
from ._survey_frame import NotTestable, cluster_codes
from ._weights import (
    Calibration,
    calibrate,
    cluster_level_strata,
    fit_weighted_regression,
    linearized_covariance,
    psu_codes,
    weight_columns,
    weighted_inference,
)

# --------------------------------------------------------------------------- knowledge gain


class _RatioTest(ABC):
    """The p-values of a studentized ratio test from its observed statistic and bootstrap draws at ``theta``
    (ties within a relative tolerance count as extreme, as in ``_cluster_inference``). The paired and the
    two-sample wild bootstraps below supply the statistic."""

    @abstractmethod
    def t_draws(self, theta: float) -> NDArray[np.float64]:
        """The bootstrap draws of the studentized statistic at ``theta``."""

    @abstractmethod
    def t_observed(self, theta: float) -> float:
        """The observed studentized statistic at ``theta``."""

    def p_two_sided(self, theta: float) -> float:
        observed = abs(self.t_observed(theta))
        return float(np.mean(np.abs(self.t_draws(theta)) >= observed * (1 - _TIE_TOLERANCE)))

    def p_one_sided(self, theta: float, direction: str) -> float:
        observed, draws = self.t_observed(theta), self.t_draws(theta)
        slack = abs(observed) * _TIE_TOLERANCE
        return float(np.mean(draws >= observed - slack) if direction == "increase" else
                     np.mean(draws <= observed + slack))


class _RatioWildBootstrap(_RatioTest):
    """Wild cluster bootstrap test of E[post - theta * pre] = 0 for any theta (all pieces affine in theta)."""

    def __init__(self, post: NDArray[np.float64], pre: NDArray[np.float64], clusters: NDArray[np.intp],
                 weights: NDArray[np.float64]) -> None:
        n_groups = int(clusters.max()) + 1
        self.n = post.size
        self.sizes = np.bincount(clusters, minlength=n_groups).astype(np.float64)
        self.p = np.bincount(clusters, weights=post, minlength=n_groups)
        self.q = np.bincount(clusters, weights=pre, minlength=n_groups)
        share = self.sizes / self.n
        vp, vq = weights @ self.p, weights @ self.q  # numerators: sum_g v_g a_g(theta) = vp - theta vq
        z0 = weights * self.p - np.outer(vp, share)
        z1 = weights * self.q - np.outer(vq, share)
        self.vp, self.vq = vp, vq
        self.sq00, self.sq01, self.sq11 = (z0 * z0).sum(1), (z0 * z1).sum(1), (z1 * z1).sum(1)
        # The observed scores a_g - share_g * sum(a), centred once: (p - share P) - theta (q - share Q). Centring
        # a(theta) itself cancels catastrophically at the huge theta the interval search visits (|theta| ~ 1e16).
        self.centred_p = self.p - share * self.p.sum()
        self.centred_q = self.q - share * self.q.sum()

    def t_draws(self, theta: float) -> NDArray[np.float64]:
        spread = np.sqrt(np.clip(self.sq00 - 2 * theta * self.sq01 + theta * theta * self.sq11, 0.0, None))
        numerator = self.vp - theta * self.vq
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = numerator / spread
        # zero spread: the same reading as t_observed (+/-inf, or 0 when the numerator is 0 too, never NaN)
        return np.where(spread == 0.0, np.where(numerator == 0.0, 0.0, draws), draws)

    def t_observed(self, theta: float) -> float:
        """sum(a) / sqrt(sum of squared centred cluster scores). When the scores are all exactly zero (every cluster's
        mean of post - theta * pre is the same) the cluster-robust spread is zero: the statistic is +/-inf when
        sum(a) != 0 (the data reject theta as strongly as they can: p is the share of draws that are also infinite)
        and 0 when sum(a) == 0 too (theta is the point estimate itself: no evidence against it, p = 1)."""
        numerator = float((self.p - theta * self.q).sum())
        spread = float(np.sqrt(np.sum((self.centred_p - theta * self.centred_q) ** 2)))
        if spread == 0.0:
            return math.copysign(math.inf, numerator) if numerator != 0.0 else 0.0
        return numerator / spread


class _TwoSampleRatioWildBootstrap(_RatioTest):
    """WCR test of mean_post - theta0 * mean_pre = 0 on unpaired answers (one row per answer, wave indicator).

    Restricted fit: ``y = b_r * (theta0 * 1{post} + 1{pre}) + u``; draws ``y* = fit_r + v_g u``; each draw's statistic
    is ``(mean*_post - theta0 mean*_pre) / se*`` with se* from the CR1 score of the wave-centred bootstrap residuals.
    Everything is a function of per-cluster sums (answers and counts per wave), so a theta0 costs O(B G).
    """

    def __init__(self, y: NDArray[np.float64], is_post: NDArray[np.bool_], clusters: NDArray[np.intp],
                 weights: NDArray[np.float64]) -> None:
        n_groups = int(clusters.max()) + 1
        self.n1 = np.bincount(clusters, weights=is_post.astype(np.float64), minlength=n_groups)
        self.n0 = np.bincount(clusters, weights=(~is_post).astype(np.float64), minlength=n_groups)
        self.s1 = np.bincount(clusters, weights=np.where(is_post, y, 0.0), minlength=n_groups)
        self.s0 = np.bincount(clusters, weights=np.where(is_post, 0.0, y), minlength=n_groups)
        self.total1, self.total0 = float(self.n1.sum()), float(self.n0.sum())
        self.mean1, self.mean0 = float(self.s1.sum()) / self.total1, float(self.s0.sum()) / self.total0
        self.weights = weights

    def _scores(self, theta: float, u1: NDArray[np.float64], u0: NDArray[np.float64]) -> NDArray[np.float64]:
        return u1 / self.total1 - theta * u0 / self.total0

    def t_draws(self, theta: float) -> NDArray[np.float64]:
        b = (theta * self.s1.sum() + self.s0.sum()) / (theta * theta * self.total1 + self.total0)
        u1, u0 = self.s1 - b * theta * self.n1, self.s0 - b * self.n0  # restricted residual sums per cluster
        a = self._scores(theta, u1, u0)
        v = self.weights
        m1, m0 = (v @ u1) / self.total1, (v @ u0) / self.total0  # each draw's wave means of v * u
        z = v * a - np.outer(m1, self.n1 / self.total1) + theta * np.outer(m0, self.n0 / self.total0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (v @ a) / np.sqrt(np.einsum("bg,bg->b", z, z))

    def t_observed(self, theta: float) -> float:
        e1, e0 = self.s1 - self.mean1 * self.n1, self.s0 - self.mean0 * self.n0
        scores = self._scores(theta, e1, e0)
        return float((self.mean1 - theta * self.mean0) / np.sqrt(np.sum(scores**2)))


def _gain_sample(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: KnowledgeGainOptions, *,
                 file: str) -> tuple[NDArray[np.float64], NDArray[np.float64], pd.DataFrame, dict[str, int]]:
    """Arrays for the ratio: paired (post_i, pre_i) per unit, or stacked answers with wave indicators."""
    design = spec.design
    if options.paired:
        units, counts = unit_panel(frame, outcome, spec, file=file, extra_columns=weight_columns(spec))
        both = units["y_pre"].notna() & units["y_post"].notna()
        work = units.loc[both].reset_index(drop=True)
        counts["units"] = int(len(work))
        if work.empty:
            raise NotTestable("no unit answered the outcome at both registered waves")
        return work["y_post"].to_numpy(np.float64), work["y_pre"].to_numpy(np.float64), work, counts
    wave = frame[design.time].astype("string")
    rows = pd.DataFrame({"y": outcome.to_numpy(np.float64), "post": (wave == design.post).to_numpy(),
                         "pre": (wave == design.pre).to_numpy(), "unit": frame[design.unit].astype("string")})
    if design.cluster:
        rows["cluster"] = frame[design.cluster].astype("string").to_numpy()
    for column in weight_columns(spec):
        rows[column] = frame[column].to_numpy()
    rows = rows.loc[(rows["post"] | rows["pre"]) & rows["y"].notna()].reset_index(drop=True)
    if not rows["post"].any() or not rows["pre"].any():
        raise NotTestable("no answered outcome in one of the registered waves")
    # Stacked answers: post_i = y * 1{post}, pre_i = y * 1{pre}; the wave means divide by each wave's count.
    n = len(rows)
    post = np.where(rows["post"], rows["y"], 0.0)
    pre = np.where(rows["pre"], rows["y"], 0.0)
    counts = {"units": int(rows["unit"].nunique()), "answers_pre": int(rows["pre"].sum()),
              "answers_post": int(rows["post"].sum()), "observations": n}
    return post, pre, rows, counts


@dataclass(frozen=True)
class _Ratio:
    """The ratio's pieces: paired (one row per unit) or unpaired (one row per answer, ``is_post`` marks the wave)."""

    post: NDArray[np.float64]
    pre: NDArray[np.float64]
    is_post: NDArray[np.bool_] | None
    mean_post: float
    mean_pre: float

    @property
    def theta(self) -> float:
        return self.mean_post / self.mean_pre

    @property
    def answers(self) -> NDArray[np.float64]:
        assert self.is_post is not None
        return np.where(self.is_post, self.post, self.pre)


def _ratio(post: NDArray[np.float64], pre: NDArray[np.float64], work: pd.DataFrame, paired: bool) -> _Ratio:
    if paired:
        return _Ratio(post, pre, None, float(post.mean()), float(pre.mean()))
    is_post = work["post"].to_numpy(dtype=bool)
    return _Ratio(post, pre, is_post, float(post[is_post].mean()), float(pre[~is_post].mean()))


def _delta_alternatives(ratio: _Ratio, clusters: NDArray[np.intp] | None, estimate: float,
                        spec: HypothesisSpec) -> dict[str, Any]:
    """Delta-method SEs (iid, and CR1 / CR2 with clusters) with their t intervals and p-values."""
    inference = spec.inference
    theta, mean_pre = ratio.theta, ratio.mean_pre
    if ratio.is_post is None:  # paired: the variance of mean(z) / mean(pre)
        z = (ratio.post - theta * ratio.pre) / mean_pre
        design = fit_within(z, np.ones((z.size, 1)), fixed_effects=[], clusters=clusters)
        gradient = np.array([1.0])
    else:  # unpaired: wave means as coefficients, gradient of their ratio
        x = np.column_stack([ratio.is_post, ~ratio.is_post]).astype(np.float64)
        design = fit_within(ratio.answers, x, fixed_effects=[], clusters=clusters)
        gradient = np.array([1.0 / mean_pre, -theta / mean_pre])
    alternatives: dict[str, Any] = {}
    for se_type in ["iid"] + (["CR1", "CR2"] if clusters is not None else []):
        if se_type == "iid" and ratio.is_post is not None:
            std_error, df = _two_sample_delta(ratio)
        else:
            std_error = float(np.sqrt(gradient @ covariance(design, se_type) @ gradient))
            df = {"iid": float(design.n_obs - design.k_full), "CR1": float((design.n_clusters or 0) - 1),
                  "CR2": None}[se_type]
            if se_type == "CR2":
                df = satterthwaite_df(design, gradient)
        result = t_inference(estimate, std_error, df, ci_level=inference.ci_level, tails=inference.tails,
                             direction=spec.direction)
        alternatives[se_type] = {"std_error": std_error, "df": df, "ci_low": result.ci_low,
                                 "ci_high": result.ci_high, "p_value": result.p_value,
                                 "p_value_two_sided": result.p_value_two_sided}
    return alternatives


def _two_sample_delta(ratio: _Ratio) -> tuple[float, float]:
    """Unpaired delta method with each wave's own variance, and its Welch-Satterthwaite degrees of freedom."""
    assert ratio.is_post is not None
    post, pre = ratio.post[ratio.is_post], ratio.pre[~ratio.is_post]
    part_post = post.var(ddof=1) / post.size / ratio.mean_pre**2
    part_pre = ratio.theta**2 * pre.var(ddof=1) / pre.size / ratio.mean_pre**2
    variance = part_post + part_pre
    df = variance**2 / (part_post**2 / (post.size - 1) + part_pre**2 / (pre.size - 1)) if variance > 0 else 1.0
    return float(np.sqrt(variance)), float(df)


@small_blas
def fit_knowledge_gain(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec,
                       options: KnowledgeGainOptions, *, file: str) -> EstimateResult:
    inference = spec.inference
    post, pre, work, counts = _gain_sample(frame, outcome, spec, options, file=file)
    counts = {"rows_in_source": len(frame), **counts}
    if spec.weights is not None:
        return _weighted_gain(post, pre, work, spec, options, counts, file=file)
    ratio = _ratio(post, pre, work, options.paired)
    mean_pre, mean_post = ratio.mean_pre, ratio.mean_post
    if not mean_pre > 0:
        raise NotTestable("the mean score at the pre wave is not positive, so a relative change is undefined")
    theta = ratio.theta
    estimate = theta - 1.0
    clusters = None
    labels: tuple[str, ...] = ()
    if spec.design.cluster:
        labels, clusters = cluster_codes(work["cluster"].to_numpy())
        if len(labels) < 2:
            raise NotTestable("knowledge gain with cluster-robust inference needs at least 2 clusters")
    n_clusters = len(labels) if clusters is not None else None
    primary_method, rule = few_cluster_decision(spec, n_clusters)
    alternatives = _delta_alternatives(ratio, clusters, estimate, spec)
    alternatives["cluster_bootstrap_percentile"] = _percentile_bootstrap(ratio, clusters, spec)
    null_draws = None
    wild = None
    if clusters is not None:
        weights_kind = primary_method.removeprefix("wild_") if primary_method.startswith("wild_") else "webb"
        wild, null_draws = _wild_ratio(ratio, clusters, labels, spec, weights_kind)
        alternatives[f"wild_{weights_kind}"] = wild
    record: dict[str, Any] = {
        "primary": primary_method, "registered_se": inference.se, "rule": rule, "alternatives": alternatives,
        "estimate": estimate,
        "delta_method": "z_i = post_i - theta * pre_i; se(R) = se(mean z) / mean(pre)" if options.paired else
        "R = b_post / b_pre - 1 from y ~ 0 + 1{post} + 1{pre}; se(R)^2 = g' V g, g = (1, -theta) / mean(pre); "
        "the influence function is centred within each wave"}
    if primary_method.startswith("wild_"):
        chosen = {**wild, "std_error": alternatives["CR1"]["std_error"], "df": None}  # type: ignore[dict-item]
        record["sesoi_interval"] = wild["sesoi_interval"]  # type: ignore[index]
        record["std_error_note"] = ("std_error is the CR1 delta-method standard error; the p-value and the CI "
                                    "come from the wild bootstrap (Fieller-type inversion)")
    else:
        chosen = alternatives[primary_method]
        record["sesoi_interval"] = list(t_interval(estimate, chosen["std_error"], chosen["df"],
                                                   1.0 - 2.0 * inference.alpha))
    low, high = chosen["ci_low"], chosen["ci_high"]
    record["statement"] = _statement(estimate, low, high, inference.ci_level)
    extras = {"mean_pre": mean_pre, "mean_post": mean_post, "ratio": theta,
              "inference": InferenceRecord.from_dict(record), "statement": record["statement"],
              "paired": options.paired}
    counts["observations"] = int(post.size)
    return EstimateResult(
        estimate=estimate, std_error=float(chosen["std_error"]), ci_low=float(low), ci_high=float(high),
        ci_level=inference.ci_level, p_value=float(chosen["p_value"]),
        p_value_two_sided=float(chosen["p_value_two_sided"]), df=chosen["df"], n=int(post.size),
        n_clusters=n_clusters, se_type=primary_method, counts=counts, extras=extras, null_draws=null_draws)


def _weighted_gain(post: NDArray[np.float64], pre: NDArray[np.float64], work: pd.DataFrame, spec: HypothesisSpec,
                   options: KnowledgeGainOptions, counts: dict[str, int], *, file: str) -> EstimateResult:
    """Registered survey weights: the ratio of weighted mean scores (R survey's ``svyratio`` paired; the wave means
    as ``svyglm(y ~ 0 + post + pre)`` coefficients and the delta method unpaired), linearized variance with the
    raking adjustment, each wave of the estimation sample raked to the margins."""
    design, inference = spec.design, spec.inference
    assert spec.weights is not None
    columns = list(weight_columns(spec))
    if options.paired:
        wave = np.full(len(work), str(design.pre))
    else:
        wave = np.where(work["post"].to_numpy(dtype=bool), str(design.post), str(design.pre))
    calibration: Calibration = calibrate(work[columns], wave, spec.weights, file=file)
    w = calibration.weights
    psu, clustered = psu_codes(work["cluster"].to_numpy() if design.cluster else None, work["unit"].to_numpy())
    strata, n_strata = cluster_level_strata(calibration, psu, clustered=clustered, cluster=design.cluster)
    if options.paired:
        mean_post, mean_pre = float(w @ post / w.sum()), float(w @ pre / w.sum())
        if not mean_pre > 0:
            raise NotTestable("the weighted mean score at the pre wave is not positive, so a relative change is "
                              "undefined")
        theta = mean_post / mean_pre
        influence = w * (post - theta * pre) / float(w @ pre)
        variance = float(linearized_covariance(influence, psu, calibration, strata)[0, 0])
        fixed = float(linearized_covariance(influence, psu, None, strata)[0, 0])
        delta = "theta = sum(w post) / sum(w pre) (svyratio); influence w (post - theta pre) / sum(w pre)"
    else:
        is_post = work["post"].to_numpy(dtype=bool)
        answers = np.where(is_post, post, pre)
        x = np.column_stack([is_post, ~is_post]).astype(np.float64)
        fit = fit_weighted_regression(answers, x, calibration=calibration, fixed_effects=[], psu=psu,
                                      strata=strata)
        mean_post, mean_pre = float(fit.params[0]), float(fit.params[1])
        if not mean_pre > 0:
            raise NotTestable("the weighted mean score at the pre wave is not positive, so a relative change is "
                              "undefined")
        theta = mean_post / mean_pre
        gradient = np.array([1.0 / mean_pre, -theta / mean_pre])
        variance = float(gradient @ fit.vcov @ gradient)
        fixed = float(gradient @ fit.vcov_fixed_weights @ gradient)
        delta = ("R = b_post / b_pre - 1 from the weighted y ~ 0 + 1{post} + 1{pre}; se(R)^2 = g' V g, "
                 "g = (1, -theta) / mean(pre)")
    estimate = theta - 1.0
    primary = weighted_inference(estimate, float(np.sqrt(variance)), spec, n_psu=int(psu.max()) + 1, arms=None,
                                 clustered=clustered, fixed_weights_se=float(np.sqrt(fixed)), n_strata=n_strata)
    record = {**primary.record, "delta_method": delta}
    record["statement"] = _statement(estimate, primary.ci_low, primary.ci_high, inference.ci_level)
    extras = {"mean_pre": mean_pre, "mean_post": mean_post, "ratio": theta,
              "inference": InferenceRecord.from_dict(record), "statement": record["statement"],
              "paired": options.paired, "survey_weights": calibration.record}
    counts["observations"] = int(post.size)
    return EstimateResult(
        estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=inference.ci_level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided,
        df=primary.df, n=int(post.size), n_clusters=int(psu.max()) + 1 if clustered else None,
        se_type=primary.se_type, counts=counts, extras=extras)


def _statement(estimate: float, low: float, high: float, level: float) -> str:
    verb = "increased" if estimate >= 0 else "decreased"

    def pct(value: float) -> str:
        return "unbounded" if not math.isfinite(value) else f"{100 * value:.0f}%"

    return f"knowledge {verb} by {abs(100 * estimate):.0f}% ({100 * level:g}% CI {pct(low)} to {pct(high)})"


def _percentile_bootstrap(ratio: _Ratio, clusters: NDArray[np.intp] | None,
                          spec: HypothesisSpec) -> dict[str, Any]:
    """Resample whole clusters (units without clusters); each draw's wave means use its own answer counts."""
    boot = spec.inference.bootstrap
    post, pre = ratio.post, ratio.pre
    groups = clusters if clusters is not None else np.arange(post.size)
    n_groups = int(groups.max()) + 1
    sums_post = np.bincount(groups, weights=post, minlength=n_groups)
    sums_pre = np.bincount(groups, weights=pre, minlength=n_groups)
    if ratio.is_post is None:  # paired: both sums run over the same units, so the counts cancel
        count_post = count_pre = np.ones(n_groups)
    else:
        count_post = np.bincount(groups, weights=ratio.is_post.astype(np.float64), minlength=n_groups)
        count_pre = np.bincount(groups, weights=(~ratio.is_post).astype(np.float64), minlength=n_groups)
    rng = np.random.default_rng(boot.seed)
    picks = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=boot.draws).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        gains = ((picks @ sums_post) / (picks @ count_post)) / ((picks @ sums_pre) / (picks @ count_pre)) - 1.0
    gains = gains[np.isfinite(gains)]
    tail = (1.0 - spec.inference.ci_level) / 2.0
    return {"ci_low": float(np.quantile(gains, tail)), "ci_high": float(np.quantile(gains, 1 - tail)),
            "draws": int(boot.draws), "usable_draws": int(gains.size), "seed": int(boot.seed),
            "resampled": "clusters" if clusters is not None else "units"}


def _ratio_test(ratio: _Ratio, clusters: NDArray[np.intp],
                weights: NDArray[np.float64]) -> _RatioWildBootstrap | _TwoSampleRatioWildBootstrap:
    if ratio.is_post is None:
        return _RatioWildBootstrap(ratio.post, ratio.pre, clusters, weights)
    return _TwoSampleRatioWildBootstrap(ratio.answers, ratio.is_post, clusters, weights)


def _wild_ratio(ratio: _Ratio, clusters: NDArray[np.intp], labels: tuple[str, ...], spec: HypothesisSpec,
                kind: str) -> tuple[dict[str, Any], tuple[float, NDArray[np.float64]]]:
    inference = spec.inference
    boot = inference.bootstrap
    theta = ratio.theta
    enumerated = enumerable(len(labels), boot.draws, kind)
    weights = enumerated_weights(len(labels), kind) if enumerated else \
        bootstrap_weights(labels, boot.draws, kind, boot.seed)
    test = _ratio_test(ratio, clusters, weights)
    scale = abs(theta) * 0.05 + 1e-9
    draws = int(weights.shape[0])  # reported p-values: (1 + #) / (B + 1) for sampled weights, never 0
    p_two = monte_carlo_p(test.p_two_sided(1.0), draws, enumerated=enumerated)
    p = p_two if inference.tails == "two" or spec.direction == "any" else monte_carlo_p(
        test.p_one_sided(1.0, spec.direction), draws, enumerated=enumerated)
    low, high = _invert(test.p_two_sided, theta, scale, inference.ci_level)
    s_low, s_high = _invert(test.p_two_sided, theta, scale, 1.0 - 2.0 * inference.alpha)
    null_test = test if not enumerated else _ratio_test(
        ratio, clusters, bootstrap_weights(labels, boot.draws, kind, boot.seed))
    null_draws = np.asarray(null_test.t_draws(1.0), dtype=np.float64)
    null_draws.setflags(write=False)
    record = {"p_value": p, "p_value_two_sided": p_two, "ci_low": low - 1.0, "ci_high": high - 1.0,
              "sesoi_interval": [s_low - 1.0, s_high - 1.0], "draws": int(weights.shape[0]), "weights": kind,
              "seed": int(boot.seed), "enumerated": enumerated, "t_stat": test.t_observed(1.0),
              "type": "WCR test of E[post - theta0 * pre] = 0, inverted over theta0 (Fieller-type)"}
    return record, (test.t_observed(1.0), null_draws)


# --------------------------------------------------------------------------- share with a Wilson interval


def wilson_interval(share: float, n_effective: float, level: float) -> tuple[float, float]:
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    denominator = 1 + z * z / n_effective
    centre = (share + z * z / (2 * n_effective)) / denominator
    half = z * math.sqrt(share * (1 - share) / n_effective + z * z / (4 * n_effective**2)) / denominator
    return centre - half, centre + half


#: Below this many df (5 clusters or fewer) the Korn-Graubard Wilson interval is conservative (coverage grid).
KG_CONSERVATIVE_BELOW_DF = 5.0


def korn_graubard_n(n_effective: float, df: float | None, level: float) -> float:
    """Korn-Graubard degrees-of-freedom adjusted effective sample size: n_eff * (z / t_df)^2 at this level."""
    if not df:
        return n_effective
    tail = 1 - (1 - level) / 2
    return n_effective * (float(stats.norm.ppf(tail)) / float(stats.t.ppf(tail, df))) ** 2


@small_blas
def fit_share(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: ShareOptions, *,
              file: str) -> EstimateResult:
    design, inference = spec.design, spec.inference
    wave_label = options.wave or design.post
    if wave_label is not None:
        keep = (frame[design.time].astype("string") == wave_label).fillna(False).to_numpy(dtype=bool)
    else:
        keep = np.ones(len(frame), dtype=bool)
    values = outcome.to_numpy(np.float64)[keep]
    answered = ~np.isnan(values)
    values = values[answered]
    if values.size == 0:
        raise NotTestable(f"no answered outcome in wave '{wave_label}'")
    if not np.isin(values, [0.0, 1.0]).all():
        raise DataError("a share needs a 0/1 outcome", file=file, column=spec.outcome.name,
                        fix="code the outcome 1 = reported, 0 = not reported")
    n = values.size
    share = float(values.mean())
    counts = {"rows_in_source": len(frame), "observations": n, "rows_missing_outcome": int((~answered).sum())}
    n_clusters = None
    rule: dict[str, Any]
    se_type = inference.se
    deff = 1.0
    calibration = None
    df_lost = 0
    if spec.weights is not None:
        share, deff, n_clusters, rule, calibration, df_lost = _weighted_share(
            frame.loc[keep].loc[answered], values, spec, wave_label, file=file)
        se_type = "linearized"
    elif design.cluster:
        clusters = cluster_codes(frame.loc[keep, design.cluster].astype("string").to_numpy()[answered])[1]
        n_clusters = int(clusters.max()) + 1
        method, rule = few_cluster_decision(spec, n_clusters)
        if rule["fired"]:  # a Wilson interval has no bootstrap form: use the bias-reduced CR2 design effect
            se_type = "CR2"
            rule["reason"] += "; for a share the CR2 variance sets the design effect of the Wilson interval"
        if se_type != "iid" and share not in (0.0, 1.0):
            fit = fit_within(values, np.ones((n, 1)), fixed_effects=[], clusters=clusters)
            cluster_var = float(covariance(fit, se_type)[0, 0])
            deff = max(1.0, cluster_var / (share * (1 - share) / n))
    else:
        rule = {"name": "few_clusters", "fired": False, "reason": "no cluster column: the rule does not apply"}
    n_effective = n / deff
    # Korn & Graubard (1998): with clusters the design-based variance has G - 1 degrees of freedom, so the
    # effective n shrinks by (z / t_df)^2 for each interval, and the score test uses t_df (6 clusters: the normal
    # quantile covered 88%).
    df = float(n_clusters - 1) if n_clusters is not None and n_clusters > 1 else None
    if df is not None and calibration is not None:  # margins constant within clusters take df like strata
        df = max(1.0, df - df_lost)
    if df is not None and df < KG_CONSERVATIVE_BELOW_DF:
        rule["conservative"] = True
        rule["conservative_reason"] = (f"with {n_clusters} clusters the Korn-Graubard interval (t with {df:g} df) "
                                       "over-covers: about 99-100% of 95% intervals in benchmarks/coverage_study.py")
    low, high = wilson_interval(share, korn_graubard_n(n_effective, df, inference.ci_level), inference.ci_level)
    p0 = options.null_share
    score = (share - p0) / math.sqrt(p0 * (1 - p0) / n_effective)
    dist = stats.t(df) if df else stats.norm()
    p_two = float(2 * dist.sf(abs(score)))
    if inference.tails == "one" and spec.direction != "any":
        p = float(dist.sf(score) if spec.direction == "increase" else dist.cdf(score))
    else:
        p = p_two
    std_error = math.sqrt(share * (1 - share) / n_effective)
    sesoi_level = 1 - 2 * inference.alpha
    s_low, s_high = wilson_interval(share, korn_graubard_n(n_effective, df, sesoi_level), sesoi_level)
    record = {"primary": f"wilson ({se_type} design effect" + (", Korn-Graubard df)" if df else ")"),
              "registered_se": inference.se, "rule": rule, "df": df,
              "design_effect": deff, "effective_n": n_effective, "null_share": p0,
              "sesoi_interval": [s_low, s_high], "null": p0, "statement": f"{100 * share:.0f}% "
              f"({100 * inference.ci_level:g}% CI {100 * low:.0f}% to {100 * high:.0f}%)"}
    if wave_label is not None:
        record["wave"] = wave_label
    extras = {"share": share, "inference": record, "statement": record["statement"],
              "note": "estimate is the share; the p-value tests the registered null share"}
    if calibration is not None:
        record["std_error_note"] = ("weighted share (R survey's svymean on the raked design); the design effect "
                                        "is the linearized variance with the raking adjustment over p(1 - p) / n, "
                                        "not floored at 1, so std_error is the linearized standard error")
        extras["survey_weights"] = calibration.record
    extras["inference"] = InferenceRecord.from_dict(record)  # in its place, with the weighted note
    return EstimateResult(estimate=share, std_error=std_error, ci_low=low, ci_high=high, ci_level=inference.ci_level,
                          p_value=p, p_value_two_sided=p_two, df=df, n=n, n_clusters=n_clusters,
                          se_type=f"wilson_{se_type}", counts=counts, extras=extras)


def _weighted_share(rows: pd.DataFrame, values: NDArray[np.float64], spec: HypothesisSpec, wave_label: str | None,
                    *, file: str) -> tuple[float, float, int | None, dict[str, Any], Calibration, int]:
    """The weighted share of the answered rows of the wave raked to the margins, and its design effect from the
    linearized variance with the raking adjustment (clustered by design.cluster, else by unit)."""
    design = spec.design
    assert spec.weights is not None
    calibration = calibrate(rows[list(weight_columns(spec))], np.full(len(rows), str(wave_label)), spec.weights,
                            file=file)
    w = calibration.weights
    share = float(w @ values / w.sum())
    clusters = rows[design.cluster].to_numpy() if design.cluster else None
    psu, clustered = psu_codes(clusters, rows[design.unit].to_numpy())
    n_psu = int(psu.max()) + 1
    if n_psu < 2:
        raise NotTestable("a linearized variance needs at least 2 primary sampling units (clusters)")
    strata, n_strata = cluster_level_strata(calibration, psu, clustered=clustered, cluster=design.cluster)
    variance = float(linearized_covariance(w * (values - share) / w.sum(), psu, calibration, strata)[0, 0])
    binomial = share * (1 - share) / values.size
    deff = variance / binomial if binomial > 0 and variance > 0 else 1.0
    lost = n_strata - 1
    _, rule = few_cluster_decision(spec, n_psu if clustered else None)
    rule.update({"fired": False, "method": "linearized", "reason": (
        "survey weights registered: Wilson interval with the design effect of the Taylor-linearized variance "
        f"(raking adjustment, clustered by {design.cluster or design.unit}) and Korn-Graubard df")})
    return share, deff, (n_psu if clustered else None), rule, calibration, lost


__all__ = ["fit_knowledge_gain", "fit_share", "korn_graubard_n", "wilson_interval"]
