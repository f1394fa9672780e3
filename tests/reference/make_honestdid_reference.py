"""Regenerate the committed HonestDiD reference numbers (Rambachan and Roth 2023) from the ``honestdid`` package.

Not run by the test suite. Run it in a throwaway environment::

    python3.12 -m venv /tmp/hd && /tmp/hd/bin/pip install honestdid==0.1.1
    /tmp/hd/bin/python tests/reference/make_honestdid_reference.py

``honestdid`` 0.1.1 calls ``float()`` on 1 x 1 arrays, which numpy 2.5 refuses; the script patches that in memory
(every ``float(`` in its source becomes a helper that takes the single element), nothing else. For the FLCI it also
replaces the package's simulated folded-normal quantile (10^6 draws, about 1e-3 relative error) by the exact one and
searches the optimal standard deviation on a finer grid (numPoints = 4000), so that the reference is accurate to
well below the 1e-4 the test asks for.

Writes ``honestdid_reference.json``: for each event study (coefficients and covariance are in the file), the
identified sets and the ARP confidence sets (conditional "ARP" and least-favorable hybrid "LF") under Delta^RM(Mbar)
and Delta^SD(M) on explicit theta grids (a coarse grid of 61 points over +-25 SD finds the set, then a grid of 201
points spans it plus one coarse step; the smallest and largest accepted points of that grid and the grid itself are
recorded), and the FLCI under Delta^SD(M).
"""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path

import numpy as np
from scipy import optimize, stats

HERE = Path(__file__).resolve().parent


def _patched_core():
    import honestdid.core as core

    def _scalar(x=0.0):
        if isinstance(x, str):
            return float(x)
        a = np.asarray(x)
        return float(a.reshape(-1)[0]) if a.size == 1 else float(a)

    source = inspect.getsource(core).replace("float(", "_scalar(")
    core.__dict__["_scalar"] = _scalar
    exec(compile(source, core.__file__, "exec"), core.__dict__)  # noqa: S102

    def exact_folded(p, mu=0.0, sd=1.0, numSims=None, seed=0):  # noqa: N803 (the package's signature)
        def one(m):
            m = abs(float(m)) / sd
            f = lambda q: stats.norm.cdf(q - m) - stats.norm.cdf(-q - m) - p  # noqa: E731
            return sd * optimize.brentq(f, 0.0, m + 10.0, xtol=1e-14, rtol=1e-14)
        if np.ndim(mu):
            return np.array([one(m) for m in np.asarray(mu).ravel()])
        return one(mu)

    core._qfoldednormal = exact_folded
    return core


def _studies() -> dict[str, dict]:
    idx = np.arange(7)
    ar = 0.3 ** np.abs(idx[:, None] - idx[None, :])
    scale = 1 + 0.1 * idx
    sigma7 = 0.01 * ar * scale[:, None] * scale[None, :]
    return {
        # Three pre-periods, three post-periods, a pre-trend that changes sign.
        "three_pre_three_post": {"beta": [0.05, -0.02, 0.01, 0.30, 0.40, 0.35], "sigma": sigma7[:6, :6].tolist(),
                                 "n_pre": 3, "n_post": 3},
        # Four pre-periods, one post-period (the moments have no nuisance parameters).
        "four_pre_one_post": {"beta": [-0.04, 0.03, -0.01, 0.02, 0.25], "sigma": sigma7[:5, :5].tolist(),
                              "n_pre": 4, "n_post": 1},
        # Two pre-periods, two post-periods, a pre-trend. (With an exactly linear one, -0.10, -0.05, the two
        # pre-period changes tie and honestdid 0.1.1 fails on a negative variance in its primal branch.)
        "two_pre_two_post": {"beta": [-0.12, -0.05, 0.20, 0.30], "sigma": (0.5 * sigma7[:4, :4]).tolist(),
                             "n_pre": 2, "n_post": 2},
    }


def _interval(frame) -> list[float]:
    accepted = frame[frame["accept"] == 1]["grid"]
    return [float(accepted.min()), float(accepted.max())] if len(accepted) else [None, None]


def _two_pass(run, lb: float, ub: float) -> dict[str, object]:
    """A coarse grid finds the set; a fine grid (201 points) spans it plus one coarse step on each side, so the
    reported endpoints are the fine grid's smallest and largest accepted points."""
    coarse = _interval(run(lb, ub, 61))
    step = (ub - lb) / 60
    if coarse[0] is None:
        return {"grid": [lb, ub, 61], "interval": coarse}
    fine_lb, fine_ub = coarse[0] - step, coarse[1] + step
    return {"grid": [fine_lb, fine_ub, 201], "interval": _interval(run(fine_lb, fine_ub, 201))}


def main() -> None:
    core = _patched_core()
    out: dict[str, object] = {"source": "honestdid 0.1.1 (Python port of R HonestDiD), numpy-2 patched in memory",
                              "alpha": 0.05, "studies": {}}
    for name, study in _studies().items():
        try:
            record = _study_record(core, name, study)
        except ValueError as exc:  # honestdid 0.1.1 fails on some designs; say so instead of dropping silently
            out.setdefault("reference_errors", {})[name] = repr(exc)  # type: ignore[union-attr]
            print(name, "failed in the reference:", repr(exc), flush=True)
            continue
        out["studies"][name] = record  # type: ignore[index]
        print(name, "done", flush=True)
    (HERE / "honestdid_reference.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


def _study_record(core, name: str, study: dict) -> dict[str, object]:
    beta, sigma = np.array(study["beta"]), np.array(study["sigma"])
    n_pre, n_post = study["n_pre"], study["n_post"]
    l_vec = np.full(n_post, 1.0 / n_post)
    sd_theta = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    centre = float(l_vec @ beta[n_pre:])
    grid = {"lb": centre - 25 * sd_theta, "ub": centre + 25 * sd_theta}
    record: dict[str, object] = {**study, "l_vec": l_vec.tolist(), "grid": grid, "rm": [], "sd": []}
    for mbar in (0.0, 1.0, 2.0):
        row: dict[str, object] = {"m": mbar}
        idset = core._compute_IDset_DeltaRM(mbar, beta, l_vec, n_pre, n_post)
        row["id"] = [float(idset["id_lb"]), float(idset["id_ub"])]
        for flag, label in (("ARP", "conditional"), ("LF", "hybrid")):
            def run(lb, ub, points, flag=flag, mbar=mbar):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return core.computeConditionalCS_DeltaRM(beta, sigma, n_pre, n_post, l_vec=l_vec, Mbar=mbar,
                                                             hybrid_flag=flag, gridPoints=points, grid_lb=lb,
                                                             grid_ub=ub)
            row[label] = _two_pass(run, grid["lb"], grid["ub"])
        record["rm"].append(row)  # type: ignore[union-attr]
        print(name, "rm", mbar, flush=True)
    for m in (0.0, 0.05, 0.1):
        row = {"m": m}
        idset = core._compute_IDset_DeltaSD(m, beta, l_vec, n_pre, n_post)
        row["id"] = [float(idset["id_lb"]), float(idset["id_ub"])]
        for flag, label in (("ARP", "conditional"), ("LF", "hybrid")):
            def run(lb, ub, points, flag=flag, m=m):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return core.computeConditionalCS_DeltaSD(beta, sigma, n_pre, n_post, l_vec=l_vec, M=m,
                                                             hybrid_flag=flag, gridPoints=points, grid_lb=lb,
                                                             grid_ub=ub)
            row[label] = _two_pass(run, grid["lb"], grid["ub"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flci = core.find_optimal_flci(beta, sigma, M=m, numPrePeriods=n_pre, numPostPeriods=n_post,
                                          l_vec=l_vec, numPoints=4000)
        row["flci"] = [float(flci["FLCI"][0]), float(flci["FLCI"][1])]
        row["flci_half_length"] = float(flci["optimalHalfLength"])
        record["sd"].append(row)  # type: ignore[union-attr]
        print(name, "sd", m, flush=True)
    return record


if __name__ == "__main__":
    main()
