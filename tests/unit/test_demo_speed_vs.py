"""benchmarks/demo_speed_vs.py times the checkout it is asked to (issue 14 acceptance 5): a git worktree that shares
another checkout's .venv used to be timed through the environment's installed copy (PYTHONPATH emptied), i.e. the
other checkout's code. Not timed: it checks which interpreter and path each side gets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "demo_speed_vs.py"
spec = importlib.util.spec_from_file_location("demo_speed_vs", SCRIPT)
assert spec is not None and spec.loader is not None
demo_speed_vs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_speed_vs)


def test_a_checkout_with_its_own_venv_runs_its_installed_copy(tmp_path: Path) -> None:
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert demo_speed_vs._interpreter(tmp_path) == (python, "")
    assert demo_speed_vs._env(tmp_path / "scratch", tmp_path)["PYTHONPATH"] == ""


def test_a_worktree_without_a_venv_runs_its_own_code(tmp_path: Path) -> None:
    assert demo_speed_vs._interpreter(tmp_path) == (Path(sys.executable), str(tmp_path))
    env = demo_speed_vs._env(tmp_path / "scratch", tmp_path)
    assert env["PYTHONPATH"] == str(tmp_path)
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "scratch" / "numba")


def test_same_hypotheses_keeps_the_baselines_specs_and_locks_them(tmp_path: Path) -> None:
    """``--same-hypotheses``: the current side runs this checkout's study reduced to the baseline's hypothesis
    files, with a fresh lock of exactly those (a stale lock would make the firewall run every locked spec)."""
    import json

    repo = SCRIPT.parents[1]
    baseline = tmp_path / "baseline"
    (baseline / "hypotheses").mkdir(parents=True)
    kept = sorted(p.name for p in (repo / "hypotheses").glob("*.yaml"))[:2]
    for name in kept:
        (baseline / "hypotheses" / name).write_text("# the baseline's version\n")
    study = demo_speed_vs._same_hypotheses_study(baseline, repo, tmp_path / "scratch")
    assert sorted(p.name for p in (study / "hypotheses").glob("*.yaml")) == kept
    assert (study / "hypotheses" / kept[0]).read_text() == (repo / "hypotheses" / kept[0]).read_text()  # current
    lock = json.loads((study / "hypotheses" / "registry.lock.json").read_text())
    assert sorted(e["spec_file"] for e in lock["entries"]) == [f"hypotheses/{name}" for name in kept]
    assert (study / "study.yaml").is_file() and (study / "reports").is_dir()
