"""Plain helpers for the Bayesian unit tests: a small synthetic panel and its spec (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def panel_frame(*, n_per_cluster: int = 20, groups: int = 3, effect: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """A balanced 2-wave panel: `groups` groups x 4 clusters (2 treated), answers on a 1-5 index."""
    rng = np.random.default_rng(seed)
    rows = []
    unit = 0
    for g in range(groups):
        for c in range(4):
            cluster = f"C{g}{c}"
            treated = int(c < 2)
            shock = rng.normal(0, 0.1)
            for _ in range(n_per_cluster):
                unit += 1
                base = rng.normal(3.0, 0.6)
                end = base + 0.05 + effect * treated + shock + rng.normal(0, 0.4)
                for wave, value in (("baseline", base), ("endline", end)):
                    rows.append({"rid": f"R{unit:04d}", "wave": wave, "treated": treated, "community": cluster,
                                 "cso": f"G{g}", "y": float(np.clip(value, 1, 5))})
    return pd.DataFrame(rows)


#: A bayes_did spec that reads ``panel_frame``'s columns (1-5 index ``y``, SESOI 0.1, two prior-sensitivity reruns).
PANEL_DID_SPEC = {
    "id": "hb", "title": "t", "hypothesis": "h", "type": "confirmatory", "direction": "increase",
    "outcome": {"source": "survey", "name": "y", "construction": {"method": "column", "column": "y",
                                                                  "scale": [1, 5]}},
    "design": {"unit": "rid", "time": "wave", "pre": "baseline", "post": "endline", "treatment": "treated",
               "cluster": "community", "group": "cso"},
    "estimator": {"name": "bayes_did"}, "inference": {"se": "posterior", "sesoi": 0.1},
    "bayes": {"prior_sensitivity": [0.5, 2.0]},
}
