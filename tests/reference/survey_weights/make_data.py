"""Write the example that tests/reference/survey_weights/survey_weights.R weighs (run once; the CSV is committed).

    .venv/bin/python tests/reference/survey_weights/make_data.py
    Rscript tests/reference/survey_weights/survey_weights.R

A 2-wave panel survey of 16 communities (clusters) of unequal size (9 to 48 interviews) in 4 districts, community-
level treatment, 10% attrition and 4% item nonresponse, stratified sampling with unequal design weights (women and
the youngest band oversampled, one district undersampled: weights from about 0.4 to 4.9), an effect that differs by
sex and age band (so the weighted and unweighted estimates differ), a 0/1 outcome and a positive knowledge score.
Population margins (sex, age_band, district) go to margins.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20261203

MARGINS = {
    "sex": {"female": 0.52, "male": 0.48},
    "age_band": {"18-29": 0.27, "30-44": 0.31, "45-59": 0.24, "60+": 0.18},
    "district": {"Chui": 0.35, "Osh": 0.30, "Jalal-Abad": 0.25, "Batken": 0.10},
}


def example(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = [9, 14, 22, 30, 48, 12, 18, 26, 35, 40, 11, 16, 24, 33, 20, 28]
    districts = ["Chui", "Osh", "Jalal-Abad", "Batken"]
    rows = []
    for g, size in enumerate(sizes):
        district = districts[g % 4]
        treated = int(g % 2 == 0) if g < 8 else int(g % 2 == 1)
        shock = rng.normal(0, 0.35)
        for i in range(size):
            sex = "female" if rng.random() < 0.62 else "male"  # women oversampled (population 52%)
            age = rng.choice(["18-29", "30-44", "45-59", "60+"], p=[0.40, 0.30, 0.20, 0.10])
            # inverse inclusion probability: unequal by sex, age band and district, with a lognormal nuisance
            base = (0.75 if sex == "female" else 1.3) * {"18-29": 0.6, "30-44": 1.0, "45-59": 1.2, "60+": 1.8}[age]
            base *= 1.6 if district == "Batken" else 1.0
            base *= float(np.exp(rng.normal(0, 0.25)))
            person = rng.normal()
            effect = 0.15 + 0.35 * (sex == "male") + 0.25 * (age in ("45-59", "60+"))
            knowledge = 4 + person * 0.8
            for wave in ("baseline", "endline"):
                post = wave == "endline"
                if post and rng.random() < 0.10:
                    continue
                y = shock + person + 0.2 * post + effect * treated * post + rng.normal(0, 0.6)
                y01 = int(rng.random() < 1 / (1 + np.exp(-(-0.4 + 0.5 * (sex == "male") + 0.6 * treated * post))))
                score = max(0.5, knowledge + (0.9 + 0.5 * (age == "18-29")) * post + rng.normal(0, 0.7))
                rows.append({"respondent_id": f"r{g:02d}{i:03d}", "community_id": f"c{g:02d}", "district": district,
                             "sex": sex, "age_band": age, "wave": wave, "treated": treated,
                             "base_weight": round(base, 6),
                             "y": round(float(y), 6) if rng.random() > 0.04 else np.nan, "y01": y01,
                             "score": round(float(score), 6)})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    example().to_csv(HERE / "example.csv", index=False)
    (HERE / "margins.json").write_text(json.dumps(MARGINS, indent=2) + "\n", encoding="utf-8")
