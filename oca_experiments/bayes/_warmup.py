"""Compile the Bayesian kernels in a background process while a run does its other work.

numba compiles ``_kernels.py`` once per installation (about 9 s) and caches the result on disk. On that first run
the compilation would sit on the critical path just before the first Bayesian hypothesis. ``start()`` (called by
``Study.run`` when the plan holds a Bayesian hypothesis on the kernel backend) instead compiles it in a child
process on the other core while this process loads data, runs the contracts and fits the frequentist hypotheses;
``wait()`` (called before the first kernel is used) waits for the child, and the import then loads the compiled
code from numba's cache.

Nothing depends on the child: if it fails or is killed, the import compiles in-process as it would have anyway,
and the compiled code is the same. When the cache already holds the kernels, no child is started.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["kernels_cached", "start", "wait"]

_KERNELS = Path(__file__).with_name("_kernels.py")
#: The C entry points: their cache entries exist only once the whole module has been compiled.
_ENTRY_POINTS = ("did_logp_c", "did_expand_c", "ordinal_logp_c", "ordinal_expand_c", "its_logp_c", "its_expand_c")
_child: subprocess.Popen[bytes] | None = None


def _cache_folders() -> list[Path]:
    """Where numba may keep the kernels' cache: NUMBA_CACHE_DIR, else beside the module, else its user cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"])]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [_KERNELS.parent / "__pycache__", base / "numba"]


def kernels_cached() -> bool:
    """True when every entry point has a cache index newer than the kernels' source (a cheap file check)."""
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
                if name in _ENTRY_POINTS and index.stat().st_mtime >= source_time:
                    found.add(name)
            except OSError:
                continue
    return found >= set(_ENTRY_POINTS)


def start() -> None:
    """Compile the kernels in a child process unless they are cached, the child runs already or this process
    has loaded them."""
    global _child
    if _child is not None or "oca_experiments.bayes._kernels" in sys.modules or kernels_cached():
        return
    try:
        _child = subprocess.Popen([sys.executable, "-c", "import oca_experiments.bayes._kernels"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no child: the first kernel use compiles in-process
        _child = None


def wait(timeout: float = 300.0) -> None:
    """Wait for the child (if any) so that the kernels load from the cache instead of compiling twice."""
    global _child
    if _child is None:
        return
    try:
        _child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _child.kill()
    _child = None


@atexit.register
def _stop_child() -> None:
    if _child is not None and _child.poll() is None:
        _child.kill()
