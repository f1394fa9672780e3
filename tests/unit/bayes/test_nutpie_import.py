"""nutpie is imported without ArviZ's plotting stack, and nothing else in the process notices (issue 21)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bayes

ROOT = Path(__file__).resolve().parents[3]

_CHECK = r"""
import sys
from oca_experiments.bayes._nutpie import import_nutpie
nutpie = import_nutpie()
sample = sys.modules["nutpie.sample"]  # the attribute nutpie.sample is the function
import arviz_base
heavy = sorted(m for m in ("arviz", "arviz_plots", "matplotlib.pyplot") if m in sys.modules)
assert heavy == [], heavy                              # nutpie came without the meta-package and its plots
assert sample.arviz.from_dict is arviz_base.from_dict  # the very function the meta-package re-exports
assert sample.arviz.dict_to_dataset is arviz_base.dict_to_dataset
import arviz                                           # everyone else gets the real package
assert arviz is not sample.arviz and hasattr(arviz, "plot_dist") and arviz.__file__.endswith("__init__.py")
assert sample.arviz.ess is arviz.ess                   # anything else nutpie might use: forwarded to ArviZ
print("ok")
"""

_ALREADY = r"""
import sys, arviz
from oca_experiments.bayes._nutpie import import_nutpie
import_nutpie()
sample = sys.modules["nutpie.sample"]
assert sample.arviz is arviz
print("ok")
"""


@pytest.mark.parametrize("script", [_CHECK, _ALREADY], ids=["fresh", "arviz_already_imported"])
def test_nutpie_imported_without_arviz_meta_package(script: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


_DASK = r"""
import sys
import numpy as np
import xarray as xr
from oca_experiments.bayes._nutpie import defer_dask_probe
defer_dask_probe()
a = xr.DataArray(np.zeros((2, 3)), dims=("chain", "draw"))   # nutpie's draws become DataArrays like this
assert "dask.array" not in sys.modules                        # answered without importing dask.array
import dask.array as da
lazy = xr.DataArray(da.zeros((4, 4), chunks=2), dims=("a", "b"))
assert lazy.chunks == ((2, 2), (2, 2)) and not isinstance(lazy.data, np.ndarray)  # still a lazy dask array
from xarray.namedarray import pycompat
assert pycompat.array_type("dask") == (da.Array,) and pycompat.mod_version("dask") > pycompat.Version("0")
assert type(pycompat._cached_duck_array_modules["dask"]) is pycompat.DuckArrayModule  # xarray's own record now
print("ok")
"""


def test_xarray_asks_for_dask_only_once_dask_is_imported() -> None:
    pytest.importorskip("dask.array")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _DASK], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
