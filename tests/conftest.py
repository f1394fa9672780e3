"""Shared fixtures: the repository's demo study and its generated data (built once per session)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory):
    """The embedded demo's files (survey.csv, engagement.csv, truth.json) for the default seed."""
    from oca_experiments.demo import generate_demo

    return generate_demo(tmp_path_factory.mktemp("demo_data"))


@pytest.fixture()
def study_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo study folder (specs, contracts, analysis, reports)."""
    target = tmp_path / "study"
    target.mkdir()
    for name in ("study.yaml",):
        shutil.copy(REPO / name, target / name)
    for folder in ("hypotheses", "data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="session")
def demo_study_with() -> Callable[[Path, Mapping[str, str]], Path]:
    """``demo_study_with(folder, {hypothesis file stem: spec text})``: the demo study (study.yaml, contracts,
    analysis, reports) with exactly the given hypothesis specs, e.g. a variant of one demo spec."""

    def make(target: Path, specs: Mapping[str, str]) -> Path:
        target.mkdir()
        shutil.copy(REPO / "study.yaml", target / "study.yaml")
        for folder in ("data_contracts", "analysis", "reports"):
            shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
        (target / "hypotheses").mkdir()
        for stem, text in specs.items():
            (target / "hypotheses" / f"{stem}.yaml").write_text(text, encoding="utf-8")
        return target

    return make
