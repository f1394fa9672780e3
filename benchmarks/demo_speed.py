"""Time the whole demo (every hypothesis, Bayesian included, plus the report) cold and with nothing changed.

    .venv/bin/python benchmarks/demo_speed.py [--out DIR] [--runs N]

*Cold* runs ``oca demo`` into a fresh folder with empty caches (a fresh ``OCA_CACHE_DIR`` for results and
posterior draws, a fresh ``NUMBA_CACHE_DIR`` and a fresh PyTensor compile directory, so every Bayesian kernel is
compiled and every model sampled): nothing to reuse, so data are
generated, every hypothesis is estimated and the report is executed and exported. *Unchanged* runs the same command
again (5 times, interleaved with a bare ``python -c pass``; the median is shown): the stamp the first run left shows
the same inputs, code, installed distributions and outputs, so the recorded answer is printed before anything heavy
is imported (``oca_experiments/_cli_rerun.py``) and nothing is rewritten. Each time is the wall-clock time of the
whole command, interpreter start included.

The *Bayesian part* (issue 7) is the time the Bayesian hypotheses (specs with a ``bayes:`` section) spend in
estimation inside a full run of the study (no report) on the cold demo's data, timed in-process around the runner's
per-hypothesis estimation: first with empty caches (compile and sample), then again into a new folder with the
caches the first run left (compiled kernels and draws are reused). The whole process's time is printed beside it.

Exits 1 when a time is over its limit (30 s cold, 1.5 s unchanged (issue 21); Bayesian part 40 s cold, 5 s rerun) or the
second demo run rewrote its outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_LIMIT_S = 30.0  # issue 21: the whole cold demo <= 30 s on an idle machine
UNCHANGED_LIMIT_S = 1.5
UNCHANGED_REPEATS = 5
BAYES_COLD_LIMIT_S = 40.0
BAYES_RERUN_LIMIT_S = 5.0
REPO = Path(__file__).resolve().parents[1]


def _cache_env(scratch: Path) -> dict[str, str]:
    """Empty caches under ``scratch``: results and posterior draws, numba's compiled Bayesian kernels (as on the
    first run after an installation) and PyTensor's compiled graphs (used only by the ``pymc`` backend)."""
    return {**os.environ, "OCA_CACHE_DIR": str(scratch / "oca-cache"), "NUMBA_CACHE_DIR": str(scratch / "numba"),
            "PYTENSOR_FLAGS": f"base_compiledir={scratch / 'pytensor'}"}


def _oca(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "oca_experiments", *args], cwd=REPO, capture_output=True,
                          text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"oca {args[0]} failed with exit code {done.returncode}: {done.stderr.strip()}")
    return elapsed


def _bare_python() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def _run_demo(out: Path, env: dict[str, str]) -> float:
    return _oca(["demo", "--out", str(out)], env)


#: Runs the study in a child process and prints, as JSON, the seconds each hypothesis spent in estimation (outcome
#: construction, fitting, diagnostics, plots' data: everything ``runner._estimate`` does), beside the whole run's.
_TIMED_RUN = """
import json, sys, time
started = time.perf_counter()
import oca_experiments as oca
from oca_experiments import runner
spent = {}
original = runner._estimate
def timed(task, source, **kwargs):
    t = time.perf_counter()
    try:
        return original(task, source, **kwargs)
    finally:
        spent[task.id] = spent.get(task.id, 0.0) + time.perf_counter() - t
runner._estimate = timed
study = oca.load_study(sys.argv[1])
oca.run_to_directory(study, {"survey": sys.argv[2], "engagement": sys.argv[3], "community": sys.argv[4]}, sys.argv[5],
                     build_html=False)
print(json.dumps({"estimation": spent, "process": time.perf_counter() - started}))
"""


def _bayesian_ids() -> set[str]:
    """The demo's Bayesian specs: those with a ``bayes:`` section."""
    return {spec.stem for spec in (REPO / "hypotheses").glob("*.yaml")
            if re.search(r"^bayes:", spec.read_text(encoding="utf-8"), flags=re.MULTILINE)}


def _timed_run(data: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds the Bayesian hypotheses spent in estimation, seconds of the whole ``oca run``-equivalent process)."""
    done = subprocess.run([sys.executable, "-c", _TIMED_RUN, str(REPO), str(data / "survey.csv"),
                           str(data / "engagement.csv"), str(data / "community.csv"), str(out)], cwd=REPO, capture_output=True, text=True,
                          check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"the timed run failed with exit code {done.returncode}: {done.stderr.strip()[-2000:]}")
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    bayesian = _bayesian_ids()
    missing = bayesian - set(timing["estimation"])
    if missing:
        sys.exit(f"no estimation timed for {sorted(missing)}: is the spec id its file name?")
    return sum(timing["estimation"][hid] for hid in bayesian), timing["process"]


def _time_bayesian_part(data: Path, scratch: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """Cold (empty caches) and rerun (the caches the cold run left, a new output folder)."""
    env = _cache_env(scratch / "bayes-caches")
    cold = _timed_run(data, scratch / "bayes-cold", env)
    rerun = _timed_run(data, scratch / "bayes-rerun", env)
    return cold, rerun


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="demo folder (default: a fresh temporary folder, removed after)")
    parser.add_argument("--runs", type=int, default=1, help="repeat cold+unchanged N times; the median is shown")
    args = parser.parse_args()

    cold, unchanged, bare, bayes_cold, bayes_rerun, processes, rewritten = [], [], [], [], [], [], False
    for _ in range(args.runs):
        scratch = Path(tempfile.mkdtemp(prefix="oca-bench-"))
        out = args.out if args.out else scratch / "demo"
        if out.exists():
            shutil.rmtree(out)
        try:
            env = _cache_env(scratch / "demo-caches")
            cold.append(_run_demo(out, env))
            before = (out / "results.json").stat().st_mtime_ns, (out / "report" / "index.html").stat().st_mtime_ns
            for _ in range(UNCHANGED_REPEATS):  # interleaved with a bare interpreter: the load hits both alike
                unchanged.append(_run_demo(out, env))
                bare.append(_bare_python())
            after = (out / "results.json").stat().st_mtime_ns, (out / "report" / "index.html").stat().st_mtime_ns
            rewritten |= before != after
            (b_cold, p_cold), (b_rerun, p_rerun) = _time_bayesian_part(out / "data", scratch)
            bayes_cold.append(b_cold)
            bayes_rerun.append(b_rerun)
            processes.append((p_cold, p_rerun))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def line(label: str, seconds: float, limit: float, ok: bool, bad: str = "TOO SLOW") -> None:
        print(f"{label:<34}{seconds:6.2f} s  (limit {limit:g} s)  {'ok' if ok else bad}")

    cold_s, unchanged_s = median(cold), median(unchanged)
    bayes_cold_s, bayes_rerun_s = median(bayes_cold), median(bayes_rerun)
    ok_cold, ok_unchanged = cold_s <= COLD_LIMIT_S, unchanged_s <= UNCHANGED_LIMIT_S and not rewritten
    ok_bayes = bayes_cold_s <= BAYES_COLD_LIMIT_S and bayes_rerun_s <= BAYES_RERUN_LIMIT_S
    print(f"load average {os.getloadavg()}; median of {args.runs} run(s); wall-clock time of each command, "
          "interpreter start included")
    line("demo cold (empty caches):", cold_s, COLD_LIMIT_S, ok_cold)
    line("demo, nothing changed:", unchanged_s, UNCHANGED_LIMIT_S, ok_unchanged,
         "TOO SLOW" if not rewritten else "OUTPUTS REWRITTEN")
    print(f"  (nothing changed = {unchanged_s / median(bare):.1f}x a bare `python -c pass` "
          f"({median(bare):.3f} s) in the same interleaved runs; load average {os.getloadavg()})")
    line("Bayesian part cold (compile+sample):", bayes_cold_s, BAYES_COLD_LIMIT_S, bayes_cold_s <= BAYES_COLD_LIMIT_S)
    line("Bayesian part rerun (caches):", bayes_rerun_s, BAYES_RERUN_LIMIT_S, bayes_rerun_s <= BAYES_RERUN_LIMIT_S)
    p_cold, p_rerun = processes[len(processes) // 2]
    print(f"  (Bayesian part = the Bayesian hypotheses' estimation time inside a full run of the study, whose process "
          f"took {p_cold:.1f} s cold and {p_rerun:.1f} s on the rerun)")
    from _summary import emit  # summary lines for run_all.py (benchmarks/ is on sys.path when run as a script)

    command = " ".join(["benchmarks/demo_speed.py", *sys.argv[1:]])
    emit(what="whole demo, cold (empty caches, numba's included) / nothing changed", command=command,
         result=(f"{cold_s:.1f} s / {unchanged_s:.2f} s ({unchanged_s / median(bare):.1f}x a bare interpreter; "
                 f"median of {args.runs}){'; OUTPUTS REWRITTEN' if rewritten else ''}"),
         ratios={"unchanged_over_bare": unchanged_s / median(bare)},
         target=f"{COLD_LIMIT_S:.0f} s / {UNCHANGED_LIMIT_S:g} s", met=ok_cold and ok_unchanged)
    emit(what="Bayesian part of the demo, cold / rerun", command=command,
         result=f"{bayes_cold_s:.1f} s / {bayes_rerun_s:.1f} s (whole process {p_cold:.1f} s / {p_rerun:.1f} s)",
         target=f"{BAYES_COLD_LIMIT_S:.0f} s / {BAYES_RERUN_LIMIT_S:.0f} s", met=ok_bayes)
    return 0 if ok_cold and ok_unchanged and ok_bayes else 1


if __name__ == "__main__":
    sys.exit(main())
