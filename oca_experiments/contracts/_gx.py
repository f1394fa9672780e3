"""Run a suite with Great Expectations 1.x on an in-memory DataFrame and turn its results into privacy-safe failures.

Fails closed: the contract passes only if the suite has at least one expectation, every entry builds into a
GX expectation, GX returns one result per expectation, none of them raised, and all of them succeeded.

What raises and what returns a failed result:

- ``ContractError`` is raised only when the suite file cannot be loaded at all (missing, not JSON, no ``name``
  or ``expectations`` list, malformed ``meta.oca``); see :func:`load_suite`.
- Everything else returns ``ContractResult(passed=False)`` with one :class:`ContractFailure` per problem:
  zero expectations, an entry GX cannot build (unknown type, bad kwargs), a column the data lacks
  (named together with the suite), an expectation that raised, a missing result, GX failing as a whole,
  and of course expectations that are not met.

GX result objects hold raw cell values (``partial_unexpected_list`` etc.); only row numbers and counts are copied
out, plus example values when ``show_values=True`` and no column of the expectation is sensitive.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from oca_experiments.contracts._model import (
    ContractFailure,
    ContractResult,
    ContractSuite,
    json_safe,
    load_suite,
)

__all__ = ["run_contract"]

MAX_EXAMPLES = 5
# Key added to each expectation's meta so results can be matched back: GX does not return them in suite order.
_INDEX_KEY = "_oca_expectation_index"
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}


def run_contract(suite_path: Path | str, df: pd.DataFrame, *, source: str,
                 show_values: bool = False) -> ContractResult:
    """Validate ``df`` against the GX suite at ``suite_path``; never mutates ``df`` and writes nothing to stdout."""
    suite = load_suite(suite_path)
    # A fresh RangeIndex makes GX's unexpected index lists 0-based row numbers; it is also a new object for GX.
    data = df.reset_index(drop=True)
    checker = _SuiteRun(suite, data, source=source, show_values=show_values)
    return checker.run()


class _SuiteRun:
    def __init__(self, suite: ContractSuite, data: pd.DataFrame, *, source: str, show_values: bool) -> None:
        self.suite = suite
        self.data = data
        self.source = source
        self.show_values = show_values
        self.data_columns = {str(name) for name in data.columns}

    def run(self) -> ContractResult:
        n_expectations = len(self.suite.expectations)
        if n_expectations == 0:
            return self._result(0, [self._suite_failure(
                "(suite)", "has no expectations, so it would check nothing; add expectations to the suite")])

        with _quiet_gx():
            built, failures = self._build_expectations()
            if not built:
                return self._result(0, failures)
            try:
                results = self._validate(built)
            except Exception as err:  # fail closed; GX's own message may quote data, so only the type is kept
                failures.append(self._suite_failure(
                    "(suite)", f"could not be run by Great Expectations ({type(err).__name__})"))
                return self._result(0, failures)

        results_by_index: dict[int, Any] = {}
        for validation_result in results:
            index = (validation_result.expectation_config.meta or {}).get(_INDEX_KEY)
            if isinstance(index, int):
                results_by_index[index] = validation_result

        n_evaluated = 0
        for index in sorted(built):
            entry = self.suite.expectations[index]
            validation_result = results_by_index.get(index)
            if validation_result is None:
                failures.append(self._entry_failure(entry, "returned no result from Great Expectations"))
                continue
            if _raised(validation_result):
                failures.append(self._raised_failure(entry))
                continue
            n_evaluated += 1
            if not validation_result.success:
                failure = self._unmet_failure(entry, validation_result.result or {})
                if failure is not None:
                    failures.append(failure)
        return self._result(n_evaluated, failures)

    # ------------------------------------------------------------------ GX calls

    def _build_expectations(self) -> tuple[dict[int, Any], list[ContractFailure]]:
        """Build each entry on its own: ExpectationSuite(...) would drop invalid entries with only a log line."""
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        built: dict[int, Any] = {}
        failures: list[ContractFailure] = []
        for index, entry in enumerate(self.suite.expectations):
            try:
                config = copy.deepcopy(dict(entry))
                config["meta"] = {**(config.get("meta") or {}), _INDEX_KEY: index}
                config.pop("id", None)  # ids belong to a context's store; an ephemeral run must not reuse them
                built[index] = ExpectationConfiguration(**config).to_domain_obj()
            except Exception:  # unknown type, bad kwargs, not an object: the entry fails, the rest still runs
                failures.append(self._entry_failure(
                    entry, "is not a valid Great Expectations 1.x expectation (check its type and kwargs)"))
        return built, failures

    def _validate(self, built: dict[int, Any]) -> list[Any]:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        batch_definition = (
            context.data_sources.add_pandas(name="oca")
            .add_dataframe_asset(name=self.source or "data")
            .add_batch_definition_whole_dataframe("whole_dataframe")
        )
        batch = batch_definition.get_batch(batch_parameters={"dataframe": self.data})
        gx_suite = gx.ExpectationSuite(name=self.suite.name, expectations=[built[i] for i in sorted(built)])
        outcome = batch.validate(gx_suite, result_format=_RESULT_FORMAT,
                                 expectation_parameters=self.suite.suite_parameters or None)
        return list(outcome.results)

    # ------------------------------------------------------------------ failures

    def _result(self, n_evaluated: int, failures: list[ContractFailure]) -> ContractResult:
        n_expectations = len(self.suite.expectations)
        return ContractResult(
            source=self.source,
            suite=self.suite.name,
            suite_path=self.suite.path,
            suite_sha256=self.suite.sha256,
            passed=not failures and n_expectations > 0 and n_evaluated == n_expectations,
            n_expectations=n_expectations,
            n_evaluated=n_evaluated,
            failures=tuple(failures),
        )

    def _suite_failure(self, expectation: str, problem: str) -> ContractFailure:
        return ContractFailure(expectation=expectation, column=None, unexpected_count=None,
                               unexpected_percent=None, example_rows=(), example_values=None,
                               message=f"suite '{self.suite.name}' {problem}")

    def _entry_failure(self, entry: Any, problem: str) -> ContractFailure:
        return ContractFailure(
            expectation=_expectation_type(entry), column=_column_label(entry), unexpected_count=None,
            unexpected_percent=None, example_rows=(), example_values=None,
            message=f"{_describe(entry)} in suite '{self.suite.name}' {problem}",
        )

    def _raised_failure(self, entry: Any) -> ContractFailure:
        missing = [column for column in _columns_of(entry) if column not in self.data_columns]
        if missing:
            names = ", ".join(f"'{column}'" for column in missing)
            problem = (f"refers to column(s) {names} that the data does not have; "
                       "fix the column name in the suite or the data file")
        else:
            text_failure = self._text_in_numeric_check(entry)
            if text_failure is not None:
                return text_failure
            # GX's exception text can quote cell values, so it is not passed on.
            problem = "raised an error inside Great Expectations (e.g. wrong column type for this check)"
        return self._entry_failure(entry, problem)

    def _text_in_numeric_check(self, entry: Any) -> ContractFailure | None:
        """A range check on a column holding text (e.g. "agree" in a Likert item) raises inside GX; count the cells
        that are not numbers instead, so the failure says how many and where, like any unmet expectation."""
        kwargs = _kwargs(entry)
        column = kwargs.get("column")
        if not isinstance(column, str) or not ({"min_value", "max_value"} & set(kwargs)):
            return None
        values = self.data[column]
        if pd.api.types.is_numeric_dtype(values):
            return None
        numbers = pd.to_numeric(values, errors="coerce")
        not_numbers = values.notna() & numbers.isna()
        count = int(not_numbers.sum())
        if count == 0:
            return None
        positions = tuple(int(i) for i in not_numbers.to_numpy().nonzero()[0][:MAX_EXAMPLES])
        percent = 100.0 * count / max(len(values), 1)
        allowed = self.show_values and column not in self.suite.sensitive_columns
        examples = tuple(json_safe(v) for v in values[not_numbers].iloc[:MAX_EXAMPLES]) if allowed else None
        text = (f"{_describe(entry)} in suite '{self.suite.name}': {count} value(s) are not numbers "
                f"({percent:.2f}%), e.g. rows " + ", ".join(map(str, positions)))
        if examples:
            text += "; values " + ", ".join(_short(value) for value in examples)
        return ContractFailure(expectation=_expectation_type(entry), column=column, unexpected_count=count,
                               unexpected_percent=percent, example_rows=positions, example_values=examples,
                               message=text)

    def _numeric_set_recount(self, entry: Any) -> tuple[pd.Series, str] | None:
        """A numeric value set (e.g. treated in {0, 1}) checked on a column read as text because one cell is not a
        number: GX compares text with numbers and calls every cell unexpected. Recount with the cells compared as
        numbers, so that the count and the rows are the offending ones. Returns (offending mask, detail) or None."""
        kwargs = _kwargs(entry)
        column, value_set = kwargs.get("column"), kwargs.get("value_set")
        if (_expectation_type(entry) != "expect_column_values_to_be_in_set" or not isinstance(column, str)
                or column not in self.data_columns or not isinstance(value_set, list) or not value_set
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_set)):
            return None
        values = self.data[column]
        if pd.api.types.is_numeric_dtype(values):
            return None
        numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
        present = values.notna()
        not_numbers = present & numbers.isna()
        offending = present & (numbers.isna() | ~numbers.isin([float(v) for v in value_set]))
        detail = f", of which {int(not_numbers.sum())} not a number" if not_numbers.any() else ""
        return offending, detail

    def _recounted_failure(self, entry: Any, offending: pd.Series, detail: str, mostly: Any,
                           values_allowed: bool) -> ContractFailure | None:
        count, present = int(offending.sum()), int(self.data[_kwargs(entry)["column"]].notna().sum())
        if count == 0 or (isinstance(mostly, (int, float)) and present and 1 - count / present >= mostly):
            return None  # within the suite's tolerance once compared as numbers
        positions = tuple(int(i) for i in offending.to_numpy().nonzero()[0][:MAX_EXAMPLES])
        percent = 100.0 * count / max(present, 1)
        values = (tuple(json_safe(v) for v in self.data.loc[offending.to_numpy(), _kwargs(entry)["column"]]
                        .iloc[:MAX_EXAMPLES]) if values_allowed else None)
        text = f"{_describe(entry)}: {count} unexpected value(s){detail} ({percent:.2f}%)"
        if positions:
            text += ", e.g. rows " + ", ".join(map(str, positions))
        if values:
            text += "; values " + ", ".join(_short(value) for value in values)
        return ContractFailure(expectation=_expectation_type(entry), column=_column_label(entry),
                               unexpected_count=count, unexpected_percent=percent, example_rows=positions,
                               example_values=values, message=text)

    def _unmet_failure(self, entry: Any, gx_result: dict[str, Any]) -> ContractFailure | None:
        columns = _columns_of(entry)
        missing = [column for column in columns if column not in self.data_columns]
        if missing:  # e.g. expect_column_to_exist: met as a check, but usually a misspelled suite column
            names = ", ".join(f"'{column}'" for column in missing)
            return self._entry_failure(entry, f"failed: column(s) {names} not in the data")
        recount = self._numeric_set_recount(entry)
        if recount is not None:
            values_allowed = self.show_values and not (set(columns) & self.suite.sensitive_columns)
            return self._recounted_failure(entry, *recount, _kwargs(entry).get("mostly"), values_allowed)

        values_allowed = self.show_values and not (set(columns) & self.suite.sensitive_columns)
        unexpected_count = gx_result.get("unexpected_count")
        if unexpected_count is None:
            return self._aggregate_failure(entry, gx_result, values_allowed)

        rows = tuple(sorted(row for row in gx_result.get("partial_unexpected_index_list") or ()
                            if isinstance(row, int)))[:MAX_EXAMPLES]
        percent = gx_result.get("unexpected_percent")
        percent = float(percent) if percent is not None else None
        values = None
        if values_allowed:
            values = tuple(json_safe(value) for value in (gx_result.get("partial_unexpected_list") or ())
                           )[:MAX_EXAMPLES]
        text = f"{_describe(entry)}: {int(unexpected_count)} unexpected value(s)"
        if percent is not None:
            text += f" ({percent:.2f}%)"
        if rows:
            text += ", e.g. rows " + ", ".join(str(row) for row in rows)
        if values:
            text += "; values " + ", ".join(_short(value) for value in values)
        return ContractFailure(expectation=_expectation_type(entry), column=_column_label(entry),
                               unexpected_count=int(unexpected_count), unexpected_percent=percent,
                               example_rows=rows, example_values=values, message=text)

    def _aggregate_failure(self, entry: Any, gx_result: dict[str, Any], values_allowed: bool) -> ContractFailure:
        """Table- and column-level checks (row count, column set, means): no rows to point at."""
        mismatched = (gx_result.get("details") or {}).get("mismatched") or {}
        text = f"{_describe(entry)}: not met"
        if isinstance(mismatched, dict) and mismatched.get("missing"):
            # Column names are schema, not data, so they may be named.
            text += "; missing column(s) " + ", ".join(f"'{name}'" for name in mismatched["missing"])
        values = None
        observed = gx_result.get("observed_value")
        if values_allowed and _columns_of(entry) and isinstance(json_safe(observed), (int, float, str)):
            values = (json_safe(observed),)
            text += f"; observed {_short(values[0])}"
        return ContractFailure(expectation=_expectation_type(entry), column=_column_label(entry),
                               unexpected_count=None, unexpected_percent=None, example_rows=(),
                               example_values=values, message=text)


# ---------------------------------------------------------------------- helpers


@contextmanager
def _quiet_gx() -> Iterator[None]:
    """GX logs and warns freely (and its log lines can quote data); keep a successful run silent."""
    # Some GX modules pin their own logger level, so the parent's level is not enough: stop propagation at the
    # parent and give it a NullHandler (which also keeps logging's last-resort stderr handler out).
    gx_logger = logging.getLogger("great_expectations")
    swallow = logging.NullHandler()
    previous_propagate = gx_logger.propagate
    gx_logger.addHandler(swallow)
    gx_logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        gx_logger.removeHandler(swallow)
        gx_logger.propagate = previous_propagate


def _raised(validation_result: Any) -> bool:
    """GX reports exceptions either at the top of exception_info or nested per metric."""
    info = validation_result.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(value, dict) and value.get("raised_exception") for value in info.values())


def _kwargs(entry: Any) -> dict[str, Any]:
    kwargs = entry.get("kwargs") if isinstance(entry, dict) else None
    return kwargs if isinstance(kwargs, dict) else {}


def _expectation_type(entry: Any) -> str:
    kind = entry.get("type") if isinstance(entry, dict) else None
    return kind if isinstance(kind, str) and kind else "(unknown expectation)"


def _columns_of(entry: Any) -> list[str]:
    kwargs = _kwargs(entry)
    columns = [kwargs[key] for key in _COLUMN_KWARGS if isinstance(kwargs.get(key), str)]
    column_list = kwargs.get("column_list")
    if isinstance(column_list, list):
        columns += [column for column in column_list if isinstance(column, str)]
    return columns


def _column_label(entry: Any) -> str | None:
    columns = _columns_of(entry)
    return ", ".join(columns) if columns else None


def _describe(entry: Any) -> str:
    columns = _columns_of(entry)
    if not columns:
        return _expectation_type(entry)
    noun = "column" if len(columns) == 1 else "columns"
    return f"{_expectation_type(entry)} on {noun} " + ", ".join(f"'{column}'" for column in columns)


def _short(value: Any, limit: int = 40) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
