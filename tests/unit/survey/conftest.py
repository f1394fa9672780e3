"""Fixtures for the survey-effects tests; plain helpers live in survey_helpers.py."""

from __future__ import annotations

import pytest

from survey_helpers import r_reference as _read_reference


@pytest.fixture(scope="session")
def r_reference() -> dict:
    return _read_reference()
