"""Acceptance 1 of issue 4: no output of oca holds the demo's respondent IDs or the values of its sensitive columns.

The scanner searches every file that ``oca demo`` writes (results.json, manifest.json, the report's HTML and executed
notebook, artifacts) except its input data copy (``data/``), the demo's stdout/stderr, and everything every case of the
bad-input corpus wrote or printed (validation.json/.html, results, logs). The corpus files are slices of the demo
data, so they carry the same IDs, phone numbers and comments. It looks for:

- respondent IDs (``R00001``) as whole tokens, so that a base64 image cannot match by chance;
- phone numbers as written (``+996 700 205 070``) and as bare digits;
- the free-text comments as written, JSON-escaped and HTML-escaped.

The demo runs on its study without the Bayesian hypotheses (h7*, and so without the registry lock, which would run
them in their registered versions): their sampling takes minutes and writes only community-level summaries.
``OCA_SCAN_FULL_DEMO=1`` scans the full demo instead.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.demo import simulate_demo

REPO = Path(__file__).resolve().parents[2]
SENSITIVE = ("respondent_id", "phone", "comment")  # the survey suite's meta.oca.sensitive_columns
_ID = re.compile(rb"(?<![A-Za-z0-9])R\d{5}(?![A-Za-z0-9])")
_PHONE = re.compile(rb"\+996 \d{3} \d{3} \d{3}")
_PHONE_DIGITS = re.compile(rb"(?<![0-9])996\d{9}(?![0-9])")

_NAME = "oca_bad_input_corpus"  # the corpus module shared with tests/bad_inputs/test_corpus.py (runs once)
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, REPO / "tests" / "bad_inputs" / "corpus.py")
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
    _spec.loader.exec_module(sys.modules[_NAME])  # type: ignore[union-attr]
corpus = sys.modules[_NAME]


class Scanner:
    def __init__(self, survey) -> None:
        self.ids = set(survey["respondent_id"].dropna().astype(str))
        self.phones = set(survey["phone"].dropna().astype(str))
        comments = set(survey["comment"].dropna().astype(str))
        self.texts = {form.encode("utf-8") for text in comments
                      for form in (text, json.dumps(text)[1:-1], html.escape(text))}
        self.digits = {phone.replace(" ", "").lstrip("+") for phone in self.phones}

    def hits(self, data: bytes) -> list[str]:
        found = [m.decode() for m in _ID.findall(data) if m.decode() in self.ids]
        found += [m.decode() for m in _PHONE.findall(data) if m.decode() in self.phones]
        found += [m.decode() for m in _PHONE_DIGITS.findall(data) if m.decode() in self.digits]
        found += [text.decode("utf-8")[:20] + "…" for text in self.texts if text in data]
        return found


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(simulate_demo().survey)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan_demo")
    args = ["demo", "--out", str(root / "demo")]
    if not os.environ.get("OCA_SCAN_FULL_DEMO"):
        study = root / "study"
        for part in corpus.STUDY_PARTS:
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, study / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                study.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, study / part)
        for spec in (study / "hypotheses").glob("h7*.yaml"):
            spec.unlink()
        # the registry lock would run the removed specs in their registered versions
        (study / "hypotheses" / "registry.lock.json").unlink(missing_ok=True)
        args += ["--study", str(study)]
    result = CliRunner().invoke(app, args, env={"OCA_DEBUG": None})
    assert result.exit_code == 0, result.stderr
    (root / "demo.stdout.log").write_text(result.stdout, encoding="utf-8")
    (root / "demo.stderr.log").write_text(result.stderr, encoding="utf-8")
    return root


def test_the_scanner_finds_what_it_looks_for(scanner: Scanner) -> None:
    survey = simulate_demo().survey
    row = survey.loc[survey["comment"].notna()].iloc[0]
    assert scanner.hits(f'{{"id": "{row["respondent_id"]}"}}'.encode())
    assert scanner.hits(str(row["phone"]).encode())
    assert scanner.hits(json.dumps({"c": row["comment"]}).encode())  # ASCII-escaped JSON
    assert not scanner.hits(b"R00001X9 QR000019 sha256 0a1b2c")


def test_no_output_holds_sensitive_demo_values(scanner: Scanner, demo_run: Path,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    outcomes = corpus.run_all(tmp_path_factory.mktemp("bad_inputs_scan"))
    demo_out = demo_run / "demo"
    scanned = [p for p in demo_run.rglob("*") if p.is_file() and not p.is_relative_to(demo_out / "data")
               and not p.is_relative_to(demo_run / "study")]
    assert (demo_out / "results.json") in scanned and (demo_out / "report" / "index.html") in scanned
    for outcome in outcomes.values():
        if outcome.out_dir.exists():
            scanned += [p for p in outcome.out_dir.rglob("*") if p.is_file()]
    corpus_logs = [(f"{o.case.id} stdout", o.stdout) for o in outcomes.values()]
    corpus_logs += [(f"{o.case.id} stderr", o.stderr) for o in outcomes.values()]
    assert sum(p.name == "validation.html" for p in scanned) >= 20, "the corpus wrote validation pages"
    leaks = {str(p): scanner.hits(p.read_bytes()) for p in scanned}
    leaks.update({name: scanner.hits(text.encode("utf-8")) for name, text in corpus_logs})
    leaks = {name: found for name, found in leaks.items() if found}
    assert not leaks, leaks


def test_pseudonymised_output_holds_no_id(scanner: Scanner, tmp_path: Path) -> None:
    out = tmp_path / "survey_pseudonymised.csv"
    result = CliRunner().invoke(app, ["data", "pseudonymize", str(corpus.FILES / "survey_base.csv"), "--out",
                                      str(out), "--id-column", "respondent_id", "--drop", "phone", "--drop",
                                      "comment"], env={"OCA_PSEUDONYM_KEY": "scanner test key, not a secret 42"})
    assert result.exit_code == 0, result.stderr
    assert not scanner.hits(out.read_bytes()) and not scanner.hits(result.stdout.encode())
    assert "respondent_id" in out.read_text(encoding="utf-8").splitlines()[0]
