"""Run the bad-input corpus (``cases.yaml``) through the ``oca`` CLI and keep every output for inspection.

Shared by ``test_corpus.py`` (each case: exit 2, one stderr line naming the file and the column or field, no
traceback) and ``tests/integration/test_privacy_scan.py`` (no sensitive demo value in any output). Both load this
module with :func:`load` so that the corpus runs once per test session.

Cases run in-process through typer's CliRunner, which captures stdout and stderr separately and the exit code
exactly as the process would return it. Two things a real process prints that an in-process run would not are
added to the captured stderr: log records (``oca.cli.main`` sends them to stderr) and Python warnings.
``test_corpus.py`` also runs a few cases as real subprocesses to prove the in-process runs faithful.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FILES = HERE / "files"
CASES_FILE = HERE / "cases.yaml"
STUDY_PARTS = ("study.yaml", "hypotheses", "data_contracts", "analysis", "reports")


@dataclass(frozen=True)
class Case:
    id: str
    covers: str
    args: tuple[str, ...]
    file: str
    says: str
    column: str | None = None
    field: str | None = None
    exit_code: int = 2
    patch: Mapping[str, tuple[tuple[str, str], ...]] = default(default_factory=dict)
    write: Mapping[str, str] = default(default_factory=dict)
    remove: tuple[str, ...] = ()
    env: Mapping[str, str | None] = default(default_factory=dict)
    must_not_say: tuple[str, ...] = ()
    subprocess: bool = False

    @property
    def needs_study_copy(self) -> bool:
        return bool(self.patch or self.write or self.remove)


@dataclass(frozen=True)
class Outcome:
    case: Case
    exit_code: int
    stdout: str
    stderr: str
    out_dir: Path
    exception: BaseException | None = None

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for entry in raw["cases"]:
        entry = dict(entry)
        entry["args"] = tuple(str(a) for a in entry["args"])
        entry["patch"] = {name: tuple((old, new) for old, new in pairs)
                          for name, pairs in (entry.get("patch") or {}).items()}
        entry["remove"] = tuple(entry.get("remove") or ())
        entry["must_not_say"] = tuple(entry.get("must_not_say") or ())
        cases.append(Case(**entry))
    return cases


def prepare_study(case: Case, root: Path) -> Path:
    """The repository's study, or a copy of it with the case's patches applied."""
    if not case.needs_study_copy:
        return REPO
    study = root / "study"
    for part in STUDY_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, study / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            study.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, study / part)
    for name in case.remove:
        (study / name).unlink(missing_ok=True)  # e.g. the registry lock, present once the specs are locked
    for name, content in case.write.items():
        (study / name).parent.mkdir(parents=True, exist_ok=True)
        (study / name).write_text(content, encoding="utf-8")
    for name, pairs in case.patch.items():
        path = study / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            if text.count(old) != 1:
                raise AssertionError(f"case {case.id}: patch target {old!r} occurs {text.count(old)} times in {name}")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return study


def expand(case: Case, study: Path, out: Path) -> list[str]:
    values = {"study": str(study), "files": str(FILES), "out": str(out), "tmp": str(out.parent)}
    return [arg.format(**values) for arg in case.args]


class _Stderr:
    """A stream that writes to whatever ``sys.stderr`` is at the time (CliRunner swaps it during a call)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextmanager
def _like_a_process() -> Iterator[list[warnings.WarningMessage]]:
    """Log records to stderr at WARNING (as ``oca_experiments.cli.main`` configures) and warnings recorded."""
    handler = logging.StreamHandler(_Stderr())  # type: ignore[arg-type]
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            yield caught
    finally:
        root.removeHandler(handler)


def run_case(case: Case, root: Path) -> Outcome:
    """Run one case in-process; ``root`` is an empty folder for its study copy and outputs."""
    from typer.testing import CliRunner

    from oca_experiments.cli import app

    root.mkdir(parents=True, exist_ok=True)
    out = root / "out"
    study = prepare_study(case, root)
    args = expand(case, study, out)
    env = {"OCA_DEBUG": None, **case.env}
    with _like_a_process() as caught:
        result = CliRunner().invoke(app, args, env=env, catch_exceptions=True)
        stderr = result.stderr
    stderr += "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught
                      if not issubclass(w.category, DeprecationWarning))
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(case, result.exit_code, result.stdout, stderr, out, exception)


def run_case_in_subprocess(case: Case, root: Path) -> Outcome:
    import subprocess

    root.mkdir(parents=True, exist_ok=True)
    out = root / "out"
    study = prepare_study(case, root)
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    for name, value in case.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.run([sys.executable, "-m", "oca_experiments", *expand(case, study, out)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=600)
    return Outcome(case, proc.returncode, proc.stdout, proc.stderr, out)


_OUTCOMES: dict[str, Any] = {}


def run_all(root: Path) -> dict[str, Outcome]:
    """Every case, once per session (cached): the corpus test and the privacy scanner share the outputs."""
    if "outcomes" not in _OUTCOMES:
        outcomes = {}
        for case in load_cases():
            outcome = run_case(case, root / case.id)
            (root / case.id / "stdout.log").write_text(outcome.stdout, encoding="utf-8")
            (root / case.id / "stderr.log").write_text(outcome.stderr, encoding="utf-8")
            outcomes[case.id] = outcome
        _OUTCOMES["outcomes"] = outcomes
        _OUTCOMES["root"] = root
    return _OUTCOMES["outcomes"]
