"""The batched ITS filter's numba loop is compiled ahead, in a child process, on a cold run (issue 14 acceptance 5,
issue 21 cold demo): the demo's staggered hypothesis spent most of its cold time compiling it on the critical path.
Not timed: the child must leave a cache entry that a later fit *loads* (numba counts cache hits and misses per
signature), the plan must start it for the estimators that use the filter on a source big enough for the compiled loop
(``COMPILED_FROM_CELLS``), and nothing else must."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

from oca_experiments import runner  # noqa: E402
from oca_experiments.estimators import _its_batch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]

_FIT_AFTER = """
import json, numpy as np
from oca_experiments.estimators import _its_batch
_its_batch.COMPILED_FROM_CELLS = 0  # two short series: take the compiled path as a big batch would
rng = np.random.default_rng(3)
n = 60
y = np.cumsum(rng.normal(0, 1, (2, n)), axis=1)
x = np.zeros((2, n, 0))
_its_batch.fit_local_level_batch(y, x, np.array([40, 45]), (), components=np.array([True, False]))
stats = _its_batch._compiled_score_sums().stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


@pytest.mark.slow
def test_the_child_leaves_the_loop_a_fit_loads_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setattr(_its_batch, "_precompile_child", None)
    # an earlier test in this process may have compiled the loop already (start_precompile then rightly does nothing)
    monkeypatch.setattr(_its_batch, "_compiled_score_sums", functools.lru_cache(maxsize=None)(lambda: None))
    assert not _its_batch.loop_cached()
    _its_batch.start_precompile()
    child = _its_batch._precompile_child
    assert child is not None
    _its_batch._wait_for_precompile()
    assert child.returncode == 0 and _its_batch._precompile_child is None
    assert _its_batch.loop_cached()
    _its_batch.start_precompile()  # cached now: no second child
    assert _its_batch._precompile_child is None
    proc = subprocess.run([sys.executable, "-c", _FIT_AFTER], capture_output=True, text=True, check=True,
                          timeout=600, env=dict(os.environ))
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counts == {"hits": 1, "misses": 0}  # the fit's signature is the one the child compiled


def test_the_plan_starts_it_for_big_engagement_sources_only(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr("oca_experiments.estimators.precompile_its", lambda: started.append("its"))
    monkeypatch.setattr("oca_experiments.bayes.start_kernel_warmup", lambda: started.append("bayes"))

    class _Task:
        def __init__(self, name: str, source: str = "engagement") -> None:
            self.estimator = type("E", (), {"name": name, "bayesian": False})()
            self.spec = None
            self.source = source

    class _Plan:
        def __init__(self, *names: str) -> None:
            self.tasks = [_Task(n) for n in names]

    def loaded(rows: int) -> dict[str, object]:
        return {"engagement": type("L", (), {"frame": range(rows)})()}

    big, small = loaded(_its_batch.COMPILED_FROM_CELLS), loaded(_its_batch.COMPILED_FROM_CELLS - 1)
    runner._start_kernel_warmup(_Plan("survey_did", "staggered_did", "its"))  # the data's size is not known yet
    runner._start_its_precompile(_Plan("survey_did", "twfe"), big)
    runner._start_its_precompile(_Plan("staggered_did"), small)  # the demo's 7 pages x 180 days
    assert started == []
    runner._start_its_precompile(_Plan("survey_did", "staggered_did"), big)
    runner._start_its_precompile(_Plan("its"), big)
    assert started == ["its", "its"]
