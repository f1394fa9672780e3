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


def _hypotheses(out: Path) -> int:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return len(results.get("hypotheses") or [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of oca with its own .venv")
    parser.add_argument("--current", type=Path, default=REPO,
                        help="the checkout to time against the baseline (default: this one)")
    parser.add_argument("--runs", type=int, default=1, help="rounds (each: both sides cold, then unchanged)")
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
    for _ in range(args.runs):
        scratch = Path(tempfile.mkdtemp(prefix="oca-vs-"))
        try:
            outs = {name: scratch / name / "demo" for name in sides}
            for name, repo in sides.items():  # cold, interleaved
                times.setdefault((name, "cold"), []).append(_demo(repo, outs[name], _env(scratch / name, repo)))
                counts[name] = _hypotheses(outs[name])
            for name, repo in sides.items():  # unchanged, interleaved
                times.setdefault((name, "unchanged"), []).append(_demo(repo, outs[name], _env(scratch / name, repo)))
            loads.append(os.getloadavg()[0])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
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
    emit(what=f"whole demo against the baseline checkout {args.baseline.name}, interleaved, empty caches",
         command=f"benchmarks/demo_speed_vs.py --baseline DIR --runs {args.runs}",
         result=(f"cold {med[('current', 'cold')]:.1f} s ({counts['current']} hypotheses) vs "
                 f"{med[('baseline', 'cold')]:.1f} s ({counts['baseline']}) = {ratio['cold']:.2f}x; unchanged "
                 f"{med[('current', 'unchanged')]:.1f} s vs {med[('baseline', 'unchanged')]:.1f} s = "
                 f"{ratio['unchanged']:.2f}x (current / baseline, medians of {args.runs})"),
         ratios={"cold_current_over_baseline": ratio["cold"], "unchanged_current_over_baseline": ratio["unchanged"]},
         load=loads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
