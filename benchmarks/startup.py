"""Start-up time of the CLI against a bare interpreter (issue 21: `oca --help` / `--version` <= 5x `python -c pass`).

Contenders run interleaved in one process (round-robin, each in a fresh subprocess) so machine load hits all of them
alike; prints medians, the ratio to the bare interpreter and the load average. Absolute times on a shared machine
are a guide only; the ratios are the result.

    python benchmarks/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CONTENDERS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import numpy, pandas": ["-c", "import numpy, pandas"],
    "oca --version": ["-m", "oca_experiments", "--version"],
    "oca --help": ["-m", "oca_experiments", "--help"],
    "oca --help, no cache": ["-m", "oca_experiments", "--help"],
}
# `oca --help` prints the text typer rendered on its first call (kept in the user's cache, see __main__.py); this
# contender renders it with typer every time, i.e. what a first call or a changed terminal width costs.
CONTENDER_ENV: dict[str, dict[str, str]] = {"oca --help, no cache": {"OCA_CACHE": "off"}}


def _time_once(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    print(f"load average before: {os.getloadavg()}")
    envs = {name: {**env, **CONTENDER_ENV.get(name, {})} for name in CONTENDERS}
    for name, args in CONTENDERS.items():  # warm the OS file cache, .pyc files and the help cache; not counted
        _time_once(args, envs[name])
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(rounds):
        for name, args in CONTENDERS.items():
            times[name].append(_time_once(args, envs[name]))
    bare = statistics.median(times["python -c pass"])
    print(f"{'contender':<24}{'median s':>10}{'x bare':>9}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<24}{median:>10.3f}{median / bare:>9.1f}")
    print(f"load average after: {os.getloadavg()}  ({rounds} interleaved rounds, medians)")
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    med = {name: statistics.median(samples) for name, samples in times.items()}
    x = {name: value / bare for name, value in med.items()}
    emit(what="CLI start-up, `oca --version` / `oca --help` against `python -c pass`",
         command=" ".join(["benchmarks/startup.py", *sys.argv[1:]]),
         result=(f"{med['oca --version']:.3f} s / {med['oca --help']:.3f} s, {x['oca --version']:.1f}x / "
                 f"{x['oca --help']:.1f}x a bare interpreter ({bare:.3f} s; `import numpy, pandas` "
                 f"{x['import numpy, pandas']:.1f}x); `--help` without its cache {med['oca --help, no cache']:.3f} s "
                 f"({x['oca --help, no cache']:.1f}x); medians of {rounds} interleaved rounds"),
         ratios={"version_over_bare": x["oca --version"], "help_over_bare": x["oca --help"]},
         target="<= 5x a bare interpreter", met=max(x["oca --version"], x["oca --help"]) <= 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
