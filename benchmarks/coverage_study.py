"""Coverage grid of 95% intervals for the survey estimators and oca's default few-cluster rule (issue 15).

    nice .venv/bin/python benchmarks/coverage_study.py [--reps 150] [--seed 1] [--draws 99] [--out FILE.md]

Grid: clusters G in {4, 6, 8, 12, 20, 40}; treated clusters G1 in {1, 2, 3, G/2} (estimators that compare arms);
ICC 0.05 and 0.2; normal and skewed (centred exponential, skewness 2) errors; equal (20 per cluster) and unequal
(log-uniform 5 to 60) cluster sizes. Estimators, each computed with oca's own internals:

- ``survey_did`` (panel, respondent fixed effects, wave dummy; the ICC is that of the change) and ``ancova``
  (endline on treatment and baseline): CR1 t(G-1), CR2-Satterthwaite, the wild cluster restricted bootstrap
  (Webb, CR1-studentized), randomization inference (coefficient, all assignments when they fit into the draws,
  interval by inverting a constant effect) and the **default rule** (``few_cluster_decision`` with the arms'
  cluster counts and the CR2 df, exactly as the estimators call it);
- ``knowledge_gain`` paired and unpaired (one arm, gain 10%): CR1, CR2, the Fieller-type wild bootstrap, the
  percentile cluster bootstrap (in the RI column: there is no assignment to randomize) and the default rule;
- ``share`` (0/1, latent Beta cluster shares; "normal" = share 0.3, "skewed" = share 0.1): Wilson with the CR1
  design effect and the normal quantile (the old default), Wilson with the CR2 design effect and the Korn-Graubard
  df (the new default) and the default rule.

Coverage of a test-inversion interval is computed exactly as "the test does not reject the truth" (one p-value per
replication). Each cell prints coverage (Monte Carlo SE sqrt(p(1-p)/reps)) and the median interval length of CR2
and of the default rule. The rule's claim per cell: ``valid`` (target 93-97%), ``conservative`` (it says its
intervals over-cover: RI cannot reject with so few assignments and CR2 is used) or ``refused`` (no valid method:
one treated cluster and too few assignments). A cell FAILS when the rule claims ``valid`` and its coverage is
outside 93-97% by more than two Monte Carlo SEs; the script exits 1 if any does.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from scipy import stats

from oca_experiments._blas import single_thread_blas
from oca_experiments.estimators._cluster_inference import _WEBB_VALUES, RandomizationPieces, _BootstrapPieces
from oca_experiments.estimators._gain import (
    _delta_alternatives,
    _percentile_bootstrap,
    _Ratio,
    KG_CONSERVATIVE_BELOW_DF,
    _ratio_test,
    korn_graubard_n,
    wilson_interval,
)
from oca_experiments.estimators._inference import ClusterCounts, few_cluster_decision
from oca_experiments.estimators._linalg import covariance, demean, fit_within, satterthwaite_df
from oca_experiments.spec._models import Bootstrap, FewClusters

EFFECT = 0.2
GAIN = 0.1
LOW, HIGH = 0.93, 0.97
CLUSTERS = (4, 6, 8, 12, 20, 40)
ICCS = (0.05, 0.2)
ERRORS = ("normal", "skewed")
SIZES = ("equal", "unequal")
ARM_ESTIMATORS = ("survey_did", "ancova")
ONE_ARM_ESTIMATORS = ("gain_paired", "gain_unpaired", "share")
METHODS = ("CR1", "CR2", "wild", "RI", "rule")


def treated_counts(g: int) -> list[int]:
    return sorted({1, 2, 3, g // 2} - {g, 0})


def _spec(draws: int) -> SimpleNamespace:
    inference = SimpleNamespace(se="CR1", few_clusters=FewClusters(), bootstrap=Bootstrap(draws=draws, seed=5),
                                ci_level=0.95, tails="two", alpha=0.05, randomization=None)
    return SimpleNamespace(inference=inference, direction="any")


def _errors(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    if kind == "normal":
        return rng.normal(0.0, 1.0, size)
    return rng.exponential(1.0, size) - 1.0  # mean 0, SD 1, skewness 2


def _sizes(rng: np.random.Generator, g: int, kind: str) -> np.ndarray:
    if kind == "equal":
        return np.full(g, 20)
    return np.round(np.exp(rng.uniform(np.log(5), np.log(60), g))).astype(int)


@dataclass
class Cell:
    estimator: str
    clusters: int
    treated: int | None
    icc: float
    errors: str
    sizes: str
    reps: int
    hits: dict[str, int]
    lengths: dict[str, list[float]]
    claims: dict[str, int]

    def rate(self, method: str) -> float | None:
        return self.hits[method] / self.reps if method in self.hits else None

    @property
    def claim(self) -> str:
        return max(self.claims, key=lambda k: self.claims[k])

    def rule_rate(self) -> float | None:
        """Coverage of the rule over the replications where it gives an interval (not refused)."""
        given = self.reps - self.claims.get("refused", 0)
        return self.hits["rule"] / given if given else None

    @property
    def fails(self) -> bool:
        rate = self.rule_rate()
        if rate is None or self.claim != "valid":
            return False
        mcse = math.sqrt(max(rate * (1 - rate), 0.0025) / self.reps)
        return rate < LOW - 2 * mcse or rate > HIGH + 2 * mcse

    def row(self) -> str:
        def pct(method: str) -> str:
            rate = self.rate(method) if method != "rule" else self.rule_rate()
            if rate is None:
                return "–"
            return f"{100 * rate:.1f} ± {100 * math.sqrt(rate * (1 - rate) / self.reps):.1f}"

        def length(method: str) -> str:
            values = [v for v in self.lengths.get(method, []) if math.isfinite(v)]
            return f"{np.median(values):.3f}" if values else "–"

        g1 = "–" if self.treated is None else str(self.treated)
        status = "FAIL" if self.fails else ("ok" if self.claim == "valid" else self.claim)
        return (f"| {self.estimator} | {self.clusters} | {g1} | {self.icc} | {self.errors} | {self.sizes} | "
                + " | ".join(pct(m) for m in METHODS) + f" | {length('CR2')} | {length('rule')} | "
                f"{self.rule_method} | {status} |")

    rule_method: str = ""


HEADER = ("| estimator | G | G1 | ICC | errors | sizes | CR1 | CR2 | wild | RI / percentile | default rule | "
          "CR2 length | rule length | rule method | rule claim |\n" + "|---" * 15 + "|")


# --------------------------------------------------------------------------- estimators comparing arms


def _arm_data(rng, g, g1, icc, errors, sizes):
    n_g = _sizes(rng, g, sizes)
    cluster = np.repeat(np.arange(g), n_g)
    treated = np.zeros(g)
    treated[rng.permutation(g)[:g1]] = 1.0
    n = cluster.size
    person = rng.normal(0.0, 1.0, n)
    shocks = _errors(rng, errors, (2, g)) * math.sqrt(icc / 2)
    noise = _errors(rng, errors, (2, n)) * math.sqrt((1 - icc) / 2)
    pre = person + shocks[0, cluster] + noise[0]
    post = person + shocks[1, cluster] + noise[1] + EFFECT * treated[cluster]
    return pre, post, cluster, treated


def _arm_design(estimator, pre, post, cluster, treated):
    d = treated[cluster]
    n = cluster.size
    if estimator == "survey_did":
        y = np.concatenate([pre, post])
        wave = np.repeat([0.0, 1.0], n)
        x = np.column_stack([wave * np.tile(d, 2), wave])
        units = np.tile(np.arange(n), 2)
        clusters = np.tile(cluster, 2)
        design = fit_within(y, x, fixed_effects=[units], clusters=clusters)
        onehot = np.zeros((2 * n, treated.size))
        onehot[np.arange(2 * n), clusters] = wave
        base = demean(onehot, [units])
        fixed = demean(wave[:, None], [units])
        return design, design.y, fixed, base
    x = np.column_stack([d, np.ones(n), pre])
    design = fit_within(post, x, fixed_effects=[], clusters=cluster)
    onehot = np.zeros((n, treated.size))
    onehot[np.arange(n), cluster] = 1.0
    return design, post, x[:, 1:], onehot


def arm_cell(estimator, g, g1, icc, errors, sizes, reps, seed, draws) -> Cell:
    rng = np.random.default_rng([seed, g, g1, int(icc * 100), ERRORS.index(errors), SIZES.index(sizes),
                                 ARM_ESTIMATORS.index(estimator)])
    spec = _spec(draws)
    hits = dict.fromkeys(METHODS, 0)
    lengths: dict[str, list[float]] = {"CR2": [], "rule": []}
    claims = {"valid": 0, "conservative": 0, "refused": 0}
    method_seen = ""
    for rep in range(reps):
        pre, post, cluster, treated = _arm_data(rng, g, g1, icc, errors, sizes)
        design, y, fixed, base = _arm_design(estimator, pre, post, cluster, treated)
        estimate = float(design.params[0])
        se1 = math.sqrt(covariance(design, "CR1")[0, 0])
        se2 = math.sqrt(covariance(design, "CR2")[0, 0])
        df2 = satterthwaite_df(design, design.contrast(0))
        half2 = stats.t.ppf(0.975, df2) * se2
        covered = {"CR1": abs(estimate - EFFECT) <= stats.t.ppf(0.975, g - 1) * se1,
                   "CR2": abs(estimate - EFFECT) <= half2}
        weights = _WEBB_VALUES[rng.integers(0, 6, (draws, g))]  # same law as the per-label streams, faster
        covered["wild"] = _BootstrapPieces(design, 0, weights).p_two_sided(EFFECT) >= 0.05
        ri = RandomizationPieces(y, fixed, base, treated, blocks=None, draws=draws, seed=seed + rep)
        covered["RI"] = ri.covers(EFFECT, 0.05)
        lengths["CR2"].append(2 * half2)
        method, rule = few_cluster_decision(spec, g, counts=ClusterCounts(g1, g - g1, df2, True))
        if method == "randomization":
            if ri.p_far() <= 0.05:
                claims["valid"] += 1
                covered["rule"] = covered["RI"]
                lengths["rule"].append(float("nan"))
            elif min(g1, g - g1) >= 2:
                method = "CR2 (RI uninformative)"
                claims["conservative" if min(g1, g - g1) == 2 else "valid"] += 1
                covered["rule"] = covered["CR2"]
                lengths["rule"].append(2 * half2)
            else:
                method = "refused"
                claims["refused"] += 1
                covered["rule"] = False
        else:
            claims["valid"] += 1
            covered["rule"] = covered[{"CR2": "CR2", "CR1": "CR1"}.get(method, "wild")]
            lengths["rule"].append(2 * half2 if method == "CR2" else float("nan"))
        method_seen = method
        for key in METHODS:
            hits[key] += bool(covered[key])
    cell = Cell(estimator, g, g1, icc, errors, sizes, reps, hits, lengths, claims)
    cell.rule_method = method_seen
    return cell


# --------------------------------------------------------------------------- knowledge gain and share


def _gain_data(rng, g, icc, errors, sizes, paired):
    n_g = _sizes(rng, g, sizes)
    cluster = np.repeat(np.arange(g), n_g)
    n = cluster.size
    sd = 2.0
    level = _errors(rng, errors, g) * sd * math.sqrt(icc)
    if paired:
        person = _errors(rng, errors, n) * sd * math.sqrt((1 - icc) * 0.5)
        pre = 5.0 + level[cluster] + person + _errors(rng, errors, n) * sd * math.sqrt((1 - icc) * 0.5)
        post = 5.5 + level[cluster] + person + _errors(rng, errors, n) * sd * math.sqrt((1 - icc) * 0.5)
        return _Ratio(post, pre, None, float(post.mean()), float(pre.mean())), cluster
    wave_cluster = np.concatenate([cluster, np.repeat(np.arange(g), _sizes(rng, g, sizes))])
    is_post = np.arange(wave_cluster.size) >= n
    y = np.where(is_post, 5.5, 5.0) + level[wave_cluster] + _errors(rng, errors, wave_cluster.size) * sd * \
        math.sqrt(1 - icc)
    post, pre = np.where(is_post, y, 0.0), np.where(is_post, 0.0, y)
    return _Ratio(post, pre, is_post, float(y[is_post].mean()), float(y[~is_post].mean())), wave_cluster


def gain_cell(estimator, g, icc, errors, sizes, reps, seed, draws) -> Cell:
    paired = estimator == "gain_paired"
    rng = np.random.default_rng([seed, g, int(icc * 100), ERRORS.index(errors), SIZES.index(sizes), 7 + paired])
    spec = _spec(draws)
    hits = dict.fromkeys(METHODS, 0)
    lengths: dict[str, list[float]] = {"CR2": [], "rule": []}
    method, _ = few_cluster_decision(spec, g)
    for rep in range(reps):
        ratio, cluster = _gain_data(rng, g, icc, errors, sizes, paired)
        estimate = ratio.theta - 1.0
        alternatives = _delta_alternatives(ratio, cluster, estimate, spec)
        covered = {name: alternatives[name]["ci_low"] <= GAIN <= alternatives[name]["ci_high"]
                   for name in ("CR1", "CR2")}
        weights = _WEBB_VALUES[rng.integers(0, 6, (draws, g))]
        covered["wild"] = _ratio_test(ratio, cluster, weights).p_two_sided(1.0 + GAIN) >= 0.05
        boot = _percentile_bootstrap(ratio, cluster, spec)
        covered["RI"] = boot["ci_low"] <= GAIN <= boot["ci_high"]
        covered["rule"] = covered["wild" if method.startswith("wild") else method]
        lengths["CR2"].append(alternatives["CR2"]["ci_high"] - alternatives["CR2"]["ci_low"])
        lengths["rule"].append(lengths["CR2"][-1] if method == "CR2" else float("nan"))
        for key in METHODS:
            hits[key] += bool(covered[key])
    cell = Cell(estimator, g, None, icc, errors, sizes, reps, hits, lengths, {"valid": reps})
    cell.rule_method = method
    return cell


def share_cell(g, icc, errors, sizes, reps, seed, draws) -> Cell:
    rng = np.random.default_rng([seed, g, int(icc * 100), ERRORS.index(errors), SIZES.index(sizes), 11])
    spec = _spec(draws)
    truth = 0.3 if errors == "normal" else 0.1
    concentration = (1 - icc) / icc
    method, _ = few_cluster_decision(spec, g)
    hits = {"CR1": 0, "CR2": 0, "rule": 0}
    lengths: dict[str, list[float]] = {"CR2": [], "rule": []}
    for _ in range(reps):
        n_g = _sizes(rng, g, sizes)
        cluster = np.repeat(np.arange(g), n_g)
        p_g = rng.beta(truth * concentration, (1 - truth) * concentration, g)
        values = (rng.random(cluster.size) < p_g[cluster]).astype(float)
        share, n = values.mean(), values.size
        intervals = {}
        for se_type, kg in (("CR1", False), ("CR2", True)):
            deff = 1.0
            if 0 < share < 1:
                fit = fit_within(values, np.ones((n, 1)), fixed_effects=[], clusters=cluster)
                deff = max(1.0, float(covariance(fit, se_type)[0, 0]) / (share * (1 - share) / n))
            n_eff = n / deff
            intervals[se_type] = wilson_interval(share, korn_graubard_n(n_eff, g - 1.0, 0.95) if kg else n_eff, 0.95)
        for key in ("CR1", "CR2"):
            hits[key] += intervals[key][0] <= truth <= intervals[key][1]
        hits["rule"] += intervals["CR2"][0] <= truth <= intervals["CR2"][1]
        lengths["CR2"].append(intervals["CR2"][1] - intervals["CR2"][0])
        lengths["rule"].append(lengths["CR2"][-1])
    claim = "conservative" if g - 1 < KG_CONSERVATIVE_BELOW_DF else "valid"  # what fit_share records
    cell = Cell("share", g, None, icc, errors, sizes, reps, hits, lengths, {claim: reps})
    cell.rule_method = "wilson, CR2 deff, Korn-Graubard df" if method != "CR1" else "wilson, CR1 deff, KG df"
    return cell


# --------------------------------------------------------------------------- grid


def grid_cells(estimators=ARM_ESTIMATORS + ONE_ARM_ESTIMATORS, clusters=CLUSTERS):
    for estimator, g, icc, errors, sizes in itertools.product(estimators, clusters, ICCS, ERRORS, SIZES):
        if estimator in ARM_ESTIMATORS:
            for g1 in treated_counts(g):
                yield estimator, g, g1, icc, errors, sizes
        else:
            yield estimator, g, None, icc, errors, sizes


def run_cell(estimator, g, g1, icc, errors, sizes, *, reps, seed, draws) -> Cell:
    if estimator in ARM_ESTIMATORS:
        return arm_cell(estimator, g, g1, icc, errors, sizes, reps, seed, draws)
    if estimator == "share":
        return share_cell(g, icc, errors, sizes, reps, seed, draws)
    return gain_cell(estimator, g, icc, errors, sizes, reps, seed, draws)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=99, help="bootstrap and randomization draws per replication")
    parser.add_argument("--estimators", default=",".join(ARM_ESTIMATORS + ONE_ARM_ESTIMATORS))
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    parser.add_argument("--clusters", default=",".join(map(str, CLUSTERS)), help="cluster counts G of the grid")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPS} replications, G in {{{', '.join(map(str, QUICK_CLUSTERS))}}}: checks the "
                             "script in a few minutes (make benchmarks); the published grid is the default")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.clusters = QUICK_REPS, ",".join(map(str, QUICK_CLUSTERS))
    clusters = tuple(int(g) for g in args.clusters.split(","))
    started = time.perf_counter()
    lines = [f"Coverage of 95% intervals, {args.reps} replications per cell, {args.draws} bootstrap / "
             f"randomization draws, seed {args.seed}. Cells: coverage in % ± Monte Carlo SE.", "", HEADER]
    print("\n".join(lines), flush=True)
    failures = 0
    cells = []
    with single_thread_blas():
        for key in grid_cells(tuple(args.estimators.split(",")), clusters):
            cell = run_cell(*key, reps=args.reps, seed=args.seed, draws=args.draws)
            cells.append(cell)
            failures += cell.fails
            lines.append(cell.row())
            print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"{failures} cell(s) where the default rule claims valid inference and misses 93-97% by more than "
                 f"two Monte Carlo SEs ({time.perf_counter() - started:.0f} s).")
    print(lines[-1])
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    _emit_summary(cells, failures, args, argv if argv is not None else sys.argv[1:])
    return 1 if failures and not args.quick else 0


QUICK_REPS, QUICK_CLUSTERS = 20, (6, 12, 40)


def pooled_rule_coverage(cells: list[Cell]) -> dict[tuple[str, str], float]:
    """Coverage of the default rule pooled over the cells where it claims valid inference, by estimator and the
    method it picked (the precise statement; single cells are noisy)."""
    hits: dict[tuple[str, str], list[int]] = {}
    for cell in cells:
        given = cell.reps - cell.claims.get("refused", 0)
        if cell.claim == "valid" and given:
            pooled = hits.setdefault((cell.estimator, cell.rule_method), [0, 0])
            pooled[0] += cell.hits["rule"]
            pooled[1] += given
    return {key: h / n for key, (h, n) in hits.items()}


def _emit_summary(cells: list[Cell], failures: int, args: argparse.Namespace, argv: list[str]) -> None:
    from _summary import emit  # benchmarks/ is on sys.path when this runs as a script

    valid = [c.rule_rate() for c in cells if c.claim == "valid" and c.rule_rate() is not None]
    pooled = pooled_rule_coverage(cells)
    claims = {claim: sum(c.claim == claim for c in cells) for claim in ("conservative", "refused")}
    spread = f"{100 * min(pooled.values()):.1f}-{100 * max(pooled.values()):.1f}%" if pooled else "n/a"
    mean = f"{100 * sum(valid) / len(valid):.1f}%" if valid else "n/a"
    emit(what=f"95% coverage of the default few-cluster rule, {len(cells)}-cell grid ({args.reps} replications "
              f"per cell{', quick mode' if args.quick else ''})",
         command=" ".join(["benchmarks/coverage_study.py", *argv]),
         result=(f"{mean} mean over the {len(valid)} cells where the rule claims valid inference "
                 f"({claims['conservative']} conservative, {claims['refused']} refused); {spread} pooled per "
                 f"estimator and method; "
                 f"{'cells not judged at this size' if args.quick else f'{failures} cell(s) flagged'} "
                 "([docs/inference.md](docs/inference.md))"),
         ratios={"mean_valid_coverage": sum(valid) / len(valid)} if valid else {},
         # Quick mode has too few replications to judge coverage: it checks that the script runs, no verdict.
         target=None if args.quick else "pooled coverage 93-97% per estimator and method",
         met=None if args.quick else bool(pooled) and all(0.93 <= v <= 0.97 for v in pooled.values()))


if __name__ == "__main__":
    sys.exit(main())
