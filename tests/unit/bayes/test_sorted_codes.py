"""``_sorted_codes`` numbers identifiers in the order of their text (as the pivot-based preparation did). Integer
identifiers take a numpy path (issue 21): it must give exactly the codes and labels of the generic string path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oca_experiments.bayes import _data


def _generic(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text_codes, labels = pd.factorize(pd.Series(uniques, dtype=object).astype("string"), sort=True)
    return np.append(text_codes.astype(np.int64), -1)[raw_codes], np.asarray(labels, dtype=object)


@pytest.mark.parametrize("values", [
    pd.Series([10, 9, 100, 9, -3, 0, 10, 2**40]),  # text order: "-3" < "0" < "10" < "100" < "1099..." < "9"
    pd.Series(np.random.default_rng(1).integers(0, 10**6, 5000)),
    pd.Series(np.arange(12, dtype=np.uint8)),
    pd.Series([5]),
], ids=["mixed-lengths", "many", "unsigned", "one"])
def test_integer_identifiers_get_the_codes_of_their_text(values: pd.Series) -> None:
    codes, labels = _data._sorted_codes(values)
    want_codes, want_labels = _generic(values)
    np.testing.assert_array_equal(codes, want_codes)
    assert labels.dtype == object and list(labels) == list(want_labels)
    assert all(type(label) is str for label in labels)


def test_text_and_missing_identifiers_keep_the_generic_path() -> None:
    values = pd.Series(["b", None, "a", "b", "10", "9"], dtype="string")
    codes, labels = _data._sorted_codes(values)
    want_codes, want_labels = _generic(values)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(labels) == list(want_labels) and codes[1] == -1
    floats = pd.Series([1.0, np.nan, 3.0, 1.0])  # an integer column with a gap reads as float: generic path
    np.testing.assert_array_equal(_data._sorted_codes(floats)[0], _generic(floats)[0])
