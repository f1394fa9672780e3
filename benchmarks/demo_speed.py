"""Time the whole demo (every hypothesis, Bayesian included, plus the report) cold and with nothing changed.

    .venv/bin/python benchmarks/demo_speed.py [--out DIR] [--runs N]

*Cold* runs ``oca demo`` into a fresh folder: nothing to reuse, so data are generated, every hypothesis is estimated
and the report is executed and exported. *Unchanged* runs the same command again: the manifest shows the same
inputs, so results.json and the report are reused. Each time is the wall-clock time of the whole command,
interpreter start included. Exits 1 when a time is over its limit (60 s cold, 10 s unchanged) or the second run
rewrote its outputs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_LIMIT_S = 60.0
UNCHANGED_LIMIT_S = 10.0
REPO = Path(__file__).resolve().parents[1]


def _run_demo(out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "oca_experiments", "demo", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"oca demo failed with exit code {done.returncode}: {done.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="demo folder (default: a fresh temporary folder, removed after)")
    parser.add_argument("--runs", type=int, default=1, help="repeat cold+unchanged N times; the median is shown")
    args = parser.parse_args()

    cold, unchanged, rewritten = [], [], False
    for _ in range(args.runs):
        scratch = Path(tempfile.mkdtemp(prefix="oca-bench-"))
        out = args.out if args.out else scratch / "demo"
        if out.exists():
            shutil.rmtree(out)
        try:
            cold.append(_run_demo(out))
            before = (out / "results.json").stat().st_mtime_ns, (out / "report" / "index.html").stat().st_mtime_ns
            unchanged.append(_run_demo(out))
            after = (out / "results.json").stat().st_mtime_ns, (out / "report" / "index.html").stat().st_mtime_ns
            rewritten |= before != after
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    cold_s, unchanged_s = sorted(cold)[len(cold) // 2], sorted(unchanged)[len(unchanged) // 2]
    ok_cold, ok_unchanged = cold_s <= COLD_LIMIT_S, unchanged_s <= UNCHANGED_LIMIT_S and not rewritten
    print(f"demo cold:              {cold_s:6.1f} s  (limit {COLD_LIMIT_S:.0f} s)  {'ok' if ok_cold else 'TOO SLOW'}")
    print(f"demo, nothing changed:  {unchanged_s:6.1f} s  (limit {UNCHANGED_LIMIT_S:.0f} s)  "
          f"{'ok' if ok_unchanged else 'TOO SLOW' if not rewritten else 'OUTPUTS REWRITTEN'}")
    return 0 if ok_cold and ok_unchanged else 1


if __name__ == "__main__":
    sys.exit(main())
