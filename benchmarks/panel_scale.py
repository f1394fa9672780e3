"""Staggered DiD with its registered extras (the demo's h4: Callaway-Sant'Anna on weeks plus the per-campaign
counterfactual ITS on the daily series, each with its placebo-in-time) at portfolio size.

Issue 21 target: 5,000 pages x 365 days in <= 60 s. Each size runs in its own child process under
``/usr/bin/time -v`` so the peak RSS is that of one fit; the load average is printed with every line because the
machine is shared (absolute times are a guide only). Data: the demo's engagement schema, two thirds of the pages
are campaign pages with staggered starts, one third comparison pages, a weekly cycle, a campaign lift and days
without posts (missing engagement per post). First, at ``--ratio-pages`` pages, the batched ITS against the
per-campaign statsmodels fits it replaced, interleaved in one process (ratio of medians).

    python benchmarks/panel_scale.py [--sizes 1000 5000] [--days 365] [--ratio-pages 100] [--repeats 2]
    python benchmarks/panel_scale.py --child 200 365        # one fit, used by the parent
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
HYPOTHESIS = "h4_engagement_per_post"


def make_engagement(pages: int, days: int, seed: int = 7) -> pd.DataFrame:
    """``pages`` x ``days`` rows in the demo's engagement schema (the columns h4 reads)."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2026-01-01") + np.arange(days).astype("timedelta64[D]")
    weekday = (dates.astype(np.int64) + 3) % 7
    campaign = rng.random(pages) < 2 / 3
    start_day = np.where(campaign, rng.integers(days // 3, days - days // 6, pages), days + 1)
    active = np.arange(days)[None, :] >= start_day[:, None]
    posts = rng.poisson(2.0 * np.where(active, 1.2, 1.0) * np.exp(rng.normal(0, 0.25, pages))[:, None],
                        (pages, days))
    rate = (np.exp(rng.normal(np.log(18.0), 0.4, pages))[:, None] * (1 + 0.2 * (weekday >= 5))[None, :]
            * np.where(active, 1.15, 1.0))
    reactions = rng.poisson(posts * rate)
    comments = rng.poisson(posts * rate * 0.12)
    shares = rng.poisson(posts * rate * 0.07)
    labels = np.array([f"P{k:05d}" for k in range(pages)])
    start_text = np.array([str(dates[0] + np.timedelta64(int(s), "D")) if c else None
                           for s, c in zip(start_day, campaign, strict=True)], dtype=object)
    page = np.repeat(np.arange(pages), days)
    return pd.DataFrame({
        "page_id": labels[page], "cso_id": np.array([f"C{k % 50:02d}" for k in range(pages)])[page],
        "page_type": np.where(campaign[page], "cso", "comparison"), "treated": campaign[page].astype(np.int64),
        "campaign_start": pd.array(start_text[page], dtype="str"),
        "date": np.tile(np.datetime_as_string(dates, unit="D"), pages),
        "posts": posts.reshape(-1), "reactions": reactions.reshape(-1), "comments": comments.reshape(-1),
        "shares": shares.reshape(-1), "followers": np.full(pages * days, 1000), "hostile_comments": np.zeros(
            pages * days, dtype=np.int64)})


def _child(pages: int, days: int) -> None:
    from oca_experiments.api import demo_study_dir, load_study
    from oca_experiments.runner import LoadedSource, _estimate

    study = load_study(demo_study_dir())
    task = next(t for t in study.plan.tasks if t.id == HYPOTHESIS)
    frame = make_engagement(pages, days)
    source = LoadedSource("engagement", frame, "<synthetic engagement>", {})
    start = time.perf_counter()
    result = _estimate(task, source)
    elapsed = time.perf_counter() - start
    its = result.extras["its_by_campaign"]
    print(f"fit_seconds={elapsed:.2f} campaigns={len(its['campaigns'])} skipped={len(its['skipped'])} "
          f"estimate={result.estimate:.6g} rows={len(frame)}")


def _ratio(pages: int, days: int, repeats: int) -> dict[str, float]:
    """The batched ITS against the per-campaign statsmodels path (the code before issue 21), interleaved in this
    process on the same data; whole h4 calls, medians. The two give the same numbers (tests/unit/engagement/
    test_its_batch.py); here only the time."""
    import statistics

    from oca_experiments.api import demo_study_dir, load_study
    from oca_experiments.estimators import _engagement
    from oca_experiments.runner import LoadedSource, _estimate

    study = load_study(demo_study_dir())
    task = next(t for t in study.plan.tasks if t.id == HYPOTHESIS)
    source = LoadedSource("engagement", make_engagement(pages, days), "<synthetic engagement>", {})
    supported = _engagement.batch_supported
    times: dict[str, list[float]] = {"batched": [], "per campaign": []}
    for _ in range(repeats):
        for name in times:
            _engagement.batch_supported = supported if name == "batched" else (lambda *args: False)
            start = time.perf_counter()
            _estimate(task, source)
            times[name].append(time.perf_counter() - start)
    _engagement.batch_supported = supported
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"pages={pages:>6,} x {days} days, whole h4 call (medians of {repeats}, interleaved): batched ITS "
          f"{med['batched']:.1f} s, per-campaign statsmodels {med['per campaign']:.1f} s, ratio "
          f"{med['per campaign'] / med['batched']:.1f}x  load {os.getloadavg()[0]:.2f}", flush=True)
    return {"pages": pages, **med, "load": os.getloadavg()[0]}


def _run_size(pages: int, days: int) -> tuple[str, dict[str, float] | None]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    command = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", str(pages), str(days)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", proc.stderr)
    fit = re.search(r"fit_seconds=(\S+) campaigns=(\d+)", proc.stdout)
    if proc.returncode != 0 or not fit:
        return f"pages={pages:>6,}  FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-3:]}", None
    peak_gb = int(peak.group(1)) / 1024**2 if peak else float("nan")
    load = os.getloadavg()[0]
    return (f"pages={pages:>6,} x {days} days  fit {float(fit.group(1)):7.1f} s  ({fit.group(2)} campaigns)  "
            f"process wall {wall.group(1) if wall else '?'}  peak RSS {peak_gb:5.2f} GB  "
            f"load {load:.2f}"), {"pages": pages, "fit_s": float(fit.group(1)), "campaigns": int(fit.group(2)),
                                 "peak_rss_gb": peak_gb, "load": load}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 5_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ratio-pages", type=int, default=100,
                        help="pages for the batched vs per-campaign ratio (0: skip)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, type=int, metavar=("PAGES", "DAYS"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    print(f"load average before: {os.getloadavg()}")
    loads = [os.getloadavg()[0]]
    ratio = _ratio(args.ratio_pages, args.days, args.repeats) if args.ratio_pages else None
    sizes = []
    for pages in args.sizes:
        line, measured = _run_size(pages, args.days)
        print(line, flush=True)
        if measured is None:
            return 1
        sizes.append(measured)
    print(f"goal (issue 21): {GOAL_PAGES:,} pages x 365 days <= {GOAL_S:.0f} s", flush=True)
    if sizes:
        _emit_summary(sizes, ratio, args.days, loads)
    return 0


GOAL_PAGES, GOAL_S = 5_000, 60.0


def _emit_summary(sizes: list[dict], ratio: dict | None, days: int, loads: list[float]) -> None:
    from _summary import emit  # benchmarks/ is on sys.path when this runs as a script

    def joined(key: str, fmt: str) -> str:
        return " / ".join(format(s[key], fmt) for s in sizes)

    at_goal = next((s for s in sizes if s["pages"] == GOAL_PAGES and days == 365), None)
    batched = (f" The batched ITS against the per-campaign statsmodels fits at {ratio['pages']:,} pages: "
               f"{ratio['batched']:.1f} s vs {ratio['per campaign']:.1f} s per h4 call "
               f"({ratio['per campaign'] / ratio['batched']:.1f}x)" if ratio else "")
    emit(what=(f"staggered DiD with its extras (h4: Callaway-Sant'Anna + per-campaign ITS with placebos), "
               f"{joined('pages', ',')} pages x {days} days"),
         command=" ".join(["benchmarks/panel_scale.py", *sys.argv[1:]]),
         result=(f"whole h4 fit {joined('fit_s', '.1f')} s, peak RSS {joined('peak_rss_gb', '.2f')} GB "
                 f"(`/usr/bin/time -v`); {joined('campaigns', ',')} campaigns, each with its placebo.{batched}"),
         ratios={"per_campaign_over_batched": ratio["per campaign"] / ratio["batched"]} if ratio else {},
         target=f"{GOAL_PAGES:,} pages x 365 days <= {GOAL_S:.0f} s" if at_goal else None,
         met=(at_goal["fit_s"] <= GOAL_S) if at_goal else None,
         load=loads + [s["load"] for s in sizes] + ([ratio["load"]] if ratio else []))


if __name__ == "__main__":
    sys.exit(main())
