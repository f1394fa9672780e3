"""Cluster and fixed-effect codes come from hashing (issue 21: the full object sort was O(n log n) comparisons at 1M
respondents); they must equal np.unique's sorted codes, with its own handling kept for missing or odd labels."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments.estimators._linalg import factorize, sorted_codes
from oca_experiments.estimators._survey_frame import cluster_codes


def _labels(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    pool = np.array(["c10", "c2", "C1", "ä-site", "b", "b ", "Ω", "10", "9", "a\\x00b"], dtype=object)
    return pool[rng.integers(0, pool.size, n)]


def test_string_labels_match_numpy_unique() -> None:
    values = _labels(5000)
    labels, codes = cluster_codes(values)
    expected_labels, expected_codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    assert labels == tuple(str(v) for v in expected_labels)
    np.testing.assert_array_equal(codes, expected_codes)
    codes_fe, n_levels = factorize(values)
    np.testing.assert_array_equal(codes_fe, np.unique(values, return_inverse=True)[1])
    assert n_levels == len(expected_labels)


@pytest.mark.parametrize("values", [
    np.array(["b", None, "a", "b"], dtype=object),  # a missing label: numpy's conversion ("None") is kept
    np.array([3, 1, 2, 3], dtype=object),  # not strings: labels are their str(), as before
    np.array([2.0, 1.0, 2.0]),  # not objects
], ids=["missing", "integers as objects", "floats"])
def test_other_labels_keep_numpy_unique(values: np.ndarray) -> None:
    labels, codes = cluster_codes(values)
    expected_labels, expected_codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    assert labels == tuple(str(v) for v in expected_labels)
    np.testing.assert_array_equal(codes, expected_codes)


def test_sorted_codes_declines_missing_labels() -> None:
    assert sorted_codes(np.array(["a", None], dtype=object)) is None
    assert sorted_codes(np.array([1.0, 2.0])) is None
