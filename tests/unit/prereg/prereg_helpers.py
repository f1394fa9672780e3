"""Helpers for the preregistration tests: small copies of the demo study (tests lock copies, never the repo's files)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
#: Frequentist survey specs only: quick to run, and independent of the engagement and Bayesian estimators.
SMALL_SPECS = ("h1_horizontal_trust.yaml", "h2_vertical_trust.yaml", "h6_horizontal_trust_by_sex.yaml")
LOCKED_AT = "2026-01-20T09:00:00Z"


def copy_study(target: Path, specs: tuple[str, ...] = SMALL_SPECS) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "study.yaml", target / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "hypotheses").mkdir()
    for name in specs:
        shutil.copy(REPO / "hypotheses" / name, target / "hypotheses" / name)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


DEVIATION_SESOI = """deviations:
  - spec: h2_vertical_trust
    date: 2026-03-01
    changes:
      - field: inference.sesoi
        before: 0.1
        after: 0.15
    reason: The partner considers changes below 0.15 points irrelevant for policy.
    outcome_data_seen: false
    expected_impact: Verdicts may move from inconclusive to not supported; the estimate is unchanged.
"""

NEW_CONFIRMATORY_SPEC = """id: h8_added_after_lock
title: Vertical trust in local self-government rises
hypothesis: Trust in local self-government rises more in treated than in comparison communities.
type: confirmatory          # the YAML claims it; the lock decides
direction: increase
outcome:
  source: survey
  name: lsg_trust
  construction: {method: mean, items: [v_trust_lsg], scale: [1, 5]}
design: {unit: respondent_id, time: wave, pre: baseline, post: endline, treatment: treated, cluster: community_id}
estimator: {name: survey_did}
inference: {sesoi: 0.1, family: trust}
"""
