"""Same model, same parameter: oca's Bayesian DiD against the identical model in plain PyMC (and CausalPy).

    .venv/bin/python benchmarks/bayes_vs_causalpy.py [--sizes 2000 20000 200000] [--repeats 2]
    .venv/bin/python benchmarks/bayes_vs_causalpy.py --causalpy [--venv build/causalpy-venv]   # also CausalPy

The data: a two-wave panel of n rows (n/2 respondents) in 24 communities of 6 CSOs, half of the communities
treated, with community shocks.

Main comparison (issue 21: like with like). Both sides fit the SAME model - oca's hierarchical community/CSO DiD,
exactly the PyMC graph ``oca_experiments.bayes.build_did_model`` builds - and report the SAME parameter, the
portfolio effect (the treated-weighted mean of the CSO effects): oca samples it with its default backend (nutpie on
oca's compiled kernel density), the contender with PyMC's default sampler (``pm.sample``: PyMC's NUTS on the
PyTensor graph), 4 chains x 1000 draws after 1000 tuning steps each. CausalPy 0.9 pins pymc < 6 and cannot share
this environment, so the identical model in plain PyMC is the contender. Each fit runs in a fresh process: the
time is the *cold whole call* (data preparation, model build, compilation or kernel loading from the disk caches
as they are, sampling) and ESS/s uses it; the contenders alternate (``--repeats`` rounds, medians), and the load
average is printed.

``--causalpy`` adds CausalPy's pooled row-level ``y ~ 1 + group * post_treatment`` regression (its own virtual
environment, created on first use) for reference. That is a DIFFERENT model and parameter (a pooled interaction,
not the CSO-weighted portfolio effect), so its ratio is printed separately and labelled as such.

Why oca is fast: its likelihood is *collapsed*. A Gaussian model of respondents' changes depends on the data only
through each community's count, mean change and within sum of squares, so one gradient costs the same for 2,000 or
200,000 rows. The PyMC graph of ``build_did_model`` is collapsed too, so the main comparison isolates the sampler
and its compiled density, not the collapse. Not run by the tests.
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
    data = prepare_did(frame.assign(t=frame["t"].astype(str)), frame["y"], design, file="benchmark")
    return data, prior_scales("bayes_did")


def _portfolio_ess(posterior, data) -> tuple[float, float]:
    import arviz_stats as azs
    import xarray as xr

    from oca_experiments.bayes._effects import did_derived

    effect = np.asarray(did_derived(posterior, data)["portfolio_effect"])
    return float(azs.ess(xr.DataArray(effect, dims=("chain", "draw")), method="bulk")), float(effect.mean())


def run_oca(frame: pd.DataFrame) -> dict:
    from oca_experiments.bayes import SamplerSettings, build_did_model, did_model_data, sample_model

    start = time.perf_counter()
    data, priors = _prepared(frame)
    fit = sample_model("bayes_did", {"centered": False, "hierarchical": True}, did_model_data(data, priors),
                       lambda: build_did_model(data, priors), SamplerSettings(seed=1, chains=CHAINS, draws=DRAWS,
                                                                              tune=TUNE),
                       use_cache=False, with_prior=False)
    ess, estimate = _portfolio_ess(fit.posterior, data)
    return {"seconds": time.perf_counter() - start, "ess_bulk": ess, "estimate": estimate}


def run_pymc(frame: pd.DataFrame) -> dict:
    """The identical model (oca's PyMC graph), sampled by PyMC's default sampler."""
    import pymc as pm

    from oca_experiments.bayes import build_did_model

    start = time.perf_counter()
    data, priors = _prepared(frame)
    model = build_did_model(data, priors)
    with model:
        idata = pm.sample(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False,
                          compute_convergence_checks=False)
    ess, estimate = _portfolio_ess(idata.posterior, data)
    return {"seconds": time.perf_counter() - start, "ess_bulk": ess, "estimate": estimate}


def _child(side: str, n: int) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    result = (run_oca if side == "oca" else run_pymc)(make_data(n))
    print(json.dumps(result))


def _in_child(side: str, n: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, "--child", side, str(n)], check=True, capture_output=True,
                         text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000, 200_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--causalpy", action="store_true", help="also CausalPy's (different) pooled model")
    parser.add_argument("--venv", type=Path, default=REPO / "build" / "causalpy-venv")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    print("same model (oca's hierarchical DiD), same parameter (portfolio effect); cold whole call per fresh process, "
          f"medians of {args.repeats} alternating rounds")
    print(f"{'n':>8} {'PyMC s':>8} {'ESS':>7} {'ESS/s':>8} {'oca s':>7} {'ESS':>7} {'ESS/s':>8} {'ESS/s ratio':>12} "
          f"{'time ratio':>11}")
    measured = []
    for n in args.sizes:
        runs: dict[str, list[dict]] = {"pymc": [], "oca": []}
        for _ in range(args.repeats):
            for side in runs:
                runs[side].append(_in_child(side, n))
        med = {side: {key: statistics.median(r[key] for r in rs) for key in ("seconds", "ess_bulk", "estimate")}
               for side, rs in runs.items()}
        rate = {side: statistics.median(r["ess_bulk"] / r["seconds"] for r in rs) for side, rs in runs.items()}
        theirs, ours = med["pymc"], med["oca"]
        measured.append((n, rate["oca"] / rate["pymc"], theirs["seconds"] / ours["seconds"], os.getloadavg()[0]))
        print(f"{n:>8} {theirs['seconds']:>8.1f} {theirs['ess_bulk']:>7.0f} {rate['pymc']:>8.1f} "
              f"{ours['seconds']:>7.2f} {ours['ess_bulk']:>7.0f} {rate['oca']:>8.1f} "
              f"{rate['oca'] / rate['pymc']:>11.1f}x {theirs['seconds'] / ours['seconds']:>10.1f}x"
              f"   (portfolio effect {theirs['estimate']:.4f} vs {ours['estimate']:.4f}; "
              f"load {os.getloadavg()[0]:.2f})", flush=True)
    print("goals (issue 21): ESS/s >= 10x and whole call >= 3x faster than the contender")
    if args.causalpy:
        python = causalpy_python(args.venv)
        print("CausalPy, a DIFFERENT model (pooled row-level y ~ group * post_treatment, its interaction), for "
              "reference only:")
        for n in args.sizes:
            theirs = run_causalpy(python, make_data(n))
            ours = _in_child("oca", n)
            print(f"{n:>8} causalpy {theirs['seconds']:.1f} s ESS {theirs['ess_bulk']:.0f}  oca {ours['seconds']:.2f} s "
                  f"ESS {ours['ess_bulk']:.0f}  ESS/s ratio "
                  f"{(ours['ess_bulk'] / ours['seconds']) / (theirs['ess_bulk'] / theirs['seconds']):.1f}x "
                  f"(interaction {theirs['estimate']:.3f} vs portfolio effect {ours['estimate']:.3f})", flush=True)
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    emit(what=("Bayesian DiD, same model (oca's hierarchical DiD) and parameter (portfolio effect) against plain "
               f"PyMC's default sampler, n = {' / '.join(f'{n:,}' for n, *_ in measured)}"),
         command=" ".join(["benchmarks/bayes_vs_causalpy.py", *sys.argv[1:]]),
         result=(f"ESS/s {' / '.join(f'{e:.1f}x' for _, e, _, _ in measured)}; cold whole call (fresh process) "
                 f"{' / '.join(f'{t:.1f}x' for _, _, t, _ in measured)} faster (medians of {args.repeats})"),
         ratios={f"ess_per_s_{n}": e for n, e, _, _ in measured} | {f"whole_call_{n}": t for n, _, t, _ in measured},
         target="ESS/s >= 10x and whole call >= 3x", met=all(e >= 10 and t >= 3 for _, e, t, _ in measured),
         load=[load for *_, load in measured])


if __name__ == "__main__":
    main()
