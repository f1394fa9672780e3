"""A small synthetic panel survey, independent of the demo generator (tests of a new user's own study)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_survey(*, seed: int = 7, n_clusters: int = 12, per_cluster: int = 15, effect: float = 0.5,
                     attrition: float = 0.05) -> pd.DataFrame:
    """Respondent x wave rows: respondent_id, wave, community_id, cso_id, treated, participant, sex, 4 Likert
    trust items (1-5, a few skipped) and 10 knowledge items (0/1, empty for non-participants)."""
    rng = np.random.default_rng(seed)
    rows = []
    for cluster in range(n_clusters):
        treated = cluster % 2
        cso = f"CSO{cluster // 4 + 1}"
        cluster_shift = rng.normal(0, 0.3)
        for person in range(per_cluster):
            rid = f"P{cluster:02d}{person:03d}"
            participant = int(rng.random() < 0.4)
            sex = "female" if rng.random() < 0.5 else "male"
            latent = rng.normal(0, 1) + cluster_shift
            skill = rng.uniform(0.3, 0.7)
            for wave in ("baseline", "endline"):
                if wave == "endline" and rng.random() < attrition:
                    continue
                lift = effect * treated * (wave == "endline")
                row = {"respondent_id": rid, "wave": wave, "community_id": f"C{cluster:02d}", "cso_id": cso,
                       "treated": treated, "participant": participant, "sex": sex}
                for item in range(1, 5):
                    value = int(np.clip(np.rint(3 + latent + lift + rng.normal(0, 0.8)), 1, 5))
                    row[f"h_trust_{item}"] = value if rng.random() > 0.03 else None
                gain = 0.15 * (wave == "endline")
                for item in range(1, 11):
                    row[f"know_{item:02d}"] = int(rng.random() < skill + gain) if participant else None
                rows.append(row)
    frame = pd.DataFrame(rows)
    for column in [c for c in frame.columns if c.startswith(("h_trust", "know_"))]:
        frame[column] = frame[column].astype("Int64")
    return frame
