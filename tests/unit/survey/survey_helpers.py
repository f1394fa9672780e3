"""Helpers for the survey-effects tests (issue 5): small deterministic frames and spec builders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from oca_experiments.spec import HypothesisSpec

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference" / "survey"
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def make_spec(**overrides) -> HypothesisSpec:
    raw = {
        "id": "h_test", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "s", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "pid", "time": "round", "pre": "pre", "post": "post", "treatment": "arm",
                   "cluster": "village"},
        "estimator": {"name": "survey_did"},
        "inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "bootstrap": {"draws": 999}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return HypothesisSpec.model_validate(raw)


def panel(seed: int = 3, clusters: int = 16, per_cluster: int = 30, attrition: float = 0.1,
          effect: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        arm = g % 2
        shock = rng.normal(0, 0.3)
        size = per_cluster + int(rng.integers(-per_cluster // 2, per_cluster // 2 + 1))
        for i in range(size):
            person = rng.normal()
            sex = "female" if rng.random() < 0.5 else "male"
            age = int(rng.integers(18, 70))
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < attrition * (0.7 if arm else 1.3):
                    continue
                post = wave == "post"
                y = shock + person + 0.1 * post + effect * arm * post + 0.01 * age * post + rng.normal(0, 0.5)
                rows.append({"pid": f"p{g:02d}_{i:03d}", "village": f"v{g:02d}", "block": f"b{g // 4}",
                             "round": wave, "arm": arm, "y": y, "sex": sex, "age": age})
    return pd.DataFrame(rows)


def r_reference() -> dict:
    return json.loads((REFERENCE_DIR / "reference.json").read_text(encoding="utf-8"))


def read_reference_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / name)
