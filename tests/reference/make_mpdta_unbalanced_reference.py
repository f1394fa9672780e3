"""Regenerate the committed reference numbers for unbalanced panels: R did's two conventions on an unbalanced
version of the minimum-wage county panel (mpdta).

Not run by the test suite. Run it in a throwaway environment::

    python3.12 -m venv /tmp/refenv && /tmp/refenv/bin/pip install moderndid==0.4.1
    /tmp/refenv/bin/python tests/reference/make_mpdta_unbalanced_reference.py

The unbalanced panel is ``mpdta.csv`` with a seeded 12% of its county-years removed (rows chosen by
``numpy.random.default_rng(20260315)``; the removed rows are listed in the output so the test rebuilds the same
panel). moderndid 0.4.1 (a port of R's did) is run with ``allow_unbalanced_panel=False`` (did's default: balance the
panel, dropping every county not observed in all years) and ``True`` (keep every row; repeated-cross-section
estimators on each cell's rows with the influence function summed by county), unconditional, never-treated and
not-yet-treated comparison units. Writes ``mpdta_unbalanced_reference.json``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20260315
SHARE_REMOVED = 0.12


def unbalanced_mpdta() -> tuple[pd.DataFrame, list[int]]:
    data = pd.read_csv(HERE / "mpdta.csv")
    rng = np.random.default_rng(SEED)
    removed = sorted(int(i) for i in rng.choice(len(data), size=int(SHARE_REMOVED * len(data)), replace=False))
    return data.drop(index=removed).reset_index(drop=True), removed


def main() -> None:
    import moderndid as md
    import polars as pl

    data, removed = unbalanced_mpdta()
    frame = pl.from_pandas(data)
    out: dict[str, object] = {"source": "moderndid 0.4.1 (port of R did)", "seed": SEED, "removed_rows": removed,
                              "specs": {}}
    for name, kwargs in {
        "balance_never": dict(allow_unbalanced_panel=False, control_group="nevertreated"),
        "balance_notyet": dict(allow_unbalanced_panel=False, control_group="notyettreated"),
        "unbalanced_never": dict(allow_unbalanced_panel=True, control_group="nevertreated"),
        "unbalanced_notyet": dict(allow_unbalanced_panel=True, control_group="notyettreated"),
        "unbalanced_never_universal": dict(allow_unbalanced_panel=True, control_group="nevertreated",
                                           base_period="universal"),
    }.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = md.att_gt(data=frame, yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                            xformla=None, est_method="dr", boot=False, cband=False, **kwargs)
        record: dict[str, object] = {"kwargs": kwargs, "group": [int(g) for g in res.groups],
                                     "time": [int(t) for t in res.times], "att": [float(a) for a in res.att_gt],
                                     "se": [float(s) for s in res.se_gt]}
        aggs = {}
        for kind in ("simple", "dynamic", "group"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                agg = md.aggte(res, type=kind, boot=False, cband=False)
            aggs[kind] = {"overall_att": float(agg.overall_att), "overall_se": float(agg.overall_se)}
        record["aggte"] = aggs
        out["specs"][name] = record  # type: ignore[index]
    (HERE / "mpdta_unbalanced_reference.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
