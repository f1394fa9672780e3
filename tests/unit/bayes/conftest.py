"""Fixtures for the Bayesian unit tests; plain helpers (small synthetic data, specs) live in bayes_helpers.py, so that
no test imports ``conftest`` (two conftest modules collected in one call would clash)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own draws cache, so that no test reads draws another test wrote."""
    monkeypatch.setenv("OCA_CACHE_DIR", str(tmp_path / "oca-cache"))
