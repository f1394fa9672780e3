"""Same model, same parameter: oca's Bayesian DiD against the identical model in plain PyMC (and CausalPy).

    .venv/bin/python benchmarks/bayes_vs_causalpy.py [--sizes 2000 20000 200000] [--repeats 2]
        [--target-accept 0.95] [--baseline-tree DIR]       # DIR: another checkout of oca (before/after, interleaved)
    .venv/bin/python benchmarks/bayes_vs_causalpy.py --causalpy [--venv build/causalpy-venv]   # also CausalPy

The data: a two-wave panel of n rows (n/2 respondents) in 24 communities of 6 CSOs, half of the communities
treated, with community shocks.

Main comparison (issue 21: like with like). Both sides fit the SAME model - oca's hierarchical community/CSO DiD,
exactly the PyMC graph ``oca_experiments.bayes.build_did_model`` builds - and report the SAME parameter, the
portfolio effect (the treated-weighted mean of the CSO effects), with its bulk ESS computed the same way
(``arviz_stats.ess``). oca samples it with its default backend (nutpie on oca's compiled kernel density), the
contender with PyMC's default sampler (``pm.sample``: PyMC's NUTS on the PyTensor graph). CausalPy 0.9 pins
pymc < 6 and cannot share this environment, so the identical model in plain PyMC is the contender.

What is held equal: 4 chains x 1000 draws after 1000 tuning steps, the target acceptance (``--target-accept``,
default 0.95 = oca's registered default; PyMC's own default would be 0.8, i.e. longer steps, so without this
flag PyMC would run a cheaper, less careful sampler), 2 cores for the chains on both sides (nutpie threads /
PyMC processes), the same data preparation (``prepare_did``, inside the timed call on both sides). What differs
is inherent to the samplers: nutpie adapts its diagonal mass matrix from gradients and draws, PyMC from draw
variances (``jitter+adapt_diag``); the table prints both sides' mean leapfrog steps per draw, so that a side that
buys ESS with more gradient evaluations shows it.

Timing. Each side runs in a fresh process. ``cold`` is the whole first call: data preparation, the imports of
the side's own libraries (``pymc`` on one side; nutpie (without ArviZ's plotting stack, ``bayes/_nutpie.py``) and
the loading of oca's kernels from numba's disk cache on the other; ``arviz_stats`` for the ESS on both),
compilation or loading of compiled code (PyTensor's C/numba caches and oca's numba cache as
they are on disk), sampling and the ESS. ``import oca_experiments.bayes`` (needed by both for the data
preparation and the model) happens before the clock on both sides. ``warm`` is the same call again in the same
process with another seed: the steady-state cost (prior-sensitivity reruns, SBC, several hypotheses in one run).
ESS/s uses the cold call (``ESS/s ratio``) and the warm call (last ratio column). Sides alternate within each
round (``--repeats`` rounds, medians), and the load average is printed per size: the machine may be shared, so
read the ratios.

Why oca's cost does not grow with n: its likelihood is *collapsed*. A Gaussian model of respondents' changes
depends on the data only through each community's count, mean change and within sum of squares
(``tests/unit/bayes/test_did_collapse.py`` checks that the kernel equals the respondent-level model up to a
constant), so one gradient costs the same for 2,000 or 200,000 rows. The PyMC graph of ``build_did_model`` is
collapsed too, so the comparison isolates the sampler and its compiled density, not the collapse. What grows with
n is the data preparation, the same function on both sides (since issue 21 on integer codes: about 0.1 s at 200k
rows, was about 1 s with pandas pivots).

``--causalpy`` adds CausalPy's pooled row-level ``y ~ 1 + group * post_treatment`` regression (its own virtual
environment, created on first use) for reference. That is a DIFFERENT model and parameter (a pooled interaction,
not the CSO-weighted portfolio effect), so its ratio is printed separately and labelled as such. Not run by the
tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DRAWS, TUNE, CHAINS = 1000, 1000, 4

CAUSALPY_SCRIPT = r'''
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd, arviz as az, causalpy as cp
df = pd.read_csv(sys.argv[1])
start = time.perf_counter()
model = cp.pymc_models.LinearRegression(sample_kwargs={"draws": %(draws)d, "tune": %(tune)d, "chains": %(chains)d,
                                                       "random_seed": 1, "progressbar": False})
result = cp.DifferenceInDifferences(df, formula="y ~ 1 + group*post_treatment", time_variable_name="t",
                                    group_variable_name="group", model=model)
seconds = time.perf_counter() - start
beta = result.idata.posterior["beta"]
coeff = [c for c in beta.coords["coeffs"].values if ":" in str(c)][0]
ess = float(az.ess(beta.sel(coeffs=coeff), method="bulk").to_array().values.ravel()[0]) if hasattr(
    az.ess(beta.sel(coeffs=coeff)), "to_array") else float(az.ess(beta.sel(coeffs=coeff)))
print(json.dumps({"seconds": seconds, "ess_bulk": ess, "estimate": float(beta.sel(coeffs=coeff).mean())}))
''' % {"draws": DRAWS, "tune": TUNE, "chains": CHAINS}


def make_data(n_rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units = n_rows // 2
    community = rng.integers(0, 24, units)
    treated = (community % 4 < 2).astype(int)
    shocks = rng.normal(0.0, 0.05, (24, 2))
    level = rng.normal(3.0, 0.7, units)
    rows = []
    for wave in (0, 1):
        y = level + 0.05 * wave + 0.25 * treated * wave + shocks[community, wave] + rng.normal(0.0, 0.5, units)
        rows.append(pd.DataFrame({"unit": np.arange(units), "t": wave, "post_treatment": wave, "group": treated,
                                  "community": community, "cso": community // 4, "y": y}))
    return pd.concat(rows, ignore_index=True)


def causalpy_python(venv_dir: Path) -> Path:
    python = venv_dir / "bin" / "python"
    if not python.exists():
        print(f"creating {venv_dir} with causalpy (pymc < 6) ...", flush=True)
        venv.create(venv_dir, with_pip=True)
    # An interrupted first install leaves a venv without causalpy: check the import, not the folder.
    if subprocess.run([str(python), "-c", "import causalpy"], capture_output=True, check=False).returncode != 0:
        print(f"installing causalpy into {venv_dir} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "causalpy"], check=True)
    return python


def run_causalpy(python: Path, frame: pd.DataFrame) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "data.csv", Path(tmp) / "fit.py"
        frame.to_csv(csv, index=False)
        script.write_text(CAUSALPY_SCRIPT)
        out = subprocess.run([str(python), str(script), str(csv)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepared(frame: pd.DataFrame):
    from oca_experiments.bayes import prepare_did, prior_scales

    design = argparse.Namespace(unit="unit", time="t", pre="0", post="1", treatment="group", cluster="community",
                                group="cso")
    data = prepare_did(frame, frame["y"], design, file="benchmark")  # wave labels are read as text: 0 -> "0"
    return data, prior_scales("bayes_did")


def _portfolio_ess(posterior, data) -> tuple[float, float]:
    import arviz_stats as azs
    import xarray as xr

    from oca_experiments.bayes._effects import did_derived

    effect = np.asarray(did_derived(posterior, data)["portfolio_effect"])
    return float(azs.ess(xr.DataArray(effect, dims=("chain", "draw")), method="bulk")), float(effect.mean())


def _steps(sample_stats) -> float:
    """Mean leapfrog steps (gradient evaluations) per draw after tuning."""
    name = "n_steps" if "n_steps" in sample_stats else "tree_size"
    return float(np.asarray(sample_stats[name]).mean())


def run_oca(frame: pd.DataFrame, target_accept: float, seed: int = 1) -> dict:
    """oca's default path: nutpie on oca's compiled kernel density (imports of nutpie/arviz and the kernels'
    loading from numba's disk cache happen inside the call, as in a fresh ``oca run``)."""
    clock = [time.perf_counter()]
    data, priors = _prepared(frame)
    clock.append(time.perf_counter())
    from oca_experiments.bayes import SamplerSettings, build_did_model, did_model_data, sample_model

    fit = sample_model("bayes_did", {"centered": False, "hierarchical": True}, did_model_data(data, priors),
                       lambda: build_did_model(data, priors),
                       SamplerSettings(seed=seed, chains=CHAINS, draws=DRAWS, tune=TUNE, target_accept=target_accept),
                       use_cache=False, with_prior=False)
    clock.append(time.perf_counter())
    ess, estimate = _portfolio_ess(fit.posterior, data)
    clock.append(time.perf_counter())
    return _record(clock, ess, estimate, _steps(fit.trace["sample_stats"].to_dataset()))


def run_pymc(frame: pd.DataFrame, target_accept: float, seed: int = 1) -> dict:
    """The identical model (oca's PyMC graph), sampled by PyMC's default sampler; ``import pymc`` is inside the
    call, as nutpie's import is on oca's side."""
    clock = [time.perf_counter()]
    data, priors = _prepared(frame)
    clock.append(time.perf_counter())
    import pymc as pm

    from oca_experiments.bayes import build_did_model

    model = build_did_model(data, priors)
    with model:
        idata = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=seed, progressbar=False,
                          target_accept=target_accept, compute_convergence_checks=False)
    clock.append(time.perf_counter())
    ess, estimate = _portfolio_ess(idata.posterior, data)
    clock.append(time.perf_counter())
    return _record(clock, ess, estimate, _steps(idata.sample_stats))


def _record(clock: list[float], ess: float, estimate: float, steps: float) -> dict:
    return {"seconds": clock[-1] - clock[0], "prepare": clock[1] - clock[0], "fit": clock[2] - clock[1],
            "ess_bulk": ess, "estimate": estimate, "steps": steps}


def _child(side: str, n: int, target_accept: float) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    frame = make_data(n)
    import oca_experiments.bayes  # noqa: F401  (shared by both sides: data preparation; outside the timer)

    run = run_pymc if side == "pymc" else run_oca
    result = run(frame, target_accept)
    # the same call again in the same process (imports and compiled code warm, another seed): the steady state
    warm = run(frame, target_accept, seed=2)
    result.update({f"warm_{key}": value for key, value in warm.items()})
    print(json.dumps(result))


def _in_child(side: str, n: int, target_accept: float, tree: Path = REPO) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, "--child", side, str(n), str(target_accept)], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000, 200_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--target-accept", type=float, default=0.95,
                        help="both sides (oca's registered default; PyMC's own default is 0.8)")
    parser.add_argument("--baseline-tree", type=Path,
                        help="also run oca from this source tree (e.g. a checkout of main), interleaved: before/after")
    parser.add_argument("--causalpy", action="store_true", help="also CausalPy's (different) pooled model")
    parser.add_argument("--venv", type=Path, default=REPO / "build" / "causalpy-venv")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), float(args.child[2]))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    print("same model (oca's hierarchical DiD), same parameter (portfolio effect), same settings (4 chains x "
          f"{TUNE} tuning + {DRAWS} draws, target acceptance {args.target_accept}); cold whole call per fresh "
          f"process, medians of {args.repeats} alternating rounds")
    sides = {"pymc": REPO, "oca": REPO}
    if args.baseline_tree:
        sides["oca_base"] = args.baseline_tree
    print("cold = first call in a fresh process (whole call: data preparation, imports of the side's own libraries,\n"
          "compilation or loading of compiled code, sampling, ESS); warm = the same call again in that process")
    print(f"{'n':>8} {'side':>9} {'cold s':>7} {'prep s':>7} {'fit s':>7} {'ESS':>6} {'ESS/s':>7} "
          f"{'steps':>6} {'ESS/s ratio':>12} {'time ratio':>11} {'warm s':>7} {'ESS/s':>7} {'ratio':>7} "
          f"{'estimate':>9}")
    measured = []  # (n, cold ESS/s ratio, cold time ratio, warm ESS/s ratio, loads) of oca against PyMC
    for n in args.sizes:
        runs: dict[str, list[dict]] = {side: [] for side in sides}
        loads = []
        for _ in range(args.repeats):
            for side, tree in sides.items():
                runs[side].append(_in_child(side.split("_")[0], n, args.target_accept, tree))
            loads.append(os.getloadavg()[0])
        rate = {side: statistics.median(r["ess_bulk"] / r["seconds"] for r in rs) for side, rs in runs.items()}
        warm = {side: statistics.median(r["warm_ess_bulk"] / r["warm_seconds"] for r in rs)
                for side, rs in runs.items()}
        for side, rs in runs.items():
            ratio = "" if side == "pymc" else (f"{rate[side] / rate['pymc']:>11.1f}x "
                                               f"{_median(runs['pymc'], 'seconds') / _median(rs, 'seconds'):>10.1f}x")
            warm_ratio = "" if side == "pymc" else f"{warm[side] / warm['pymc']:>6.1f}x"
            print(f"{n:>8} {side:>9} {_median(rs, 'seconds'):>7.2f} {_median(rs, 'prepare'):>7.2f} "
                  f"{_median(rs, 'fit'):>7.2f} {_median(rs, 'ess_bulk'):>6.0f} {rate[side]:>7.1f} "
                  f"{_median(rs, 'steps'):>6.1f} {ratio:>24} {_median(rs, 'warm_seconds'):>7.2f} {warm[side]:>7.1f} "
                  f"{warm_ratio:>7} {_median(rs, 'estimate'):>9.4f}", flush=True)
        print(f"{'':>8} load average during these rounds: {', '.join(f'{x:.2f}' for x in loads)}", flush=True)
        measured.append((n, rate["oca"] / rate["pymc"],
                         _median(runs["pymc"], "seconds") / _median(runs["oca"], "seconds"),
                         warm["oca"] / warm["pymc"], loads))
    print("goals (issue 21): ESS/s >= 10x and cold whole call >= 3x faster than the contender (oca rows against pymc)")
    if args.causalpy:
        python = causalpy_python(args.venv)
        print("CausalPy, a DIFFERENT model (pooled row-level y ~ group * post_treatment, its interaction), for "
              "reference only:")
        for n in args.sizes:
            theirs = run_causalpy(python, make_data(n))
            ours = _in_child("oca", n, args.target_accept)
            print(f"{n:>8} causalpy {theirs['seconds']:.1f} s ESS {theirs['ess_bulk']:.0f}  oca {ours['seconds']:.2f} s "
                  f"ESS {ours['ess_bulk']:.0f}  ESS/s ratio "
                  f"{(ours['ess_bulk'] / ours['seconds']) / (theirs['ess_bulk'] / theirs['seconds']):.1f}x "
                  f"(interaction {theirs['estimate']:.3f} vs portfolio effect {ours['estimate']:.3f})", flush=True)
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    sizes = " / ".join(f"{n:,}" for n, *_ in measured)
    emit(what=("Bayesian DiD, same model (oca's hierarchical DiD) and parameter (portfolio effect) against plain "
               f"PyMC's default sampler, same chains/draws/tuning/target acceptance, n = {sizes}"),
         command=" ".join(["benchmarks/bayes_vs_causalpy.py", *sys.argv[1:]]),
         result=(f"ESS/s (cold whole call) {' / '.join(f'{e:.1f}x' for _, e, *_ in measured)}; cold whole call "
                 f"(fresh process) {' / '.join(f'{t:.1f}x' for _, _, t, *_ in measured)} faster; ESS/s of a warm "
                 f"second call {' / '.join(f'{w:.1f}x' for _, _, _, w, _ in measured)} (medians of {args.repeats})"),
         ratios={f"ess_per_s_{n}": e for n, e, *_ in measured} | {f"whole_call_{n}": t for n, _, t, *_ in measured}
         | {f"warm_ess_per_s_{n}": w for n, _, _, w, _ in measured},
         target="ESS/s >= 10x and whole call >= 3x", met=all(e >= 10 and t >= 3 for _, e, t, *_ in measured),
         load=[x for *_, loads in measured for x in loads])


if __name__ == "__main__":
    main()
