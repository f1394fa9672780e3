"""Preregistration through the command line: lock, status, check, export, schema, and the firewall in real runs.

Every test works on a copy of the demo study in a tmp folder; the repository's own lock is never written.
Real runs use the demo's survey DiD specs only (h1, h2, h6): the Bayesian ones would take minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app

REPO = Path(__file__).resolve().parents[2]
SMALL_SPECS = ("h1_horizontal_trust.yaml", "h2_vertical_trust.yaml", "h6_horizontal_trust_by_sex.yaml")
DEVIATION = """deviations:
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
ADDED_SPEC = """id: h8_added_after_lock
title: Vertical trust in local self-government rises
hypothesis: Trust in local self-government rises more in treated than in comparison communities.
type: confirmatory
direction: increase
outcome:
  source: survey
  name: lsg_trust
  construction: {method: mean, items: [v_trust_lsg], scale: [1, 5]}
design: {unit: respondent_id, time: wave, pre: baseline, post: endline, treatment: treated, cluster: community_id}
estimator: {name: survey_did}
inference: {sesoi: 0.1, family: trust}
"""


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def _copy(target: Path, specs: tuple[str, ...] | None = None) -> Path:
    target.mkdir(parents=True)
    shutil.copy(REPO / "study.yaml", target / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "hypotheses").mkdir()
    for path in sorted((REPO / "hypotheses").glob("*.yaml")):
        if path.name != "deviations.yaml" and (specs is None or path.name in specs):
            shutil.copy(path, target / "hypotheses" / path.name)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_spec_schema_for_editors(tmp_path: Path) -> None:
    result = invoke("spec", "schema")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False  # unknown keys are errors in editors too
    for key in ("id", "hypothesis", "estimand", "target_population", "unit_of_assignment", "power", "data_rules",
                "subgroups", "robustness", "registration_date", "fixed_effects", "inference", "bayes"):
        assert key in schema["properties"], key
    out = tmp_path / "deviations.schema.json"
    assert invoke("spec", "schema", "--kind", "deviations", "--out", out).exit_code == 0
    assert "outcome_data_seen" in out.read_text(encoding="utf-8")
    bad = invoke("spec", "schema", "--kind", "nope")
    assert bad.exit_code == 2 and "hypothesis, deviations, study" in bad.stderr


def test_lock_status_check_cycle(tmp_path: Path) -> None:
    study = _copy(tmp_path / "study", SMALL_SPECS)
    result = invoke("prereg", "lock", study)
    assert result.exit_code == 0 and "locked 3 new spec(s)" in result.stdout
    assert invoke("prereg", "lock", study).stdout.startswith("nothing new to lock")
    assert invoke("prereg", "check", study).exit_code == 0

    _edit(study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    check = invoke("prereg", "check", study)
    assert check.exit_code == 10
    (line,) = check.stderr.strip().splitlines()
    assert line.startswith("error: h2_vertical_trust: inference.sesoi: changed since the lock (0.1 → 0.15)")
    status = invoke("prereg", "status", study)
    assert status.exit_code == 0
    assert re.search(r"h2_vertical_trust\s+changed_without_deviation", status.stdout)
    assert "inference.sesoi: 0.1 -> 0.15  (undeclared)" in status.stdout
    assert "- spec: h2_vertical_trust" in status.stdout and "outcome_data_seen: false" in status.stdout  # template
    locked = invoke("prereg", "lock", study)
    assert locked.exit_code == 0 and "h2_vertical_trust changed since its lock" in locked.stderr

    (study / "hypotheses" / "deviations.yaml").write_text(DEVIATION, encoding="utf-8")
    assert invoke("prereg", "check", study).exit_code == 0
    as_json = json.loads(invoke("prereg", "status", study, "--json").stdout)
    assert {s["spec"]: s["status"] for s in as_json["specs"]}["h2_vertical_trust"] == "changed_with_deviation"

    lock_file = study / "hypotheses" / "registry.lock.json"
    payload = json.loads(lock_file.read_text(encoding="utf-8"))
    payload["entries"][0]["sha256"] = "0" * 64  # acceptance 4, through the CLI
    lock_file.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    tampered = invoke("prereg", "check", study)
    assert tampered.exit_code == 10
    assert "h1_horizontal_trust: sha256: hypotheses/registry.lock.json entry 1: sha256 does not match" in \
        tampered.stderr


def test_check_exit_code_in_a_real_process(tmp_path: Path) -> None:
    study = _copy(tmp_path / "study", SMALL_SPECS)
    assert invoke("prereg", "lock", study).exit_code == 0
    _edit(study / "hypotheses" / "h1_horizontal_trust.yaml", "  alpha: 0.05", "  alpha: 0.1")
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    proc = subprocess.run([sys.executable, "-m", "oca_experiments", "prereg", "check", str(study)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 10, proc.stderr
    assert "h1_horizontal_trust: inference.alpha" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("fmt", ["aea", "osf"])
def test_export_holds_every_registered_hypothesis(tmp_path: Path, fmt: str) -> None:
    """Acceptance 5, on a locked copy of the whole demo study."""
    from oca_experiments.spec import load_hypotheses

    study = _copy(tmp_path / "study")
    assert invoke("prereg", "lock", study).exit_code == 0
    out = tmp_path / f"plan_{fmt}.md"
    result = invoke("prereg", "export", study, "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert ("## Primary Outcomes (explanation)" in text) if fmt == "aea" else ("## Analysis Plan" in text)
    for spec_file in load_hypotheses(study):
        spec = spec_file.spec
        block = text[text.index(f"### {spec.id}: "):]
        block = block[: block.find("\n### ", 1)] if "\n### " in block[1:] else block
        construction = spec.outcome.construction
        for column in (*construction.items, *construction.reverse, *construction.inputs):
            assert f"`{column}`" in block, (spec.id, column)
        if construction.function:
            assert f"`{construction.function}`" in block
        assert f"construction method: {construction.method}" in block
        assert f"estimator: `{spec.estimator.name}`" in block
        assert f"alpha {spec.inference.alpha:g}" in block and f"standard errors: {spec.inference.se}" in block
        if spec.inference.family is not None:  # h8 (exploratory) registers no family
            assert f"multiple-testing family: {spec.inference.family}" in block
        if spec.inference.sesoi is not None:
            assert f"(SESOI): {spec.inference.sesoi:g}" in block
        assert "registered in the lock at" in block and spec.type in block
    bad = invoke("prereg", "export", study, "--format", "word")
    assert bad.exit_code == 2 and "aea, osf" in bad.stderr


def _text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_firewall_in_real_runs_and_the_report(tmp_path: Path, demo_data) -> None:
    """Acceptance 2 and 3 on the demo's data: lock, edit a confirmatory spec, check; declare it, run, report."""
    study = _copy(tmp_path / "study", SMALL_SPECS)
    data = ["--data", f"survey={demo_data.survey}"]
    assert invoke("prereg", "lock", study).exit_code == 0
    _edit(study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")

    # without a deviation entry: `oca check` (the CI gate) fails on the lock with the spec and the field named
    gate = invoke("check", study, *data, "--expected", tmp_path / "expected.json", "--update-expected")
    assert gate.exit_code == 10, gate.stderr
    assert re.search(r"error: h2_vertical_trust: lock: inference.sesoi: changed since the lock", gate.stderr)
    strict = invoke("run", study, *data, "--out", tmp_path / "strict", "--strict", "--no-report")
    assert strict.exit_code == 2 and "h2_vertical_trust: inference.sesoi" in strict.stderr
    assert not (tmp_path / "strict" / "results.json").exists()  # refused before estimating anything

    # with one, and a confirmatory-looking spec added after the lock
    (study / "hypotheses" / "deviations.yaml").write_text(DEVIATION, encoding="utf-8")
    (study / "hypotheses" / "h8_added_after_lock.yaml").write_text(ADDED_SPEC, encoding="utf-8")
    out = tmp_path / "run"
    built = invoke("report", "build", study, *data, "--out", out)
    assert built.exit_code == 0, built.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_id = {h["id"]: h for h in results["hypotheses"]}
    registered, amended = by_id["h2_vertical_trust"], by_id["h2_vertical_trust__amended"]
    assert (registered["variant"], registered["sesoi"], registered["type"]) == ("registered", 0.1, "confirmatory")
    assert (amended["variant"], amended["sesoi"], amended["type"]) == ("amended", 0.15, "exploratory")
    assert registered["estimate"] == pytest.approx(amended["estimate"])  # only the SESOI changed
    added = by_id["h8_added_after_lock"]
    assert (added["type"], added["declared_type"], added["confirmatory"]) == ("exploratory", "confirmatory", False)
    assert results["families"]["confirmatory"] == {"trust": ["h1_horizontal_trust", "h2_vertical_trust"]}
    assert "h8_added_after_lock" in results["families"]["exploratory"]["trust"]
    assert "[exploratory: not in the registry lock]" in built.stdout

    html = _text_of((out / "report" / "index.html").read_text(encoding="utf-8"))
    # the table of contents names "Estimates at a glance" first: the section ends at the heading after it
    start = html.index("Registered and amended versions")
    side = html[start:html.index("Estimates at a glance", start)]
    low, high = f"{registered['ci_low']:.3f}", f"{registered['ci_high']:.3f}"
    assert side.count(f"{registered['estimate']:.3f}") == 2 and side.count(f"[{low}, {high}]") == 2
    assert "h2_vertical_trust" in side and "inference.sesoi: 0.1 → 0.15" in side
