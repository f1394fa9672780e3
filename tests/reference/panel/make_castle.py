"""Castle-doctrine state panel (Cheng and Hoekstra 2013, as used in Cunningham, *Causal Inference: The Mixtape*,
ch. 9), from the MIT-licensed ``causaldata`` package (version 0.1.5, ``causaldata/castle/castle.dta``):

    pip download causaldata==0.1.5 --no-deps && tar xzf causaldata-0.1.5.tar.gz
    python tests/reference/panel/make_castle.py causaldata-0.1.5/causaldata/castle/castle.dta

Writes ``castle.csv`` with the columns the tests use (state id, year, log homicide rate, the 0/1 treated-and-post
indicator, population weight) and ``castle_pyfixest.json``: pyfixest's TWFE and event-study coefficients and CR1
standard errors on it, computed here so that the suite needs neither causaldata nor a refit in pyfixest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main(dta: str) -> None:
    import pyfixest as pf

    data = pd.read_stata(dta)[["sid", "year", "l_homicide", "post", "popwt"]]
    data = data.astype({"sid": int, "year": int, "post": int})
    assert set(data["post"].unique()) <= {0, 1}
    data.to_csv(HERE / "castle.csv", index=False, float_format="%.12g")
    data = pd.read_csv(HERE / "castle.csv")
    static = pf.feols("l_homicide ~ post | sid + year", data=data, vcov={"CRV1": "sid"}, fixef_tol=1e-12)
    adoption = data.loc[data["post"] == 1].groupby("sid")["year"].min()
    rel = (data["year"] - data["sid"].map(adoption)).clip(-5, 4)
    data["rel"] = rel.fillna(-1).astype(int)  # never-treated states: the reference category
    event = pf.feols("l_homicide ~ i(rel, ref=-1) | sid + year", data=data, vcov={"CRV1": "sid"}, fixef_tol=1e-12)
    out = {
        "source": "causaldata 0.1.5 castle.dta (Cheng and Hoekstra 2013); pyfixest " + pf.__version__,
        "static": {"estimate": float(static.coef()["post"]), "std_error": float(static.se()["post"])},
        "event_study": {str(int(name.split("::")[-1].rstrip("]"))): [float(b), float(s)]
                        for name, b, s in zip(event.coef().index, event.coef(), event.se(), strict=True)},
    }
    (HERE / "castle_pyfixest.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))  # noqa: T201 - a script


if __name__ == "__main__":
    main(sys.argv[1])
