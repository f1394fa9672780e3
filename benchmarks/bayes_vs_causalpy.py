"""Bulk ESS per second of the DiD interaction: oca's Bayesian DiD against CausalPy's DifferenceInDifferences.

    .venv/bin/python benchmarks/bayes_vs_causalpy.py [--sizes 2000 20000 200000] [--venv build/causalpy-venv]

CausalPy pins pymc < 6, so it runs in its own virtual environment, which this script creates (``pip install
causalpy``) on first use. Both fit the same data: a two-wave panel of n rows (n/2 respondents) in 24 communities of
6 CSOs, half of the communities treated, with community shocks. CausalPy fits its PyMC linear regression
``y ~ 1 + group * post_treatment`` on the n rows with ``pm.sample`` (4 chains x 1000 draws after 1000 tuning
steps); oca fits ``bayes_did`` (4 chains x 1000 draws after 1000 tuning steps, nutpie) and reports the portfolio
effect (the DiD interaction).

Why oca is fast: its likelihood is *collapsed*. A Gaussian model of respondents' changes depends on the data only
through each community's count, mean change and within sum of squares, so one gradient costs the same for 2,000 or
200,000 rows (24 communities either way), while a row-level regression costs O(n) per gradient. The collapsed
likelihood is exact, not an approximation (see oca_experiments/bayes/_models.py).

Printed per size: seconds (model build + compile + sampling, as a user waits for them; oca's kernels are compiled
once per installation and then loaded from numba's disk cache, and the first fit, which loads them, is shown once,
separately), bulk ESS of the interaction and the ESS/s ratio. Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
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


def run_oca(frame: pd.DataFrame) -> dict:
    import arviz_stats as azs

    from oca_experiments.bayes import (SamplerSettings, build_did_model, did_model_data, prepare_did,
                                       prior_scales, sample_model)
    from oca_experiments.bayes._effects import did_derived

    design = argparse.Namespace(unit="unit", time="t", pre="0", post="1", treatment="group", cluster="community",
                                group="cso")
    start = time.perf_counter()
    data = prepare_did(frame.assign(t=frame["t"].astype(str)), frame["y"], design, file="benchmark")
    priors = prior_scales("bayes_did")
    fit = sample_model("bayes_did", {"centered": False, "hierarchical": True}, did_model_data(data, priors),
                       lambda: build_did_model(data, priors), SamplerSettings(seed=1, chains=CHAINS, draws=DRAWS,
                                                                              tune=TUNE),
                       use_cache=False, with_prior=False)
    effect = did_derived(fit.posterior, data)["portfolio_effect"]
    seconds = time.perf_counter() - start
    import xarray as xr

    ess = float(azs.ess(xr.DataArray(effect, dims=("chain", "draw")), method="bulk"))
    return {"seconds": seconds, "ess_bulk": ess, "estimate": float(effect.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000, 200_000])
    parser.add_argument("--venv", type=Path, default=REPO / "build" / "causalpy-venv")
    args = parser.parse_args()
    python = causalpy_python(args.venv)
    warm = run_oca(make_data(1_000, seed=99))  # loads (or, on a fresh install, compiles) oca's kernels
    print(f"oca first fit incl. loading the compiled kernels: {warm['seconds']:.1f} s (not counted below)", flush=True)
    print(f"{'n':>8} {'causalpy s':>11} {'ESS':>7} {'ESS/s':>8} {'oca s':>7} {'ESS':>7} {'ESS/s':>8} {'ratio':>7}")
    for n in args.sizes:
        frame = make_data(n)
        theirs = run_causalpy(python, frame)
        ours = run_oca(frame)
        r_theirs = theirs["ess_bulk"] / theirs["seconds"]
        r_ours = ours["ess_bulk"] / ours["seconds"]
        print(f"{n:>8} {theirs['seconds']:>11.1f} {theirs['ess_bulk']:>7.0f} {r_theirs:>8.1f} "
              f"{ours['seconds']:>7.2f} {ours['ess_bulk']:>7.0f} {r_ours:>8.1f} {r_ours / r_theirs:>6.1f}x"
              f"   (estimates {theirs['estimate']:.3f} vs {ours['estimate']:.3f})", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
