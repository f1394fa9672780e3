"""The data-generating model: a baseline/endline survey of respondents in clusters, many replicates at once.

Respondent i in cluster c at wave w (0 = baseline, 1 = endline)::

    y_icw = mean + v_c + s_cw + u_i + e_iw + effect * treated_c * w

with var(v_c) = CAC * ICC * sd**2, var(s_cw) = (1 - CAC) * ICC * sd**2, var(u_i) = IAC * (1 - ICC) * sd**2 and
var(e_iw) = (1 - IAC) * (1 - ICC) * sd**2 (see ``_parameters``). Clusters are equally sized (the remainder spread
over the first ones) and the first ``round(treated_share * clusters)`` are treated: with exchangeable clusters and a
constant effect, which clusters are treated does not change the estimator's distribution, so the layout is fixed and
only outcomes and attrition are drawn per replicate. Attrition is missing completely at random in both arms. With
repeated cross-sections the endline respondents are new people (u and e are drawn afresh).

With a Likert scale, each respondent-wave score is answered as ``items`` integer answers
``clip(round(score + noise), low, high)`` and the outcome is their mean, as the registered index is built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._parameters import DesignParameters


@dataclass(frozen=True)
class Layout:
    """Who is where: respondents sorted by cluster, cluster-level assignment. Same for every replicate."""

    cluster_of: NDArray[np.intp]  # (N,)
    cluster_starts: NDArray[np.intp]  # (G,) first respondent of each cluster
    treated: NDArray[np.float64]  # (N,) 0/1
    treated_cluster: NDArray[np.float64]  # (G,) 0/1
    clustered: bool
    #: (N,) who the effect reaches: all ones, or 1 for the ``level`` subgroup of a registered contrast (``by``)
    effect_weight: NDArray[np.float64] | None = None

    @property
    def n_units(self) -> int:
        return int(self.cluster_of.size)

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_starts.size)


@dataclass(frozen=True)
class SimulatedOutcomes:
    """Outcomes of ``R`` replicates: row r is one simulated survey."""

    baseline: NDArray[np.float64]  # (R, N)
    endline: NDArray[np.float64]  # (R, N); for repeated cross-sections, different people in the same slots
    responded_endline: NDArray[np.bool_]  # (R, N) False for attriters / endline nonrespondents


def make_layout(params: DesignParameters, *, subgroups: bool = False) -> Layout:
    """``subgroups``: alternate respondents between two subgroups and give the effect to the first only, so that
    a registered contrast (``by``) estimates ``effect`` as the difference between them."""
    n = params.respondents
    groups = params.clusters if params.clusters is not None else n
    sizes = np.full(groups, n // groups, dtype=np.intp)
    sizes[: n % groups] += 1
    cluster_of = np.repeat(np.arange(groups, dtype=np.intp), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    treated_cluster = np.zeros(groups)
    treated_cluster[: round(params.treated_share * groups)] = 1.0
    effect_weight = (np.arange(n) % 2 == 0).astype(np.float64) if subgroups else None
    return Layout(cluster_of, starts, treated_cluster[cluster_of], treated_cluster, params.clusters is not None,
                  effect_weight)


def simulate_outcomes(rng: np.random.Generator, layout: Layout, params: DesignParameters, *, replicates: int,
                      panel: bool) -> SimulatedOutcomes:
    """Draw ``replicates`` surveys. The order of draws is fixed, so a seed gives the same surveys everywhere."""
    r, n, g = replicates, layout.n_units, layout.n_clusters
    var = params.outcome_sd**2
    icc, cac, iac = params.icc, params.cluster_autocorrelation, params.individual_autocorrelation
    cluster_stable = rng.standard_normal((r, g)) * np.sqrt(cac * icc * var)
    cluster_wave = rng.standard_normal((2, r, g)) * np.sqrt((1 - cac) * icc * var)
    person_sd = np.sqrt(iac * (1 - icc) * var)
    noise_sd = np.sqrt((1 - iac) * (1 - icc) * var)
    person_pre = rng.standard_normal((r, n)) * person_sd
    # Repeated cross-sections interview new people at endline: their stable part is a fresh draw.
    person_post = person_pre if panel else rng.standard_normal((r, n)) * person_sd
    noise = rng.standard_normal((2, r, n)) * noise_sd
    responded = rng.random((r, n)) >= params.attrition

    cluster_pre = (cluster_stable + cluster_wave[0])[:, layout.cluster_of]
    cluster_post = (cluster_stable + cluster_wave[1])[:, layout.cluster_of]
    baseline = params.outcome_mean + cluster_pre + person_pre + noise[0]
    reached = layout.treated if layout.effect_weight is None else layout.treated * layout.effect_weight
    endline = params.outcome_mean + cluster_post + person_post + noise[1] + params.effect * reached
    if params.likert is not None:
        baseline = _likert_index(rng, baseline, params)
        endline = _likert_index(rng, endline, params)
    return SimulatedOutcomes(baseline, endline, responded)


def _likert_index(rng: np.random.Generator, score: NDArray[np.float64], params: DesignParameters) -> NDArray:
    scale = params.likert
    assert scale is not None
    noise = rng.standard_normal((scale.items, *score.shape)) * scale.item_noise_sd
    answers = np.clip(np.rint(score[None] + noise), scale.low, scale.high)
    return answers.mean(axis=0)
