"""Import nutpie without ArviZ's plotting stack.

``nutpie.sample`` runs ``import arviz`` when it is imported, but calls only ``arviz.from_dict`` and
``arviz.dict_to_dataset``, which are ``arviz_base``'s own functions re-exported (the same objects). The ``arviz``
meta-package also imports ``arviz_plots`` and ``matplotlib.pyplot``, and ``arviz_base``'s numpyro reader walks the
whole call stack with ``inspect.stack()`` when jax is absent: together about 1 s here, half of a cold Bayesian fit
on the kernel backend (issue 21).

While nutpie is imported, ``arviz`` resolves to a stand-in module that serves those two functions from
``arviz_base`` and anything else from the real package (imported on first use). ``sys.modules`` is restored right
after, so every other ``import arviz`` in the process gets the real package; only ``nutpie.sample``'s own global
name ``arviz`` keeps the stand-in. If ArviZ is already imported, or nutpie is, this is a plain import.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["defer_dask_probe", "import_nutpie"]


class _ArvizStandIn(types.ModuleType):
    """``arviz`` as nutpie uses it: ``from_dict``/``dict_to_dataset`` from arviz_base, the rest from ArviZ itself."""

    def __init__(self) -> None:
        super().__init__("arviz", "stand-in for the arviz meta-package while nutpie is imported (oca_experiments)")
        import arviz_base

        self.from_dict = arviz_base.from_dict
        self.dict_to_dataset = arviz_base.dict_to_dataset

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(importlib.import_module("arviz"), name)


class _DaskArrayTypeOnceLoaded:
    """xarray's record of the ``dask`` duck-array module, probed lazily.

    xarray asks every new ``DataArray``'s data ``isinstance(data, array_type("dask"))``; the first ask imports
    ``dask.array`` (0.2-0.4 s cold) just to answer "no" when dask is installed but unused, as in every Bayesian
    fit here (nutpie's draws become DataArrays). An object can only be a dask array once ``dask.array`` has been
    imported, so until then the answer is the empty type tuple without importing it; from then on (or when any
    other attribute is asked) this is xarray's own record. ``tests/unit/bayes/test_nutpie_import.py`` checks that
    a real dask array is still recognised.
    """

    def __init__(self, make_real: Any) -> None:
        self._make_real = make_real

    def _real(self) -> Any:
        from xarray.namedarray import pycompat

        real = self._make_real("dask")
        if pycompat._cached_duck_array_modules.get("dask") is self:
            pycompat._cached_duck_array_modules["dask"] = real
        return real

    @property
    def type(self) -> tuple[type, ...]:
        return self._real().type if "dask.array" in sys.modules else ()

    def __getattr__(self, name: str) -> Any:  # module, version, available: xarray's own answer
        return getattr(self._real(), name)


def defer_dask_probe() -> None:
    """Let xarray answer "not a dask array" without importing dask.array while nothing has imported it (see
    ``_DaskArrayTypeOnceLoaded``). Does nothing when xarray's internals are not as expected."""
    if "dask.array" in sys.modules:
        return
    try:
        from xarray.namedarray import pycompat
    except ImportError:
        return
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    make_real = getattr(pycompat, "DuckArrayModule", None)
    if isinstance(cache, dict) and make_real is not None and "dask" not in cache:
        cache["dask"] = _DaskArrayTypeOnceLoaded(make_real)


def import_nutpie() -> types.ModuleType:
    """``import nutpie``, with ``nutpie.sample``'s ``arviz`` bound to the stand-in when ArviZ is not loaded yet
    (and xarray's dask probe deferred: ``defer_dask_probe``)."""
    defer_dask_probe()
    if "nutpie" in sys.modules or "arviz" in sys.modules:
        import nutpie
        return nutpie
    stand_in = _ArvizStandIn()
    sys.modules["arviz"] = stand_in
    try:
        import nutpie
    finally:
        if sys.modules.get("arviz") is stand_in:
            del sys.modules["arviz"]
    return nutpie
