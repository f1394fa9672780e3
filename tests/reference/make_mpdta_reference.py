"""Regenerate the committed Callaway-Sant'Anna reference numbers on the minimum-wage county panel (mpdta).

Not run by the test suite. It needs two independent implementations that the project does not depend on, so run
it in a throwaway environment::

    python3.12 -m venv /tmp/refenv && /tmp/refenv/bin/pip install moderndid==0.4.1 csdid==0.4.3
    /tmp/refenv/bin/python tests/reference/make_mpdta_reference.py

It writes ``mpdta.csv`` (the panel as shipped by moderndid, itself R did's ``mpdta``) and ``mpdta_reference.json``:
ATT(g,t) estimates and analytic standard errors from moderndid (a port of R's did) for several specifications,
aggregations, and csdid's ATT(g,t) point estimates as a second, separately written implementation.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import moderndid as md

    data = md.load_mpdta().to_pandas()
    data = data[["year", "countyreal", "lpop", "lemp", "first.treat", "treat"]].sort_values(["countyreal", "year"])
    data.to_csv(HERE / "mpdta.csv", index=False, float_format="%.17g", lineterminator="\n")
    import polars as pl

    frame = pl.from_pandas(data)
    specs = {
        "never_unconditional": dict(xformla=None, control_group="nevertreated", est_method="dr"),
        "never_dr_lpop": dict(xformla="~lpop", control_group="nevertreated", est_method="dr"),
        "never_or_lpop": dict(xformla="~lpop", control_group="nevertreated", est_method="reg"),
        "notyet_unconditional": dict(xformla=None, control_group="notyettreated", est_method="dr"),
        "notyet_dr_lpop": dict(xformla="~lpop", control_group="notyettreated", est_method="dr"),
        "never_unconditional_universal": dict(xformla=None, control_group="nevertreated", est_method="dr",
                                              base_period="universal"),
    }
    out: dict[str, object] = {"source": "moderndid 0.4.1 (port of R did) and csdid 0.4.3", "specs": {}}
    for name, kwargs in specs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = md.att_gt(data=frame, yname="lemp", tname="year", idname="countyreal", gname="first.treat",
                            boot=False, cband=False, **kwargs)
        record = {"kwargs": kwargs, "group": [int(g) for g in res.groups], "time": [int(t) for t in res.times],
                  "att": [float(a) for a in res.att_gt], "se": [float(s) for s in res.se_gt]}
        aggs = {}
        for kind in ("simple", "dynamic", "group"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                agg = md.aggte(res, type=kind, boot=False, cband=False)
            entry = {"overall_att": float(agg.overall_att), "overall_se": float(agg.overall_se)}
            if getattr(agg, "att_by_event", None) is not None:
                entry["labels"] = [float(v) for v in np.asarray(agg.event_times)]
                entry["att"] = [float(v) for v in np.asarray(agg.att_by_event)]
                entry["se"] = [float(v) for v in np.asarray(agg.se_by_event)]
            aggs[kind] = entry
        record["aggte"] = aggs
        out["specs"][name] = record  # type: ignore[index]

    # csdid: point estimates of the same cells, a second independent implementation.
    try:
        from csdid.att_gt import ATTgt

        csd = {}
        for name, xformla, control in (("never_unconditional", None, "nevertreated"),
                                       ("never_dr_lpop", "lemp ~ lpop", "nevertreated"),
                                       ("notyet_unconditional", None, "notyettreated")):
            model = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", data=data.copy(),
                          xformla=xformla, control_group=control)
            fitted = model.fit(est_method="dr", bstrap=False)
            results = fitted.results
            csd[name] = {"group": [int(v) for v in results["group"]], "time": [int(v) for v in results["year"]],
                         "att": [float(v) for v in results["att"]], "se": [float(v) for v in results["se"]]}
        out["csdid"] = csd
    except Exception as exc:  # csdid's API moves between releases; moderndid is the primary reference
        out["csdid_error"] = repr(exc)
    (HERE / "mpdta_reference.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
