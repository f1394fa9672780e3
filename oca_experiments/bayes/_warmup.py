"""Compile the Bayesian kernels in a background process while a run does its other work.

numba compiles ``_kernels.py`` once per installation (about 9 s for the three models) and caches the result on
disk. On that first run the compilation would sit on the critical path just before the first Bayesian
hypothesis. ``start()`` (called by ``Study.run`` when the plan holds a Bayesian hypothesis on the kernel backend)
instead compiles the models one after another (DiD, ordinal, ITS: ``_kernels.entry_points``) in a child process
on the other core while this process loads data, runs the contracts and fits the frequentist hypotheses;
``wait(model)`` (called before a model's entry points are created) waits only until that model is in numba's
cache, so the first DiD fit does not wait for the ITS model's compilation; its import then loads the compiled
code from the cache.

Nothing depends on the child: if it fails or is killed, the entry points compile in-process as they would have
anyway, and the compiled code is the same. When the cache already holds the kernels, no child is started.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["kernels_cached", "start", "wait"]

_KERNELS = Path(__file__).with_name("_kernels.py")
#: Each model's C entry points (``_kernels.entry_points``): a model is compiled once both are in the cache.
_MODEL_ENTRY_POINTS = {"did": ("did_logp_c", "did_expand_c"), "ordinal": ("ordinal_logp_c", "ordinal_expand_c"),
                       "its": ("its_logp_c", "its_expand_c")}
_ENTRY_POINTS = tuple(name for names in _MODEL_ENTRY_POINTS.values() for name in names)
#: What the child runs: every model, in the order the demo's hypotheses need them.
_COMPILE_ALL = ("from oca_experiments.bayes._kernels import MODELS, entry_points\n"
                "for model in MODELS:\n    entry_points(model)")
_POLL_SECONDS = 0.05
_child: subprocess.Popen[bytes] | None = None


def _cache_folders() -> list[Path]:
    """Where numba may keep the kernels' cache: NUMBA_CACHE_DIR, else beside the module, else its user cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"])]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [_KERNELS.parent / "__pycache__", base / "numba"]


def kernels_cached(model: str | None = None) -> bool:
    """True when every entry point (of ``model``, else of all models) has a cache index newer than the kernels'
    source (a cheap file check)."""
    wanted = set(_MODEL_ENTRY_POINTS[model] if model is not None else _ENTRY_POINTS)
    try:
        source_time = _KERNELS.stat().st_mtime
    except OSError:
        return True
    found: set[str] = set()
    for folder in _cache_folders():
        if not folder.is_dir():
            continue
        pattern = "**/_kernels.*.nbi" if folder.name != "__pycache__" else "_kernels.*.nbi"
        for index in folder.glob(pattern):
            name = index.name.split(".")[1].rsplit("-", 1)[0]
            try:
                if name in wanted and index.stat().st_mtime >= source_time:
                    found.add(name)
            except OSError:
                continue
    return found >= wanted


def start() -> None:
    """Compile the kernels in a child process unless they are cached or the child runs already."""
    global _child
    if _child is not None or kernels_cached():
        return
    try:
        _child = subprocess.Popen([sys.executable, "-c", _COMPILE_ALL],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no child: the first kernel use compiles in-process
        _child = None


def wait(model: str | None = None, timeout: float = 300.0) -> None:
    """Wait for the child (if any) so that the kernels load from the cache instead of compiling twice: until
    ``model``'s entry points are cached (the child goes on with the other models), or until it is done."""
    global _child
    child = _child
    if child is None:
        return
    deadline = time.monotonic() + timeout
    if model is not None:
        while child.poll() is None and not kernels_cached(model) and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
        if child.poll() is None and kernels_cached(model):
            return
    _child = None
    try:
        child.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()


@atexit.register
def _stop_child() -> None:
    if _child is not None and _child.poll() is None:
        _child.kill()
