"""Coverage of 95% intervals for a cluster-randomized panel DiD with 6, 12 and 40 clusters (ICC 0.05).

    .venv/bin/python benchmarks/coverage_study.py [--reps 2000] [--seed 1] [--draws 1999]

Design (one replication): G communities of unequal size (20 to 100 respondents, log-uniform), half of them treated
by lottery; every respondent answers at baseline and endline. The change in the outcome has intra-cluster
correlation 0.05 (community x wave shocks), respondent effects are absorbed, the true effect is 0.2. Each replication
is estimated as oca's survey_did does (respondent fixed effects, a wave dummy) and each interval is checked:

- CR1 with t(G-1) (the registered SE type of the demo specs),
- CR2 with Satterthwaite degrees of freedom (the few-cluster rule with ``method: cr2``),
- the wild cluster restricted bootstrap with Webb weights (the few-cluster rule's default, ``method: wild_webb``;
  its interval inverts the test, so it covers the truth exactly when the bootstrap p-value at the truth is >= 0.05,
  which is computed directly),
- for reference, the same bootstrap with all 2^G Rademacher weight vectors enumerated.

Prints one row per design with the coverage and its Monte Carlo standard error, then the verdict for 6 clusters
(acceptance 3 of issue 5: the few-cluster rule >= 93% while CR1 falls below). Exits 1 when no few-cluster method
reaches 93% or CR1 does not fall below it.

Finding (2,000 replications, seed 1): with 6 clusters, 3 treated, CR1 covers about 89.5%, CR2-Satterthwaite about
95%, the Webb wild bootstrap about 91.5-92% and enumerated Rademacher about 94.5%. Webb weights lack the sign symmetry
that makes the Rademacher wild bootstrap behave like a randomization test with very few clusters (Canay, Santos &
Shaikh 2021), and the test over-rejects slightly; from 12 clusters on all but CR1 are near 95%. That is why the
default few-cluster rule switches to CR2-Satterthwaite below ``few_clusters.cr2_below`` (10) clusters: the "default
rule" column applies the estimators' own ``few_cluster_decision`` to a spec registering CR1.
"""

from __future__ import annotations

import argparse
import sys
import time
from types import SimpleNamespace
from dataclasses import dataclass

import numpy as np
from scipy import stats

from oca_experiments._blas import single_thread_blas
from oca_experiments.estimators._cluster_inference import _BootstrapPieces, bootstrap_weights, enumerated_weights
from oca_experiments.estimators._inference import few_cluster_decision
from oca_experiments.estimators._linalg import covariance, fit_within, satterthwaite_df
from oca_experiments.spec._models import Bootstrap, FewClusters

EFFECT = 0.2
ICC = 0.05
DESIGNS = (6, 12, 40)
THRESHOLD = 0.93


@dataclass(frozen=True)
class Coverage:
    clusters: int
    reps: int
    cr1: float
    cr2: float
    wild: float

    rademacher: float

    @property
    def rule_method(self) -> str:
        """What the default few-cluster rule uses for a spec registering CR1 (the demo's): the estimators' own code."""
        spec = SimpleNamespace(inference=SimpleNamespace(se="CR1", few_clusters=FewClusters(), bootstrap=Bootstrap()))
        return few_cluster_decision(spec, self.clusters)[0]  # type: ignore[arg-type]

    @property
    def rule(self) -> float:
        return {"CR1": self.cr1, "CR2": self.cr2, "wild_webb": self.wild}[self.rule_method]

    def row(self) -> str:
        def cell(rate: float) -> str:
            return f"{100 * rate:5.1f}% ± {100 * np.sqrt(rate * (1 - rate) / self.reps):.1f}"

        return (f"{self.clusters:>8} {self.reps:>6}   {cell(self.cr1):>12}   {cell(self.cr2):>17}   "
                f"{cell(self.wild):>12}   {cell(self.rademacher):>16}   {cell(self.rule):>12} ({self.rule_method})")


def simulate(rng: np.random.Generator, clusters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stacked (baseline, endline) outcome, the [D, post] regressors, respondent codes and cluster codes."""
    sizes = np.round(np.exp(rng.uniform(np.log(20), np.log(100), clusters))).astype(int)
    cluster = np.repeat(np.arange(clusters), sizes)
    n = cluster.size
    treated = np.zeros(clusters)
    treated[rng.permutation(clusters)[: clusters // 2]] = 1.0
    person = rng.normal(0.0, 1.0, n)
    # Changes: var(cluster-wave shock difference) / var(change) = ICC.
    shock = rng.normal(0.0, np.sqrt(ICC / 2), (2, clusters))
    noise = rng.normal(0.0, np.sqrt((1 - ICC) / 2), (2, n))
    y = np.concatenate([person + shock[0, cluster] + noise[0],
                        person + shock[1, cluster] + noise[1] + EFFECT * treated[cluster]])
    post = np.repeat([0.0, 1.0], n)
    x = np.column_stack([post * np.tile(treated[cluster], 2), post])
    return y, x, np.tile(np.arange(n), 2), np.tile(cluster, 2)


def coverage(clusters: int, reps: int, seed: int, draws: int) -> Coverage:
    rng = np.random.default_rng([seed, clusters])
    labels = [f"c{g}" for g in range(clusters)]
    hits = np.zeros(4)
    enumerate_rademacher = 2 ** clusters <= draws
    for rep in range(reps):
        y, x, unit, cluster = simulate(rng, clusters)
        design = fit_within(y, x, fixed_effects=[unit], clusters=cluster)
        estimate = design.params[0]
        se1 = np.sqrt(covariance(design, "CR1")[0, 0])
        hits[0] += abs(estimate - EFFECT) <= stats.t.ppf(0.975, clusters - 1) * se1
        se2 = np.sqrt(covariance(design, "CR2")[0, 0])
        df2 = satterthwaite_df(design, design.contrast(0))
        hits[1] += abs(estimate - EFFECT) <= stats.t.ppf(0.975, df2) * se2
        weights = bootstrap_weights(labels, draws, "webb", seed * 1_000_003 + rep)
        hits[2] += _BootstrapPieces(design, 0, weights).p_two_sided(EFFECT) >= 0.05
        signs = enumerated_weights(clusters, "rademacher") if enumerate_rademacher else \
            bootstrap_weights(labels, draws, "rademacher", seed * 1_000_003 + rep)
        hits[3] += _BootstrapPieces(design, 0, signs).p_two_sided(EFFECT) >= 0.05
    cr1, cr2, wild, rademacher = hits / reps
    return Coverage(clusters, reps, cr1, cr2, wild, rademacher)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=1999, help="wild bootstrap draws per replication")
    args = parser.parse_args(argv)
    print(f"95% interval coverage, cluster-randomized panel DiD, ICC {ICC}, effect {EFFECT}, "
          f"{args.reps} replications per design, Webb weights ({args.draws} draws), seed {args.seed}")
    print(f"{'clusters':>8} {'reps':>6}   {'CR1 t(G-1)':>12}   {'CR2 Satterthwaite':>17}   {'wild (Webb)':>12}   "
          f"{'wild (Rademacher)':>16}   {'default rule':>12}")
    results = {}
    started = time.perf_counter()
    with single_thread_blas():
        for clusters in DESIGNS:
            results[clusters] = coverage(clusters, args.reps, args.seed, args.draws)
            print(results[clusters].row(), flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")
    six = results[6]

    def verdict(rate: float) -> str:
        return f"{100 * rate:.1f}% {'>=' if rate >= THRESHOLD else '<'} {100 * THRESHOLD:.0f}%"

    print(f"6 clusters: CR1 {verdict(six.cr1)}; the default few-cluster rule ({six.rule_method}): {verdict(six.rule)} "
          f"(method cr2: {verdict(six.cr2)}; Webb wild bootstrap: {verdict(six.wild)})")
    ok = six.cr1 < THRESHOLD and six.rule >= THRESHOLD
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
