"""Survey DiD with every registered extra (Lee bounds, reliability bootstrap, attrition, wild bootstrap) at scale.

Issue 21 target: 1M respondents in <= 60 s and <= 4 GB peak. Each size runs in its own child process under
``/usr/bin/time -v`` so the peak RSS is that of one fit; the load average is printed with every line because the
machine is shared. Data: the demo survey's generator (same schema and design) at ``n`` respondents.

    python benchmarks/survey_scale.py [--sizes 10000 100000 1000000] [--hypothesis h1]
    python benchmarks/survey_scale.py --child 100000 h1_horizontal_trust      # one fit, used by the parent
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _child(n: int, hypothesis: str) -> None:
    from oca_experiments.api import demo_study_dir, load_study
    from oca_experiments.demo._generator import simulate_demo
    from oca_experiments.runner import LoadedSource, _estimate

    study = load_study(demo_study_dir())
    task = next(t for t in study.plan.tasks if t.id == hypothesis)
    survey = simulate_demo(n_respondents=n).survey
    source = LoadedSource("survey", survey, "<synthetic survey>", {})
    start = time.perf_counter()
    result = _estimate(task, source)
    elapsed = time.perf_counter() - start
    print(f"fit_seconds={elapsed:.2f} extras={sorted(result.extras)} rows={len(survey)}")


def _run_size(n: int, hypothesis: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    command = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", str(n), hypothesis]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", proc.stderr)
    fit = re.search(r"fit_seconds=(\S+)", proc.stdout)
    if proc.returncode != 0 or not fit:
        return f"n={n:>9,}  FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}"
    peak_gb = int(peak.group(1)) / 1024**2 if peak else float("nan")
    return (f"n={n:>9,}  fit {float(fit.group(1)):7.1f} s  process wall {wall.group(1) if wall else '?'}  "
            f"peak RSS {peak_gb:5.2f} GB  load {os.getloadavg()[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--hypothesis", default="h1_horizontal_trust")
    parser.add_argument("--child", nargs=2, metavar=("N", "HYPOTHESIS"))
    args = parser.parse_args()
    if args.child:
        _child(int(args.child[0]), args.child[1])
        return 0
    print(f"load average before: {os.getloadavg()}")
    for n in args.sizes:
        print(_run_size(n, args.hypothesis), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
