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


def test_one_model_counts_as_cached_without_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    newer = _warmup._KERNELS.stat().st_mtime + 10
    for name in ("did_logp_c", "did_expand_c"):
        _touch(tmp_path, name, newer)
    assert _warmup.kernels_cached("did")
    assert not _warmup.kernels_cached("ordinal") and not _warmup.kernels_cached("its")
    assert not _warmup.kernels_cached()


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
    monkeypatch.setattr(_warmup, "kernels_cached", lambda model=None: True)
    _warmup.start()
    assert started == []  # cached: nothing to do
    monkeypatch.setattr(_warmup, "kernels_cached", lambda model=None: False)
    _warmup.start()
    _warmup.start()  # one child at a time
    assert started == [[sys.executable, "-c", _warmup._COMPILE_ALL]]
    child = _warmup._child
    _warmup.wait()
    assert child.done and _warmup._child is None


def test_a_fit_waits_for_its_own_model_only(monkeypatch):
    """The first DiD fit goes ahead once the DiD entry points are cached, while the child compiles the others."""

    class Compiling:
        def __init__(self):
            self.reaped = False

        def poll(self):
            return None  # still compiling the ordinal and ITS models

        def wait(self, timeout=None):
            self.reaped = True

    child = Compiling()
    monkeypatch.setattr(_warmup, "_child", child)
    polls = []

    def cached(model=None):
        polls.append(model)
        return model == "did" and len(polls) > 3  # the DiD entries land after a few polls

    monkeypatch.setattr(_warmup, "kernels_cached", cached)
    monkeypatch.setattr(_warmup, "_POLL_SECONDS", 0.0)
    _warmup.wait("did")
    assert not child.reaped and _warmup._child is child  # not waited for: it goes on with the other models
    assert set(polls) == {"did"}
    _warmup.wait()  # the end of a run, or a model it never caches: wait for the child itself
    assert child.reaped and _warmup._child is None


@pytest.mark.slow
def test_the_child_caches_each_model_so_that_a_later_import_loads_it(tmp_path):
    """A real child on an empty cache: afterwards every model is cached, and creating the DiD entry points in a
    fresh process is a cache hit (nothing compiled)."""
    import json
    import subprocess

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", _warmup._COMPILE_ALL], check=True, env=env, timeout=900)
    probe = ("import json, os\nfrom oca_experiments.bayes import _warmup\n"
             "from oca_experiments.bayes._kernels import entry_points\n"
             "cached = [_warmup.kernels_cached(m) for m in ('did', 'ordinal', 'its')]\n"
             "logp, expand = entry_points('did')\n"
             "print(json.dumps({'cached': cached, 'hits': [logp.cache_hits, expand.cache_hits]}))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, env=env, timeout=600, capture_output=True,
                         text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["cached"] == [True, True, True]
    assert result["hits"] == [1, 1]  # loaded from the child's cache entries, not compiled again
