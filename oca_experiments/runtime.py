"""A run's side effects, passed in: where caches live, whether Bayesian kernels warm up, whether progress shows.

``api.load_study`` (the CLI and ``oca.load_study``) builds ``RunSettings.from_environment()`` and hands them to the
``Study``; ``Study.run`` applies them for its duration (``using``), and the code that caches draws and results
(``bayes``, ``estimators``) or draws progress bars reads ``current()``. Nothing below the api reads the environment
for these. A library function called outside a run (a fitter in a notebook, a test) falls back to
``RunSettings.from_environment()``, i.e. to what it did before settings existed.

Environment (read only by ``from_environment``): ``OCA_CACHE=off`` disables the draws and results caches;
``OCA_CACHE_DIR`` moves them, else ``$XDG_CACHE_HOME/oca_experiments``, else ``~/.cache/oca_experiments``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunSettings", "current", "using"]

_OFF = {"off", "0", "false", "no"}


@dataclass(frozen=True)
class RunSettings:
    """``cache_dir``: draws and results caches (None: none on disk); ``warmup``: compile the Bayesian kernels in a
    background process at the start of a run that needs them; ``progress``: progress bars on a terminal's stderr;
    ``compiled_models``: PyMC-backend models kept compiled in this process (least recently used go first)."""

    cache_dir: Path | None = None
    warmup: bool = False
    progress: bool = False
    compiled_models: int = 8

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RunSettings:
        """The defaults of the CLI and ``oca.load_study``: caches under the user's cache folder, warm-up and
        progress on."""
        env = os.environ if environ is None else environ
        if env.get("OCA_CACHE", "").lower() in _OFF:
            directory = None
        elif env.get("OCA_CACHE_DIR"):
            directory = Path(env["OCA_CACHE_DIR"])
        else:
            directory = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oca_experiments"
        return cls(cache_dir=directory, warmup=True, progress=True)


_ACTIVE: ContextVar[RunSettings | None] = ContextVar("oca_run_settings", default=None)


def current() -> RunSettings:
    """The settings of the run in progress, else the environment's (see the module docstring)."""
    active = _ACTIVE.get()
    return active if active is not None else RunSettings.from_environment()


@contextmanager
def using(settings: RunSettings) -> Iterator[RunSettings]:
    token = _ACTIVE.set(settings)
    try:
        yield settings
    finally:
        _ACTIVE.reset(token)
