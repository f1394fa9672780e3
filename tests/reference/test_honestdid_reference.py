"""HonestDiD (Rambachan and Roth 2023) against the ``honestdid`` package (issue 15, HonestDiD in full).

The reference numbers were computed by ``make_honestdid_reference.py`` in a separate environment and are committed
beside it. Identified sets are linear programs (agree to 1e-8 here; 1e-4 asked). The ARP confidence sets are checked
on the reference's own theta grids (201 points spanning each set), where both report the smallest and largest
accepted grid point, so every accept/reject decision near the endpoints must agree (1e-4); our default refines the
endpoints by bisection, which must then lie within one grid step of them. The FLCI is an optimisation: 1e-4 against the reference run with the exact
folded-normal quantile and a fine search.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oca_experiments.estimators._honest import EventStudy, _polyhedra, confidence_set, flci, identified_set

HERE = Path(__file__).resolve().parent
PATH = HERE / "honestdid_reference.json"
REFERENCE = json.loads(PATH.read_text(encoding="utf-8")) if PATH.exists() else {"studies": {}}
TOL = 1e-4
CASES = [(name, restriction, i) for name, study in sorted(REFERENCE["studies"].items())
         for restriction in ("rm", "sd") for i in range(len(study[restriction]))]


def _setup(name: str):
    ref = REFERENCE["studies"][name]
    study = EventStudy(np.array(ref["beta"]), np.array(ref["sigma"]), ref["n_pre"], ref["n_post"])
    return ref, study, np.array(ref["l_vec"])


@pytest.mark.parametrize(("name", "restriction", "index"), CASES)
def test_identified_set_and_arp_confidence_sets_match(name: str, restriction: str, index: int) -> None:
    ref, study, l_vec = _setup(name)
    row = ref[restriction][index]
    kind = "relative_magnitudes" if restriction == "rm" else "smoothness"
    low, high = identified_set(study.beta, l_vec, study.n_pre, _polyhedra(kind, study.n_pre, study.n_post, row["m"]))
    if np.isnan(low):
        # No violation in Delta(M) reproduces the pre-periods (e.g. M = 0 with a non-linear pre-trend): the set is
        # empty. The reference warns "Solver did not find an optimum" and returns the point l'beta_post instead.
        point = float(l_vec @ study.beta[study.n_pre:])
        assert row["id"] == [pytest.approx(point, abs=1e-12)] * 2
    else:
        assert low == pytest.approx(row["id"][0], abs=TOL) and high == pytest.approx(row["id"][1], abs=TOL)
    for method in ("conditional", "hybrid"):
        expected = row[method]["interval"]
        grid = np.linspace(*row[method]["grid"][:2], int(row[method]["grid"][2]))
        step = grid[1] - grid[0]
        on_grid = confidence_set(study, l_vec, kind, row["m"], method=method, alpha=REFERENCE["alpha"], grid=grid,
                                 refine=False)
        assert on_grid["ci_low"] == pytest.approx(expected[0], abs=TOL), method
        assert on_grid["ci_high"] == pytest.approx(expected[1], abs=TOL), method
        refined = confidence_set(study, l_vec, kind, row["m"], method=method, alpha=REFERENCE["alpha"], grid=grid)
        assert expected[0] - step <= refined["ci_low"] <= expected[0] + 1e-12
        assert expected[1] - 1e-12 <= refined["ci_high"] <= expected[1] + step


@pytest.mark.parametrize("name", sorted(REFERENCE["studies"]))
def test_flci_matches(name: str) -> None:
    ref, study, l_vec = _setup(name)
    for row in ref["sd"]:
        ours = flci(study, l_vec, row["m"], REFERENCE["alpha"])
        assert ours["ci_low"] == pytest.approx(row["flci"][0], abs=TOL), row["m"]
        assert ours["ci_high"] == pytest.approx(row["flci"][1], abs=TOL), row["m"]
        # Ours is the exact optimum: never longer than the reference's (up to its search tolerance).
        assert ours["half_length"] <= row["flci_half_length"] + 1e-6


def test_reference_file_is_present() -> None:
    assert len(REFERENCE["studies"]) == 2  # the third design fails inside honestdid 0.1.1 (see reference_errors)
