"""The background compilation of the kernels starts only when numba's cache lacks them, and is waited for."""

from __future__ import annotations

import os
import sys

import pytest

from oca_experiments.bayes import _warmup

pytestmark = pytest.mark.bayes


def _touch(folder, name: str, when: float) -> None:
    path = folder / "bayes_0123" / f"_kernels.{name}-400.py312.nbi"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.utime(path, (when, when))


def test_kernels_count_as_cached_only_when_every_entry_point_is_newer_than_the_source(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert not _warmup.kernels_cached()
    newer = _warmup._KERNELS.stat().st_mtime + 10
    for name in _warmup._ENTRY_POINTS[:-1]:
        _touch(tmp_path, name, newer)
    assert not _warmup.kernels_cached()  # one entry point missing
    _touch(tmp_path, _warmup._ENTRY_POINTS[-1], _warmup._KERNELS.stat().st_mtime - 10)
    assert not _warmup.kernels_cached()  # stale: older than the source
    _touch(tmp_path, _warmup._ENTRY_POINTS[-1], newer)
    assert _warmup.kernels_cached()


def test_start_compiles_in_a_child_only_when_needed_and_wait_reaps_it(tmp_path, monkeypatch):
    started = []

    class FakeChild:
        def __init__(self, args, **kwargs):
            started.append(args)
            self.done = False

        def wait(self, timeout=None):
            self.done = True

        def poll(self):
            return 0 if self.done else None

    monkeypatch.setattr(_warmup.subprocess, "Popen", FakeChild)
    monkeypatch.setattr(_warmup, "_child", None)
    monkeypatch.delitem(sys.modules, "oca_experiments.bayes._kernels", raising=False)
    monkeypatch.setattr(_warmup, "kernels_cached", lambda: True)
    _warmup.start()
    assert started == []  # cached: nothing to do
    monkeypatch.setattr(_warmup, "kernels_cached", lambda: False)
    _warmup.start()
    _warmup.start()  # one child at a time
    assert started == [[sys.executable, "-c", "import oca_experiments.bayes._kernels"]]
    child = _warmup._child
    _warmup.wait()
    assert child.done and _warmup._child is None
