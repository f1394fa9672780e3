"""Optional parts of the package and the pip extra that installs each (pyproject.toml's optional-dependencies).

The core (survey DiD, knowledge gain, engagement series, contracts, report) needs none of them. Code that needs an
extra imports its modules lazily and calls ``missing`` first, so that a core installation gets one line naming the
extra to install instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "install_hint", "missing"]

#: extra -> the top-level modules it provides that oca imports
EXTRAS: dict[str, tuple[str, ...]] = {
    "bayes": ("pymc", "pytensor", "nutpie", "numba", "arviz_stats", "xarray"),
    "dask": ("distributed",),
}


def missing(extra: str) -> list[str]:
    """The extra's modules that cannot be imported here (empty when the extra is installed)."""
    absent = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(module)
    return absent


def install_hint(extra: str) -> str:
    return f"pip install 'oca-experiments[{extra}]'"
