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

__all__ = ["import_nutpie"]


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


def import_nutpie() -> types.ModuleType:
    """``import nutpie``, with ``nutpie.sample``'s ``arviz`` bound to the stand-in when ArviZ is not loaded yet."""
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
