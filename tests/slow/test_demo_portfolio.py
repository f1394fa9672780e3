"""The demo's portfolio page: per-CSO estimates of h1, h2, h3 (extras.by_group, re-run per CSO in the pipeline), h4
and h5 (per-campaign results) pooled across the six CSOs; the frequentist (floored HKSJ) and the Bayesian pooled
95% intervals cover the true pooled values of truth.json (extras.portfolio_pooled_by_cso: the mean of the six
CSOs' true effects), and the page says what the next round should test. The Makefile's `demo` target builds the
same page into build/demo/portfolio."""

from __future__ import annotations

import shutil

import pytest

import oca_experiments as oca
from oca_experiments.report import build_portfolio

pytestmark = [pytest.mark.slow, pytest.mark.bayes]
POOLED = ("h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h4_engagement_per_post",
          "h5_hostile_share")


def test_demo_portfolio_covers_the_pooled_truths(study_copy, demo_data, repo_root, tmp_path) -> None:
    for spec in study_copy.glob("hypotheses/h7*.yaml"):  # Bayesian specs are not pooled per CSO: keep it fast
        spec.unlink()
    shutil.copy(repo_root / "hypotheses" / "registry.lock.json", study_copy / "hypotheses" / "registry.lock.json")
    run_dir = tmp_path / "run"
    oca.run_to_directory(oca.load_study(study_copy), {"survey": demo_data.survey,
                                                      "engagement": demo_data.engagement,
                                                      "community": demo_data.community}, run_dir,
                         build_html=False, reuse=False)
    payload = build_portfolio([run_dir], tmp_path / "portfolio", truth=demo_data.truth,
                              design_dirs=[repo_root / "design"])
    pooled = {p["hypothesis_id"]: p for p in payload["pooled"]}
    assert set(POOLED) <= set(pooled)
    for hid in POOLED:
        block = pooled[hid]
        assert block["labels"] and sorted(block["labels"]) == [f"CSO{i}" for i in range(1, 7)], hid
        assert block["truth_covered"], (hid, block["meta"]["ci_low"], block["truth"], block["meta"]["ci_high"])
        assert block["bayes"]["diagnostics_passed"], (hid, block["bayes"]["diagnostics_failures"])
        assert block["truth_covered_bayes"], (hid, block["bayes"]["mu_ci_low"], block["truth"])
    assert (tmp_path / "portfolio" / "index.html").is_file()
    nxt = {t["id"]: t for t in payload["what_to_test_next"]}
    # h6 is promising but underpowered; its power comes from the committed design diagnosis (design/h6_...)
    assert nxt["h6_horizontal_trust_by_sex"]["power_source"].startswith("design diagnosis")
    assert nxt["h6_horizontal_trust_by_sex"]["power_at_estimate"] < 0.5
