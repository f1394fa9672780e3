"""Write the data sets that tests/reference/survey/reference.R reads (run once; the CSVs are committed).

    .venv/bin/python tests/reference/survey/make_data.py && Rscript tests/reference/survey/reference.R

Small, deterministic data sets that stress what the references check: unequal cluster sizes, few clusters,
attrition in a panel, missing items in an index, and a fixed matrix of bootstrap weights so that R can run the
wild cluster bootstrap by brute force with exactly the same draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def panel(seed: int = 11) -> pd.DataFrame:
    """A 2-wave panel: 14 villages of unequal size, village-level treatment, 12% attrition."""
    rng = np.random.default_rng(seed)
    sizes = [6, 9, 12, 15, 20, 25, 30, 8, 10, 14, 18, 22, 28, 35]
    rows = []
    for g, size in enumerate(sizes):
        arm = g % 2
        shock = rng.normal(0, 0.4)
        for i in range(size):
            person = rng.normal()
            age = int(rng.integers(18, 70))
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < 0.12:
                    continue
                post = wave == "post"
                y = shock + person + 0.2 * post + 0.35 * arm * post + 0.01 * age * post + rng.normal(0, 0.6 + 0.3 * arm)
                rows.append({"pid": f"p{g:02d}_{i:03d}", "village": f"v{g:02d}", "round": wave, "arm": arm,
                             "age": age, "y": y})
    return pd.DataFrame(rows)


def cross_section(seed: int = 12, clusters: int = 8) -> pd.DataFrame:
    """Endline on baseline plus treatment (ANCOVA shape) with heteroskedastic errors and unequal clusters."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        size = int(rng.integers(5, 60))
        arm = int(g < clusters // 2)
        shock = rng.normal(0, 0.5)
        for _ in range(size):
            y0 = rng.normal()
            x = rng.normal()
            y1 = 0.5 * y0 + 0.3 * arm + 0.2 * x + shock + rng.normal(0, 0.5 + abs(x))
            rows.append({"g": f"g{g}", "treat": arm, "y0": y0, "x": x, "y1": y1})
    return pd.DataFrame(rows)


def index_items(seed: int = 13) -> pd.DataFrame:
    """Four correlated Likert items with missing answers, two arms, two waves (for the ICW and KLK indices)."""
    rng = np.random.default_rng(seed)
    n = 400
    arm = rng.integers(0, 2, n)
    wave = np.where(rng.random(n) < 0.5, "baseline", "endline")
    latent = rng.normal(size=n) + 0.4 * arm * (wave == "endline")
    loadings = np.array([1.0, 0.8, 0.5, 1.2])
    raw = latent[:, None] * loadings + rng.normal(size=(n, 4)) * np.array([0.8, 1.0, 1.2, 0.6])
    items = np.clip(np.round(raw + 3), 1, 5)
    items[:, 2] = 6 - items[:, 2]  # a negatively worded item
    items[rng.random((n, 4)) < 0.06] = np.nan
    frame = pd.DataFrame(items, columns=["q1", "q2", "q3", "q4"])
    frame.insert(0, "arm", arm)
    frame.insert(1, "wave", wave)
    return frame


#: Webb's six weights; the weight files hold codes 0-5 into this list.
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def weight_codes(clusters: int, draws: int = 999, seed: int = 14) -> pd.DataFrame:
    """Codes of Webb weights (draws x clusters, clusters in sorted label order)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.integers(0, 6, (draws, clusters)), columns=[f"w{c}" for c in range(clusters)])


def main() -> None:
    panel().to_csv(HERE / "panel.csv", index=False, float_format="%.17g")
    cross_section().to_csv(HERE / "cross_section.csv", index=False, float_format="%.17g")
    cross_section(seed=21, clusters=6).to_csv(HERE / "few_clusters.csv", index=False, float_format="%.17g")
    index_items().to_csv(HERE / "index_items.csv", index=False, float_format="%.17g")
    weight_codes(14).to_csv(HERE / "weights_panel.csv", index=False)
    weight_codes(6, seed=15).to_csv(HERE / "weights_few.csv", index=False)


if __name__ == "__main__":
    main()
