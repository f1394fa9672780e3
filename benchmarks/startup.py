"""Start-up time of the CLI against a bare interpreter (issue 21: `oca --help` / `--version` <= 5x `python -c pass`).

Contenders run interleaved in one process (round-robin, each in a fresh subprocess) so machine load hits all of them
alike; prints medians, the ratio to the bare interpreter and the load average. Absolute times on a shared machine
are a guide only; the ratios are the result.

    python benchmarks/startup.py [--rounds 15]

Exits 1 when ``oca --version`` or ``oca --help`` (first call with an empty cache, or cached) is over 5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CONTENDERS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import numpy, pandas": ["-c", "import numpy, pandas"],
    "oca --version": ["-m", "oca_experiments", "--version"],
    "oca --help, first call": ["-m", "oca_experiments", "--help"],
    "oca --help, cached": ["-m", "oca_experiments", "--help"],
    "oca --help, typer": ["-m", "oca_experiments", "--help"],
}
# "first call": every call gets a new, empty cache folder (a new user or machine), so the text comes from the
# pre-rendered file shipped in the package (oca_experiments/_cli_help.dat), never from an earlier call.
FRESH_CACHE = {"oca --help, first call"}
# "cached": the user's cache, filled by the warm-up call. "typer": a width outside the pre-rendered 40-250 columns
# with caching off, i.e. what typer's own rendering costs (the fallback for environments the file was not made for).
CONTENDER_ENV: dict[str, dict[str, str]] = {"oca --help, cached": {"COLUMNS": "300"},
                                            "oca --help, typer": {"OCA_CACHE": "off", "COLUMNS": "300"}}
#: Contenders held to issue 21's target: at most this many times a bare interpreter.
TARGET_RATIO = 5.0
TARGETS = ("oca --version", "oca --help, first call", "oca --help, cached")


def _time_once(args: list[str], env: dict[str, str], fresh_cache: bool = False) -> float:
    scratch = tempfile.mkdtemp(prefix="oca-startup-") if fresh_cache else None
    if scratch is not None:
        env = {**env, "OCA_CACHE_DIR": os.path.join(scratch, "cache")}
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    print(f"load average before: {os.getloadavg()}")
    envs = {name: {**env, **CONTENDER_ENV.get(name, {})} for name in CONTENDERS}
    for name, args in CONTENDERS.items():  # warm the OS file cache, .pyc files and the help cache; not counted
        _time_once(args, envs[name], name in FRESH_CACHE)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, args in CONTENDERS.items():
            times[name].append(_time_once(args, envs[name], name in FRESH_CACHE))
    bare = statistics.median(times["python -c pass"])
    print(f"{'contender':<26}{'median s':>10}{'x bare':>9}")
    over = []
    for name, samples in times.items():
        median = statistics.median(samples)
        verdict = ""
        if name in TARGETS:
            verdict = f"  (target <= {TARGET_RATIO:g}x: {'ok' if median / bare <= TARGET_RATIO else 'MISSED'})"
            if median / bare > TARGET_RATIO:
                over.append(name)
        print(f"{name:<26}{median:>10.3f}{median / bare:>9.1f}{verdict}")
    print(f"load average after: {os.getloadavg()}  ({rounds} interleaved rounds, medians)")
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    med = {name: statistics.median(samples) for name, samples in times.items()}
    x = {name: value / bare for name, value in med.items()}
    first, cached = "oca --help, first call", "oca --help, cached"
    emit(what="CLI start-up, `oca --version` / `oca --help` (first call, empty cache) against `python -c pass`",
         command=" ".join(["benchmarks/startup.py", *sys.argv[1:]]),
         result=(f"{med['oca --version']:.3f} s / {med[first]:.3f} s, {x['oca --version']:.1f}x / "
                 f"{x[first]:.1f}x a bare interpreter ({bare:.3f} s; `import numpy, pandas` "
                 f"{x['import numpy, pandas']:.1f}x); `--help` from the user's cache {x[cached]:.1f}x, rendered by "
                 f"typer {med['oca --help, typer']:.3f} s ({x['oca --help, typer']:.1f}x); medians of {rounds} "
                 "interleaved rounds"),
         ratios={"version_over_bare": x["oca --version"], "help_over_bare": x[first],
                 "help_cached_over_bare": x[cached]},
         target="<= 5x a bare interpreter", met=not over)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
