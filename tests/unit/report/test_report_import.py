"""The report notebook's first cell imports only what its sections read (issue 21, cold demo): the kernel used to
import the whole report package (the gate, the builder, nbconvert, every estimator and numba through them), about
4 s of each cold report. Not timed: it checks which modules a fresh interpreter has loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import oca_experiments.report as report

REPO_ROOT = Path(__file__).resolve().parents[3]

#: What the sections never need: the estimators (numba, statsmodels, linearmodels-like code), the gate and the
#: notebook machinery of the builder.
NOT_FOR_SECTIONS = ("oca_experiments.estimators", "oca_experiments.report._gate", "oca_experiments.report._build",
                    "oca_experiments.runner", "numba", "nbconvert", "nbclient", "statsmodels", "great_expectations")


def test_the_notebook_import_leaves_the_estimators_and_builder_alone() -> None:
    probe = ("import json, sys\nfrom oca_experiments.report import load_report, show_section\n"
             "print(json.dumps(sorted(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=300, check=True)
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "oca_experiments.report._sections" in modules
    loaded = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in NOT_FOR_SECTIONS))
    assert loaded == []


@pytest.mark.parametrize("name", sorted(report.__all__))
def test_every_public_name_still_resolves_from_its_module(name: str) -> None:
    value = getattr(report, name)
    module = report._SOURCES[name]
    assert value is getattr(__import__(f"oca_experiments.report.{module}", fromlist=[name]), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_section"):
        getattr(report, "no_such_section")
