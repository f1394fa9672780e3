"""The per-CSO table (``by_group``) asks the survey DiD for the primary inference only: its cells skip the 9,999-draw
wild-bootstrap alternative and the raw means they never show, and every number in the table stays the same."""

from __future__ import annotations

import math
from typing import Any

import pytest

import oca_experiments as oca
from oca_experiments._secondary_estimates import group_table
from oca_experiments.demo import simulate_demo
from oca_experiments.estimators import _inference
from oca_experiments.estimators._survey_did import fit_survey_did
from oca_experiments.outcomes import build_outcome
from oca_experiments.runner import subset_rows

HYPOTHESES = ("h1_horizontal_trust", "h2_vertical_trust")


def _full_fit(*args: Any, **kwargs: Any) -> Any:
    """The fitter as the cells called it before: every alternative computed (no ``takes_alternatives``)."""
    return fit_survey_did(*args, **kwargs)


_full_fit.subgroup_frame = fit_survey_did.subgroup_frame  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def inputs(repo_root) -> dict[str, tuple[Any, ...]]:
    demo = simulate_demo()
    study = oca.load_study(repo_root)
    found = {}
    for hid in HYPOTHESES:
        task = study.plan.task(hid)
        frame = subset_rows(demo.survey, task)
        built = build_outcome(frame, task.spec.outcome.construction, file="survey.csv", design=task.spec.design,
                              reliability_seed=task.spec.inference.bootstrap.seed)
        result = fit_survey_did(frame, built.values, task.spec, task.options, file="survey.csv")
        found[hid] = (frame, built.values, task.spec, task.options, result)
    return found


def _tables(inputs: dict[str, tuple[Any, ...]], fitter: Any, monkeypatch: pytest.MonkeyPatch
            ) -> tuple[dict[str, Any], int]:
    calls = []
    real = _inference.wild_cluster_bootstrap

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(_inference, "wild_cluster_bootstrap", counted)
        tables = {hid: group_table(frame, outcome, spec, options, fitter, result, file="survey.csv")
                  for hid, (frame, outcome, spec, options, result) in inputs.items()}
    return tables, len(calls)


def _same(new: Any, old: Any, where: str) -> None:
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), where
        for key in old:
            _same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, (list, tuple)):
        assert len(new) == len(old), where
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(old, float) and not isinstance(new, str):
        assert new is not None and (math.isnan(old) and math.isnan(new) or abs(new - old) <= 1e-12), where
    else:
        assert new == old, where


def test_cells_skip_the_wild_bootstrap_and_keep_every_number(inputs, monkeypatch) -> None:
    old, old_calls = _tables(inputs, _full_fit, monkeypatch)
    new, new_calls = _tables(inputs, fit_survey_did, monkeypatch)
    n_cells = sum(len(table.rows) for table in old.values())
    assert n_cells >= 10  # six CSOs per hypothesis
    assert old_calls == n_cells  # before: one 9,999-draw bootstrap per cell, thrown away (CR2 is displayed)
    assert new_calls == 0
    for hid in HYPOTHESES:
        assert {row.inference for row in new[hid].rows if row.status == "estimated"} == {"CR2"}, hid
        _same(new[hid].to_dict(), old[hid].to_dict(), hid)


def test_the_option_drops_only_what_a_cell_does_not_show(inputs) -> None:
    frame, outcome, spec, options, result = inputs["h1_horizontal_trust"]
    lean = fit_survey_did(frame, outcome, spec, options, file="survey.csv", alternatives=False)
    assert "raw_means" in result.extras and "raw_means" not in lean.extras
    # h1's primary is the wild bootstrap itself (24 communities < 30), so it is still computed and recorded
    assert lean.se_type == result.se_type == "wild_webb"
    assert lean.extras["inference"].to_dict() == result.extras["inference"].to_dict()
    for field in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "se_type", "n_clusters", "n"):
        assert getattr(lean, field) == getattr(result, field), field  # the primary here is the bootstrap itself
