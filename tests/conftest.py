"""Shared fixtures: the repository's demo study and its generated data (built once per session)."""

from __future__ import annotations

import shutil
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
