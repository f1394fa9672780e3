"""Fixtures of the preregistration tests (helpers in prereg_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prereg_helpers import LOCKED_AT, copy_study


@pytest.fixture()
def small_study(tmp_path: Path) -> Path:
    """h1, h2 (confirmatory) and h6 (exploratory), not locked."""
    return copy_study(tmp_path / "study")


@pytest.fixture()
def locked_study(small_study: Path) -> Path:
    from oca_experiments.prereg import lock_study

    lock_study(small_study, now=LOCKED_AT)
    return small_study
