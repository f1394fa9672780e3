"""One unit of work: simulate a chunk of replicates at one effect size and analyse them as registered.

Seeds: chunk ``k`` draws from ``SeedSequence(seed, spawn_key=(k,))``, the ``k``-th child of ``SeedSequence(seed)``,
whatever executor runs it and in whatever order, so the same seed gives identical results everywhere. Every effect
size reuses the same chunk seeds (common random numbers): the power curve is then smooth in the effect and the MDE
search does not chase Monte Carlo noise.

Two engines give the same numbers (tests check it to 1e-10):

- ``batched``: the closed-form kernels in ``_kernels`` solve all replicates of a chunk in a few array operations
  (iid, HC1 and CR1 for panel and cross-section DiDs; the wild cluster bootstrap for the panel DiD);
- ``reference``: builds each replicate as a data frame and calls the registered fitter (``REGISTRY``), one by one.
  Used where no batched kernel exists (a subgroup contrast, CR2/HC3 inference, the wild bootstrap on repeated
  cross-sections), for replicates that lost a whole cluster, and to validate the batched kernels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError
from ..spec import HypothesisSpec
from . import _kernels
from ._metrics import Replicates
from ._parameters import DesignParameters
from ._rule import InferenceRule, t_inference_batch
from ._simulate import Layout, SimulatedOutcomes, make_layout, simulate_outcomes

ENGINES = ("batched", "reference")


@dataclass(frozen=True)
class SimulationConfig:
    """Everything a worker needs; small and picklable (it travels to processes and Dask workers)."""

    parameters: DesignParameters
    spec: HypothesisSpec
    options: dict[str, Any]
    rule: InferenceRule
    engine: str
    seed: int
    chunk_size: int

    @property
    def panel(self) -> bool:
        return bool(self.options.get("panel", True))

    @property
    def contrast(self) -> dict[str, str] | None:
        return self.options.get("by")


@dataclass(frozen=True)
class ChunkTask:
    config: SimulationConfig
    effect: float
    chunk: int
    replicates: int
    coverage: bool = True  # False on power-curve points: they need only the test at zero


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk,)))


def simulate_chunk(task: ChunkTask) -> tuple[Layout, SimulatedOutcomes]:
    config = task.config
    params = config.parameters.with_effect(task.effect)
    layout = make_layout(params, subgroups=config.contrast is not None)
    outcomes = simulate_outcomes(chunk_rng(config.seed, task.chunk), layout, params, replicates=task.replicates,
                                 panel=config.panel)
    return layout, outcomes


def run_chunk(task: ChunkTask) -> Replicates:
    """Simulate one chunk and return what the registered analysis gives on each replicate."""
    layout, outcomes = simulate_chunk(task)
    if task.config.engine == "batched":
        return analyse_batched(outcomes, layout, task.config, task.effect, coverage=task.coverage)
    return analyse_reference(outcomes, layout, task.config, task.effect)


def cluster_labels(n_clusters: int) -> tuple[str, ...]:
    """Labels of the simulated clusters. The wild bootstrap draws its weights per label, so both engines must
    name clusters alike."""
    return tuple(f"K{c:04d}" for c in range(n_clusters))


def primary_method(spec: HypothesisSpec, n_clusters: int | None, treated: int | None = None) -> str:
    """The registered primary inference for this many clusters (``treated`` of them treated): the estimators' own
    few-cluster decision, keyed on each arm's clusters as the arm-comparing estimators key it."""
    from ..estimators import ClusterCounts, few_cluster_decision

    counts = None
    if n_clusters is not None and treated is not None and spec.estimator.name in ("survey_did", "ancova"):
        counts = ClusterCounts(treated, n_clusters - treated, None, True)
    return few_cluster_decision(spec, n_clusters, counts=counts)[0]


def treated_clusters(params: Any, n_clusters: int | None) -> int | None:
    """How many of the simulated clusters are treated (``_simulate`` treats the first round(share * G))."""
    return None if n_clusters is None else int(round(params.treated_share * n_clusters))


def batchable(spec: HypothesisSpec, options: dict[str, Any], n_clusters: int | None,
              treated: int | None = None) -> bool:
    method = primary_method(spec, n_clusters, treated)
    if options.get("by") is not None or spec.covariates:
        return False
    return method in BATCHED_SE_TYPES or (method.startswith("wild_") and bool(options.get("panel", True))
                                          and n_clusters is not None)


#: Analytic SE types with a closed-form kernel; the wild bootstrap has one for the panel DiD.
BATCHED_SE_TYPES = ("iid", "HC1", "CR1")


@functools.lru_cache(maxsize=8)
def _wild_weights(n_clusters: int, draws: int, kind: str, seed: int) -> np.ndarray:
    from ..estimators import bootstrap_weights, enumerable, enumerated_weights

    if enumerable(n_clusters, draws, kind):
        weights = enumerated_weights(n_clusters, kind)
    else:
        weights = bootstrap_weights(cluster_labels(n_clusters), draws, kind, seed)
    weights.setflags(write=False)  # cached and shared between chunks
    return weights


def analyse_batched(outcomes: SimulatedOutcomes, layout: Layout, config: SimulationConfig, effect: float, *,
                    coverage: bool = True) -> Replicates:
    """``coverage=False`` skips the coverage check (power-curve points need only the test at zero)."""
    spec, rule = config.spec, config.rule
    planned = layout.n_clusters if layout.clustered else None
    method = primary_method(spec, planned, treated_clusters(config.parameters, planned))
    kernel = _kernels.panel_did if config.panel else _kernels.cross_section_did
    fit = kernel(outcomes, layout, "CR1" if method.startswith("wild_") else method)
    std_error = np.sqrt(fit.variance)
    truth = np.full(fit.estimate.size, float(effect))
    if method.startswith("wild_"):
        boot = spec.inference.bootstrap
        weights = _wild_weights(layout.n_clusters, boot.draws, method.removeprefix("wild_"), boot.seed)
        kind = "two_sided" if rule.tails == "two" or rule.direction == "any" else (
            "upper" if rule.direction == "increase" else "lower")
        requests = [(np.zeros_like(truth), kind)]
        if coverage:  # the registered CI inverts the test: it covers the truth when the test at the truth accepts
            requests.append((truth, "two_sided"))
        p_values = _kernels.panel_wild_bootstrap(outcomes, layout, fit, weights, requests)
        from ..estimators import enumerable

        if not enumerable(layout.n_clusters, boot.draws, method.removeprefix("wild_")):
            # the verdict's p-value counts the data as one more draw, (1 + #)/(B + 1), as the fitter reports it;
            # coverage inverts the share-of-draws test, as the fitter's interval does
            draws = weights.shape[0]
            p_values[0] = np.where(np.isfinite(p_values[0]), (np.round(p_values[0] * draws) + 1) / (draws + 1),
                                   np.nan)
        covered = np.full_like(truth, np.nan)
        if coverage:
            covered = np.where(np.isfinite(p_values[1]), p_values[1] >= 1 - rule.ci_level, np.nan)
        result = Replicates(fit.estimate, std_error, np.full_like(truth, np.nan), p_values[0], covered)
    else:
        inference = t_inference_batch(fit.estimate, std_error, fit.df, rule)
        with np.errstate(invalid="ignore"):
            covered = np.where(np.isfinite(fit.estimate),
                               (inference.ci_low <= truth) & (truth <= inference.ci_high), np.nan)
        result = Replicates(fit.estimate, std_error, fit.df, inference.p_value, covered)
    if layout.clustered:
        # A replicate that lost every respondent of a cluster has fewer clusters, so the registered rule, the
        # bootstrap weights and the small-sample factor differ: analyse those few with the registered fitter.
        short = np.flatnonzero(fit.n_clusters != layout.n_clusters)
        if short.size:
            result = result.replace(short, analyse_reference(outcomes, layout, config, effect, replicates=short))
    return result


def replicate_frame(outcomes: SimulatedOutcomes, layout: Layout, config: SimulationConfig,
                    replicate: int) -> tuple[pd.DataFrame, pd.Series]:
    """Replicate ``replicate`` as the survey file the spec describes (its column names and wave labels)."""
    design = config.spec.design
    n = layout.n_units
    answered = outcomes.responded_endline[replicate]
    units = np.array([f"U{i:06d}" for i in range(n)])
    # Repeated cross-sections interview other people at endline.
    endline_units = units if config.panel else np.array([f"V{i:06d}" for i in range(n)])
    columns: dict[str, Any] = {
        design.unit: np.concatenate([units, endline_units[answered]]),
        design.time: [design.pre] * n + [design.post] * int(answered.sum()),
        design.treatment: np.concatenate([layout.treated, layout.treated[answered]]).astype(np.int64),
    }
    if design.cluster:
        clusters = np.array(cluster_labels(layout.n_clusters))[layout.cluster_of]
        columns[design.cluster] = np.concatenate([clusters, clusters[answered]])
    randomization = config.spec.inference.randomization
    if randomization is not None and randomization.blocks and design.cluster:
        # Blocks pair treated and comparison clusters two and two, as the lottery within each CSO's area does.
        blocks = np.array([f"B{b:03d}" for b in randomization_blocks(layout)])[layout.cluster_of]
        columns[randomization.blocks] = np.concatenate([blocks, blocks[answered]])
    contrast = config.contrast
    if contrast is not None and layout.effect_weight is not None:
        labels = np.where(layout.effect_weight == 1.0, contrast["level"], contrast["reference"])
        columns[contrast["column"]] = np.concatenate([labels, labels[answered]])
    frame = pd.DataFrame(columns)
    outcome = pd.Series(np.concatenate([outcomes.baseline[replicate], outcomes.endline[replicate][answered]]),
                        index=frame.index)
    return frame, outcome


def randomization_blocks(layout: Layout) -> np.ndarray:
    """Block of each cluster: the k-th pair of treated clusters with the k-th pair of comparison clusters."""
    treated = np.flatnonzero(layout.treated_cluster == 1.0)
    comparison = np.flatnonzero(layout.treated_cluster == 0.0)
    block = np.empty(layout.n_clusters, dtype=np.intp)
    block[treated] = np.arange(treated.size) // 2
    block[comparison] = np.arange(comparison.size) // 2
    return block


def analyse_reference(outcomes: SimulatedOutcomes, layout: Layout, config: SimulationConfig, effect: float, *,
                      replicates: np.ndarray | None = None) -> Replicates:
    """The registered fitter on each replicate as a data frame: slow, and the definition of "as registered"."""
    from ..estimators import REGISTRY

    record = REGISTRY[config.spec.estimator.name]
    options = record.options_model.model_validate(config.options)
    fitter = record.fitter
    rows = []
    indices = range(outcomes.baseline.shape[0]) if replicates is None else replicates
    for r in indices:
        frame, outcome = replicate_frame(outcomes, layout, config, int(r))
        try:
            result = fitter(frame, outcome, config.spec, options, file="<simulated survey>")
        except EstimationError:  # NotTestable included: the registered analysis refuses this replicate
            rows.append((np.nan,) * 5)
            continue
        covered = float(result.ci_low <= effect <= result.ci_high)
        rows.append((result.estimate, result.std_error, np.nan if result.df is None else result.df,
                     result.p_value, covered))
    table = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return Replicates(*(table[:, j].copy() for j in range(5)))
