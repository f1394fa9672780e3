"""Fixtures for the Bayesian unit tests: small synthetic data and fake posteriors (no sampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own draws cache, so that no test reads draws another test wrote."""
    monkeypatch.setenv("OCA_CACHE_DIR", str(tmp_path / "oca-cache"))


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
