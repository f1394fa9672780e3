"""Outcome construction: turn a source's columns into the registered outcome, never touching the input frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, SpecError
from .spec import Construction


@dataclass(frozen=True)
class BuiltOutcome:
    values: pd.Series
    n_missing: int
    n_too_few_items: int


def numeric_column(df: pd.DataFrame, column: str, *, file: str) -> pd.Series:
    """The column as float64; non-numeric cells are an error (counted, never shown)."""
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    if pd.api.types.is_numeric_dtype(raw):
        return pd.to_numeric(raw).astype("float64")
    converted = pd.to_numeric(raw, errors="coerce")
    bad = int((converted.isna() & raw.notna()).sum())
    if bad:
        raise DataError(f"{bad} non-numeric value{'s' if bad != 1 else ''} where numbers are expected",
                        file=file, column=column, fix="recode text answers to numbers or declare them missing")
    return converted.astype("float64")


def build_outcome(df: pd.DataFrame, construction: Construction, *, file: str,
                  function: Callable[[pd.DataFrame], pd.Series] | None = None) -> BuiltOutcome:
    if construction.method == "column":
        values = numeric_column(df, construction.column or "", file=file)
        return BuiltOutcome(values, int(values.isna().sum()), 0)
    if construction.method == "function":
        if function is None:
            raise SpecError("analysis function was not resolved", field="outcome.construction.function")
        result = function(df.copy())
        if not isinstance(result, pd.Series) or len(result) != len(df):
            raise DataError(f"analysis function {construction.function} must return a Series with one value per "
                            "row", file=file, fix="fix the function in analysis/")
        values = pd.to_numeric(result, errors="coerce").astype("float64")
        values.index = df.index
        return BuiltOutcome(values, int(values.isna().sum()), 0)

    items = pd.DataFrame({c: numeric_column(df, c, file=file) for c in construction.items}, index=df.index)
    if construction.scale is not None:
        low, high = construction.scale
        outside = (items < low) | (items > high)
        if outside.to_numpy().any():
            column = str(outside.sum().idxmax())
            count = int(outside.to_numpy().sum())
            raise DataError(f"{count} value{'s' if count != 1 else ''} outside the registered scale "
                            f"[{low:g}, {high:g}]", file=file, column=column,
                            fix="recode or set out-of-range answers to missing")
        for col in construction.reverse:
            items[col] = (low + high) - items[col]
    answered = items.notna().sum(axis=1)
    needed = construction.min_items or 1
    means = items.mean(axis=1, skipna=True)
    too_few = answered < needed
    values = means.where(~too_few, np.nan).astype("float64")
    return BuiltOutcome(values, int(values.isna().sum()), int((too_few & (answered > 0)).sum()))
