"""Example data for the measurement-invariance reference (tests/reference/invariance/).

Writes ``items.csv``: 4 groups (arm x wave: comparison/treated x baseline/endline), 5-point items of one factor,
complete answers. ``trust`` (4 items, h1..h4): the treated endline group answers item h3 0.45 points higher at the
same latent trust (an intercept shift), so metric holds and scalar is strained. ``unequal`` groups have 180, 240,
260 and 300 respondents. Run: python tests/reference/invariance/make_data.py; then
Rscript tests/reference/invariance/reference.R writes reference.json (lavaan), which the test reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261203
GROUPS = (("comparison", "baseline", 180), ("comparison", "endline", 240), ("treated", "baseline", 260),
          ("treated", "endline", 300))
LOADINGS = np.array([0.8, 0.7, 0.6, 0.75])
INTERCEPTS = np.array([3.1, 2.9, 3.0, 3.2])
FACTOR_MEANS = {("comparison", "baseline"): 0.0, ("comparison", "endline"): 0.05, ("treated", "baseline"): 0.0,
                ("treated", "endline"): 0.3}
SHIFT = {("treated", "endline"): np.array([0.0, 0.0, 0.45, 0.0])}


def make(rng: np.random.Generator) -> pd.DataFrame:
    frames = []
    for arm, wave, n in GROUPS:
        eta = rng.normal(FACTOR_MEANS[(arm, wave)], 1.0, n)
        latent = (INTERCEPTS + SHIFT.get((arm, wave), 0.0) + eta[:, None] * LOADINGS
                  + rng.normal(0.0, 0.7, (n, LOADINGS.size)))
        answers = np.clip(np.rint(latent), 1, 5).astype(int)
        frame = pd.DataFrame(answers, columns=[f"h{j + 1}" for j in range(LOADINGS.size)])
        frame.insert(0, "group", f"{arm} {wave}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    make(np.random.default_rng(SEED)).to_csv(Path(__file__).with_name("items.csv"), index=False)
