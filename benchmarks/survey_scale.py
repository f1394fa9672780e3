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

# Stages timed in the child: (module, attribute, label). Times are inclusive and summed over calls; nested stages
# (reliability inside outcome construction, Lee bounds inside attrition, wild bootstrap inside the primary fit and
# every subgroup cell) are shown indented under their parent. The primary fit is what the others leave.
STAGES = (
    ("oca_experiments.runner", "build_outcome", "outcome construction (index, reliability, invariance)"),
    ("oca_experiments.outcomes", "reliability", "  reliability (alpha, omega bootstrap)"),
    ("oca_experiments.outcomes", "_invariance_by_arm_and_wave", "  measurement invariance"),
    ("oca_experiments.estimators._inference", "wild_cluster_bootstrap", "wild cluster bootstrap (all fits)"),
    ("oca_experiments.estimators._survey_frame", "randomization_test", "randomization test"),
    ("oca_experiments.runner", "secondary_estimates", "secondary estimates"),
    ("oca_experiments._secondary_estimates", "attrition_analysis", "  attrition"),
    ("oca_experiments.estimators._attrition", "lee_bounds", "    Lee bounds (bootstrap)"),
    ("oca_experiments._secondary_estimates", "subgroup_tables", "  subgroup tables (disaggregate, by CSO)"),
    ("oca_experiments.runner", "hypothesis_extras", "extras summary (suppression)"),
)


def _timed_stages() -> dict[str, list[float]]:
    """Wrap each stage's function where its caller looks it up; returns label -> [seconds, calls]."""
    import functools
    import importlib

    totals: dict[str, list[float]] = {}
    for module_name, attribute, label in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        totals[label] = [0.0, 0]

        def timed(*args, _original=original, _label=label, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                totals[_label][0] += time.perf_counter() - start
                totals[_label][1] += 1

        setattr(module, attribute, functools.wraps(original)(timed))
    return totals


def _child(n: int, hypothesis: str) -> None:
    from oca_experiments.api import demo_study_dir, load_study
    from oca_experiments.demo._generator import simulate_demo
    from oca_experiments.runner import LoadedSource, _estimate

    study = load_study(demo_study_dir())
    task = next(t for t in study.plan.tasks if t.id == hypothesis)
    survey = simulate_demo(n_respondents=n).survey
    source = LoadedSource("survey", survey, "<synthetic survey>", {})
    stages = _timed_stages()
    start = time.perf_counter()
    result = _estimate(task, source)
    elapsed = time.perf_counter() - start
    print(f"fit_seconds={elapsed:.2f} extras={sorted(result.extras)} rows={len(survey)}")
    top_level = sum(seconds for label, (seconds, _) in stages.items() if not label.startswith(" ")
                    and not label.startswith("wild") and not label.startswith("randomization"))
    print(f"stage {'primary fit (the rest; incl. its wild bootstrap)':<60} {elapsed - top_level:8.2f} s")
    for label, (seconds, calls) in stages.items():
        print(f"stage {label:<60} {seconds:8.2f} s  ({calls} calls)")


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
    stages = "".join(f"\n    {line[len('stage '):]}" for line in proc.stdout.splitlines() if line.startswith("stage "))
    return (f"n={n:>9,}  fit {float(fit.group(1)):7.1f} s  process wall {wall.group(1) if wall else '?'}  "
            f"peak RSS {peak_gb:5.2f} GB  load {os.getloadavg()[0]:.2f}{stages}")


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
    lines = []
    for n in args.sizes:
        lines.append(_run_size(n, args.hypothesis))
        print(lines[-1], flush=True)
    from _summary import emit  # summary line for run_all.py (benchmarks/ is on sys.path when run as a script)

    heads = [line.splitlines()[0] for line in lines]
    fits = [re.search(r"fit +(\S+) s.*peak RSS +(\S+) GB", head) for head in heads]
    largest = fits[-1] if fits and fits[-1] and args.sizes[-1] >= 1_000_000 else None
    emit(what=f"survey DiD with all extras ({args.hypothesis}), {' / '.join(f'{n:,}' for n in args.sizes)} respondents",
         command=" ".join(["benchmarks/survey_scale.py", *sys.argv[1:]]),
         result="; ".join(" ".join(head.split()) for head in heads) + " (`/usr/bin/time -v` per size)",
         target="1M respondents <= 60 s and <= 4 GB" if largest else None,
         met=(float(largest.group(1)) <= 60 and float(largest.group(2)) <= 4) if largest else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
