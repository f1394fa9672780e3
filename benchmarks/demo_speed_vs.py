"""The demo's cold and unchanged times against another checkout of oca, interleaved in one run (issue 14).

    .venv/bin/python benchmarks/demo_speed_vs.py --baseline /path/to/old/checkout [--runs N]

The baseline is a checkout with its own ``.venv``; the current side is this checkout, run by its own ``.venv`` or,
in a git worktree that shares another checkout's environment, by the interpreter running this script with the
checkout first on ``PYTHONPATH`` (so that the worktree's code, not the environment's installed copy, is timed).
The baseline is (e.g. ``git clone . /tmp/old && git -C /tmp/old checkout REV &&
make -C /tmp/old demo``). Each round runs, alternately, the baseline's and this checkout's ``oca demo`` into a fresh
folder with empty caches (*cold*: data generated, every hypothesis estimated, Bayesian kernels compiled and sampled,
the report executed), then the same command again (*unchanged*: outputs reused). Times are whole-command wall-clock
times, interpreter start included; the ratio is current / baseline per round, and the median ratio is printed with
the load average, so a busy machine slows both sides alike. The two demos need not run the same hypotheses (the
demo grows): the count of each side's hypotheses is printed beside its time.

``--same-hypotheses`` compares like with like when the demo has grown: both sides run ``oca run`` (not
``oca demo``) on the baseline's hypotheses only. The current side's study is this checkout's demo study reduced to
the hypothesis files the baseline has (same file names), with its own fresh lock (``oca prereg lock``); each side
reads the survey and engagement data its own generator writes (``generate_demo``, outside the timer). Cold and
unchanged are as above; the report is built on both sides.

Without ``--baseline`` it prints how to run it and exits 0 (``make benchmarks`` runs every script without
arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _interpreter(repo: Path) -> tuple[Path, str]:
    """The checkout's own .venv (nothing on PYTHONPATH), else this interpreter with the checkout on PYTHONPATH."""
    own = repo / ".venv" / "bin" / "python"
    return (own, "") if own.exists() else (Path(sys.executable), str(repo))


def _env(scratch: Path, repo: Path) -> dict[str, str]:
    # Empty caches for both sides: results and draws, numba's compiled kernels, PyTensor's compiled graphs.
    return {**os.environ, "OCA_CACHE_DIR": str(scratch / "oca-cache"), "NUMBA_CACHE_DIR": str(scratch / "numba"),
            "PYTENSOR_FLAGS": f"base_compiledir={scratch / 'pytensor'}", "PYTHONPATH": _interpreter(repo)[1]}


def _demo(repo: Path, out: Path, env: dict[str, str]) -> float:
    python = _interpreter(repo)[0]
    started = time.perf_counter()
    done = subprocess.run([str(python), "-m", "oca_experiments", "demo", "--out", str(out)], cwd=repo,
                          capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"oca demo in {repo} failed with exit code {done.returncode}: {done.stderr.strip()[-1500:]}")
    return elapsed


_STUDY_PARTS = ("study.yaml", "hypotheses", "data_contracts", "analysis", "reports", "design", "locale")
_SOURCES_READ = ("survey", "engagement")  # what the baseline's hypotheses read (h1-h7d)


def _same_hypotheses_study(baseline: Path, current: Path, scratch: Path) -> Path:
    """This checkout's demo study with only the baseline's hypothesis files, locked afresh."""
    study = scratch / "current-study"
    study.mkdir(parents=True)
    keep = {p.name for p in (baseline / "hypotheses").glob("*.yaml")}
    for part in _STUDY_PARTS:
        source = current / part
        if source.is_dir():
            shutil.copytree(source, study / part, ignore=shutil.ignore_patterns("__pycache__", "registry.lock.json"))
        elif source.is_file():
            shutil.copy2(source, study / part)
    for spec in (study / "hypotheses").glob("*.yaml"):
        if spec.name not in keep:
            spec.unlink()
    python, path = _interpreter(current)
    done = subprocess.run([str(python), "-m", "oca_experiments", "prereg", "lock", str(study)], capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONPATH": path})
    if done.returncode != 0:
        sys.exit(f"oca prereg lock failed on the reduced study: {done.stderr.strip()[-1500:]}")
    return study


def _demo_data(repo: Path, target: Path) -> dict[str, Path]:
    """The side's own demo data (its generator, default seed), written outside the timer."""
    python, path = _interpreter(repo)
    script = "import sys; from oca_experiments.demo import generate_demo; generate_demo(sys.argv[1])"
    done = subprocess.run([str(python), "-c", script, str(target)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": path})
    if done.returncode != 0:
        sys.exit(f"generate_demo in {repo} failed: {done.stderr.strip()[-1500:]}")
    return {name: target / f"{name}.csv" for name in _SOURCES_READ}


def _run(repo: Path, study: Path, data: dict[str, Path], out: Path, env: dict[str, str]) -> float:
    python = _interpreter(repo)[0]
    command = [str(python), "-m", "oca_experiments", "run", str(study)]
    for name, file in data.items():
        command += ["-d", f"{name}={file}"]
    started = time.perf_counter()
    done = subprocess.run([*command, "--out", str(out)], cwd=repo, capture_output=True, text=True, check=False,
                          env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"oca run in {repo} failed with exit code {done.returncode}: {done.stderr.strip()[-1500:]}")
    return elapsed


def _hypotheses(out: Path) -> int:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return len(results.get("hypotheses") or [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of oca with its own .venv")
    parser.add_argument("--current", type=Path, default=REPO,
                        help="the checkout to time against the baseline (default: this one)")
    parser.add_argument("--runs", type=int, default=1, help="rounds (each: both sides cold, then unchanged)")
    parser.add_argument("--same-hypotheses", action="store_true",
                        help="both sides run the baseline's hypotheses only (oca run on each side's demo data)")
    args = parser.parse_args()
    if args.baseline is None:
        print("demo_speed_vs: pass --baseline DIR (a checkout with its .venv) to compare; nothing to do")
        return 0
    sides = {"baseline": args.baseline.resolve(), "current": args.current.resolve()}
    for name, repo in sides.items():
        python, path = _interpreter(repo)
        print(f"{name}: {repo} run by {python}" + (f" with PYTHONPATH={path}" if path else ""))
    times: dict[tuple[str, str], list[float]] = {}
    counts: dict[str, int] = {}
    loads = [os.getloadavg()[0]]
    prepared = Path(tempfile.mkdtemp(prefix="oca-vs-inputs-"))
    try:
        if args.same_hypotheses:
            studies = {"baseline": sides["baseline"],
                       "current": _same_hypotheses_study(sides["baseline"], sides["current"], prepared)}
            data = {name: _demo_data(repo, prepared / f"{name}-data") for name, repo in sides.items()}

        def once(name: str, out: Path, scratch: Path) -> float:
            repo = sides[name]
            if args.same_hypotheses:
                return _run(repo, studies[name], data[name], out, _env(scratch, repo))
            return _demo(repo, out, _env(scratch, repo))

        for _ in range(args.runs):
            scratch = Path(tempfile.mkdtemp(prefix="oca-vs-"))
            try:
                outs = {name: scratch / name / "demo" for name in sides}
                for name in sides:  # cold, interleaved
                    times.setdefault((name, "cold"), []).append(once(name, outs[name], scratch / name))
                    counts[name] = _hypotheses(outs[name])
                for name in sides:  # unchanged, interleaved
                    times.setdefault((name, "unchanged"), []).append(once(name, outs[name], scratch / name))
                loads.append(os.getloadavg()[0])
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        shutil.rmtree(prepared, ignore_errors=True)
    print(f"{args.runs} round(s); load average (1 min) {min(loads):.2f}-{max(loads):.2f}")
    for kind in ("cold", "unchanged"):
        base, current = times[("baseline", kind)], times[("current", kind)]
        ratios = [c / b for c, b in zip(current, base, strict=True)]
        print(f"demo {kind:<10} baseline {statistics.median(base):6.1f} s ({counts['baseline']} hypotheses)  "
              f"current {statistics.median(current):6.1f} s ({counts['current']} hypotheses)  "
              f"current/baseline {statistics.median(ratios):.2f}")
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    med = {key: statistics.median(values) for key, values in times.items()}
    ratio = {kind: statistics.median(c / b for c, b in zip(times[("current", kind)], times[("baseline", kind)],
                                                            strict=True)) for kind in ("cold", "unchanged")}
    same = " --same-hypotheses" if args.same_hypotheses else ""
    what = (f"the baseline's {counts['baseline']} hypotheses on both sides (oca run, report built)"
            if args.same_hypotheses else "whole demo")
    emit(what=f"{what} against the baseline checkout {args.baseline.name}, interleaved, empty caches",
         command=f"benchmarks/demo_speed_vs.py --baseline DIR --runs {args.runs}{same}",
         result=(f"cold {med[('current', 'cold')]:.1f} s ({counts['current']} hypotheses) vs "
                 f"{med[('baseline', 'cold')]:.1f} s ({counts['baseline']}) = {ratio['cold']:.2f}x; unchanged "
                 f"{med[('current', 'unchanged')]:.1f} s vs {med[('baseline', 'unchanged')]:.1f} s = "
                 f"{ratio['unchanged']:.2f}x (current / baseline, medians of {args.runs})"),
         ratios={"cold_current_over_baseline": ratio["cold"], "unchanged_current_over_baseline": ratio["unchanged"]},
         load=loads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
