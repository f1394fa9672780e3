"""Design diagnosis fast path: 1,000 replicates of a clustered panel DiD at n = 2,000, vectorized versus a naive loop.

Both sides analyse the same simulated surveys (1,000 respondents in 40 communities, baseline and endline: 2,000
rows per replicate; cluster-robust CR1 by community):

- vectorized: ``oca_experiments.design``'s batched kernel, all replicates of a chunk in a few array operations;
- plain numpy loop: per replicate, the same within estimate and CR1 SE in a few numpy calls (the honest baseline);
- naive: per replicate, build the data frame, absorb the respondent fixed effects with a pandas group-by and refit
  with statsmodels OLS (cluster-robust covariance), as one would in a loop. Timed on ``--naive`` replicates and
  scaled to 1,000 when fewer are run.

The estimates must agree to 1e-9 (the same coefficient); statsmodels' CR1 counts K differently from fixest, so the
SEs agree up to that constant factor, which is checked. Prints the ratio; the goal is at least 20x.

    .venv/bin/python benchmarks/design_vectorized.py [--replicates 1000] [--naive 1000]

A second line times the registered few-cluster inference (wild cluster bootstrap, Webb, 9,999 draws) batched
versus the registered fitter per replicate, on 24 clusters as in the demo (timed on fewer replicates, scaled).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import oca_experiments as oca  # noqa: E402
from oca_experiments.design._engine import (  # noqa: E402
    ChunkTask,
    SimulationConfig,
    analyse_batched,
    analyse_reference,
    simulate_chunk,
)
from oca_experiments.design._parameters import DesignParameters  # noqa: E402
from oca_experiments.design._rule import registered_rule  # noqa: E402

CLUSTERS, RESPONDENTS = 40, 1000  # 2 waves -> n = 2,000 rows per replicate


def _config(*, few_cluster_rule: bool, clusters: int, respondents: int) -> SimulationConfig:
    study = oca.load_study(Path(__file__).resolve().parents[1])
    task = study.plan.task("h1_horizontal_trust")
    inference = task.spec.inference
    if not few_cluster_rule:  # registered CR1 kept: the OLS/DiD fast path the issue asks to compare
        inference = inference.model_copy(update={"few_clusters": inference.few_clusters.model_copy(
            update={"threshold": 0})})
    spec = task.spec.model_copy(update={"inference": inference})
    params = DesignParameters(clusters=clusters, respondents=respondents, icc=0.05, effect=0.2, attrition=0.0,
                              outcome_sd=1.0, outcome_mean=0.0, individual_autocorrelation=0.5,
                              cluster_autocorrelation=0.8, treated_share=0.5, target_power=0.8)
    return SimulationConfig(params, spec, task.options.model_dump(mode="json"), registered_rule(spec), "batched",
                            seed=2026, chunk_size=100)


def naive_statsmodels(outcomes, layout, replicate: int) -> tuple[float, float]:
    n = layout.n_units
    frame = pd.DataFrame({
        "unit": np.tile(np.arange(n), 2),
        "post": np.repeat([0.0, 1.0], n),
        "cluster": np.tile(layout.cluster_of, 2),
        "y": np.concatenate([outcomes.baseline[replicate], outcomes.endline[replicate]]),
    })
    frame["d"] = np.tile(layout.treated, 2) * frame["post"]
    within = frame[["y", "d", "post"]] - frame.groupby("unit")[["y", "d", "post"]].transform("mean")
    fit = sm.OLS(within["y"], within[["d", "post"]]).fit(cov_type="cluster",
                                                         cov_kwds={"groups": frame["cluster"].to_numpy()})
    return float(fit.params["d"]), float(fit.bse["d"])


def naive_numpy(outcomes, layout, replicate: int) -> tuple[float, float]:
    """The same within estimate and statsmodels-style CR1 SE, in plain numpy, one replicate at a time.

    The honest second baseline (issue 21): a loop without pandas/statsmodels overhead.
    """
    n = layout.n_units
    y = np.concatenate([outcomes.baseline[replicate], outcomes.endline[replicate]])
    post = np.repeat([0.0, 1.0], n)
    d = np.tile(layout.treated.astype(np.float64), 2) * post
    x = np.column_stack([d, post])
    x = x - np.tile((x[:n] + x[n:]) / 2, (2, 1))  # two waves: the unit mean is the pair mean
    y = y - np.tile((y[:n] + y[n:]) / 2, 2)
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    resid = y - x @ beta
    cluster = np.tile(layout.cluster_of, 2)
    _, codes = np.unique(cluster, return_inverse=True)
    groups = int(codes.max()) + 1
    scores = np.column_stack([np.bincount(codes, weights=x[:, j] * resid, minlength=groups) for j in range(2)])
    rows = y.size
    factor = groups / (groups - 1) * (rows - 1) / (rows - 2)
    cov = bread @ (scores.T @ scores) @ bread * factor
    return float(beta[0]), float(np.sqrt(cov[0, 0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=1000, help="replicates the naive loop runs (scaled up)")
    parser.add_argument("--wild-reference", type=int, default=10, help="replicates for the registered fitter")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; medians are reported")
    args = parser.parse_args()

    with threadpool_limits(1):  # one core each side: a fair, repeatable comparison on a shared machine
        config = _config(few_cluster_rule=False, clusters=CLUSTERS, respondents=RESPONDENTS)
        task = ChunkTask(config, 0.2, chunk=0, replicates=args.replicates)
        start = time.perf_counter()
        layout, outcomes = simulate_chunk(task)
        simulated = time.perf_counter() - start
        runs = min(args.naive, args.replicates)
        times: dict[str, list[float]] = {"vectorized": [], "numpy loop": [], "statsmodels loop": []}
        load_before = os.getloadavg()[0]
        print(f"load average before: {os.getloadavg()}")
        for _ in range(args.repeats):  # interleaved: load hits every contender alike
            start = time.perf_counter()
            fast = analyse_batched(outcomes, layout, config, 0.2)
            times["vectorized"].append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = [naive_numpy(outcomes, layout, r) for r in range(args.replicates)]
            times["numpy loop"].append(time.perf_counter() - start)
            start = time.perf_counter()
            naive = [naive_statsmodels(outcomes, layout, r) for r in range(runs)]
            times["statsmodels loop"].append((time.perf_counter() - start) * args.replicates / runs)
        medians = {name: statistics.median(samples) for name, samples in times.items()}
        vectorized, naive_seconds, numpy_seconds = (medians["vectorized"], medians["statsmodels loop"],
                                                    medians["numpy loop"])

        estimates = np.array([e for e, _ in naive])
        ses = np.array([s for _, s in naive])
        assert np.allclose(estimates, fast.estimate[:runs], rtol=0, atol=1e-9), "estimates differ"
        assert np.allclose([e for e, _ in plain[:runs]], estimates, rtol=0, atol=1e-9), "numpy loop differs"
        assert np.allclose([s for _, s in plain[:runs]], ses, rtol=1e-9), "numpy loop SE differs from statsmodels"
        ratio_se = fast.std_error[:runs] / ses
        assert np.allclose(ratio_se, ratio_se[0], rtol=1e-9), "SEs differ beyond statsmodels' constant K factor"
        print(f"clustered panel DiD, {args.replicates} replicates x n = {2 * RESPONDENTS} rows, {CLUSTERS} clusters, "
              f"CR1 (medians of {args.repeats} interleaved rounds): vectorized {vectorized:.3f} s; "
              f"plain numpy loop {numpy_seconds:.2f} s (ratio {numpy_seconds / vectorized:.0f}x); "
              f"pandas+statsmodels loop {naive_seconds:.1f} s"
              f"{'' if runs == args.replicates else f' (timed on {runs}, scaled)'} "
              f"(ratio {naive_seconds / vectorized:.0f}x); simulating the surveys took {simulated:.3f} s "
              f"(shared); load {os.getloadavg()[0]:.2f}")

        wild = _config(few_cluster_rule=True, clusters=24, respondents=1200)
        task = ChunkTask(wild, 0.2, chunk=0, replicates=100)
        layout, outcomes = simulate_chunk(task)
        start = time.perf_counter()
        batched = analyse_batched(outcomes, layout, wild, 0.2)
        batched_seconds = (time.perf_counter() - start) * 10
        start = time.perf_counter()
        reference = analyse_reference(outcomes, layout, wild, 0.2, replicates=np.arange(args.wild_reference))
        reference_seconds = (time.perf_counter() - start) * 1000 / args.wild_reference
        assert np.array_equal(batched.p_value[:args.wild_reference], reference.p_value), "p-values differ"
        print(f"registered few-cluster rule (wild cluster bootstrap, Webb, 9,999 draws), 24 clusters, per 1,000 "
              f"replicates: batched {batched_seconds:.1f} s, registered fitter {reference_seconds:.0f} s "
              f"(both scaled from 100 / {args.wild_reference} replicates): ratio "
              f"{reference_seconds / batched_seconds:.0f}x")
    load_after = os.getloadavg()[0]
    from _summary import emit  # benchmarks/ is on sys.path when this runs as a script

    emit(what=f"design diagnosis, {args.replicates:,} replicates of a clustered DiD, n = {2 * RESPONDENTS:,}",
         command=" ".join(["benchmarks/design_vectorized.py", *sys.argv[1:]]),
         result=(f"vectorized {vectorized:.3f} s; plain numpy loop computing the same CR1 estimate "
                 f"{numpy_seconds:.2f} s ({numpy_seconds / vectorized:.0f}x); pandas+statsmodels loop "
                 f"{naive_seconds:.1f} s ({naive_seconds / vectorized:.0f}x); Webb bootstrap rule "
                 f"{reference_seconds / batched_seconds:.0f}x (medians of {args.repeats} interleaved rounds)"),
         ratios={"numpy_loop_over_vectorized": numpy_seconds / vectorized,
                 "statsmodels_loop_over_vectorized": naive_seconds / vectorized,
                 "wild_reference_over_batched": reference_seconds / batched_seconds},
         target=">= 20x the pandas+statsmodels loop", met=naive_seconds / vectorized >= 20, load=[load_before, load_after])
    return 0


if __name__ == "__main__":
    sys.exit(main())
