"""Errors raised by oca_experiments, one subclass per pipeline stage.

::

    OcaError                      root; every error oca raises on purpose
     ├── SpecError                a hypothesis spec or study config is invalid     (file, field)
     ├── PreregistrationError     locks or deviations do not hold                  (spec_id, field)
     ├── DataError                a data file cannot be read or lacks a column     (file, column, row)
     ├── ContractError            a data contract failed or could not be run       (source, suite, failures)
     ├── EstimationError          an estimator could not produce a result          (hypothesis_id)
     │    ├── NotTestable         the data cannot test the hypothesis as registered
     │    └── NotEstimable        the data cannot support the Bayesian model as registered
     ├── ReportError              a report could not be built                      (path)
     ├── OutputError              the output folder cannot be written, or another run holds it  (path)
     └── DesignInputError         a design-diagnosis parameter or option is invalid (option)

Every message is one line that says what was seen, what was expected and how to fix it.
Messages never carry data values: only file names, column names, counts and row numbers, because
survey data is sensitive personal data.

The CLI maps each class to an exit code (see ``EXIT_CODES``); bad input exits with 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "OcaError",
    "SpecError",
    "PreregistrationError",
    "DataError",
    "ContractError",
    "EstimationError",
    "ReportError",
    "OutputError",
    "EXIT_CODES",
]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class OcaError(Exception):
    """Root of every error oca raises on purpose. ``str(err)`` is a single line."""

    exit_code: int = 2
    #: The attribute that locates the error, for the classes located by one name (a path, an option, an id).
    located_by: ClassVar[str | None] = None

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = _one_line(message)
        self.fix = _one_line(fix) if fix else None
        super().__init__(self.message)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        return text

    def location(self) -> str:
        return (getattr(self, self.located_by, None) or "") if self.located_by else ""

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self)}


class SpecError(OcaError):
    """A hypothesis spec or the study config is invalid (bad YAML, unknown key, wrong type, bad reference)."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 fix: str | None = None) -> None:
        self.file = file
        self.field = field
        super().__init__(message, fix=fix)

    def location(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join(parts)


class PreregistrationError(OcaError):
    """The registry lock or the deviations log does not hold."""

    def __init__(self, message: str, *, spec_id: str | None = None, field: str | None = None,
                 fix: str | None = None) -> None:
        self.spec_id = spec_id
        self.field = field
        super().__init__(message, fix=fix)

    def location(self) -> str:
        parts = [p for p in (self.spec_id, self.field) if p]
        return ": ".join(parts)


class DataError(OcaError):
    """A data file cannot be read, or lacks what a spec needs. Never carries cell values."""

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None, fix: str | None = None) -> None:
        self.file = file
        self.column = column
        self.row = row
        super().__init__(message, fix=fix)

    def location(self) -> str:
        parts = [p for p in (self.file,) if p]
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        return ": ".join(parts)


class ContractError(OcaError):
    """A data contract failed, or could not be evaluated (which counts as failing: contracts fail closed)."""

    def __init__(self, message: str, *, source: str | None = None, suite: str | None = None,
                 failures: Sequence[Any] = (), fix: str | None = None) -> None:
        self.source = source
        self.suite = suite
        self.failures = tuple(failures)
        super().__init__(message, fix=fix)

    def location(self) -> str:
        parts = []
        if self.suite:
            parts.append(f"suite {self.suite}")
        if self.source:
            parts.append(f"source '{self.source}'")
        return ": ".join(parts)


class EstimationError(OcaError):
    """An estimator could not produce a result for a hypothesis."""

    exit_code = 3
    located_by = "hypothesis_id"

    def __init__(self, message: str, *, hypothesis_id: str | None = None, fix: str | None = None) -> None:
        self.hypothesis_id = hypothesis_id
        super().__init__(message, fix=fix)


class NotTestable(EstimationError):
    """The data cannot test the hypothesis as registered (e.g. an arm without clusters)."""


class NotEstimable(EstimationError):
    """The data cannot support the model as registered (raised before any compilation or sampling)."""


class ReportError(OcaError):
    """A report could not be built or verified."""

    exit_code = 4
    located_by = "path"

    def __init__(self, message: str, *, path: str | None = None, fix: str | None = None) -> None:
        self.path = path
        super().__init__(message, fix=fix)


class DesignInputError(OcaError):
    """A design parameter or diagnosis option is invalid; names the option and how to fix it."""

    located_by = "option"

    def __init__(self, message: str, *, option: str | None = None, fix: str | None = None) -> None:
        self.option = option
        super().__init__(message, fix=fix)


class OutputError(OcaError):
    """The output folder cannot be used: not a folder, not writable, full, or another run is writing to it.

    Checked before any estimation; a failure while writing leaves the previous outputs as they were."""

    exit_code = 4
    located_by = "path"

    def __init__(self, message: str, *, path: str | None = None, fix: str | None = None) -> None:
        self.path = path
        super().__init__(message, fix=fix)


#: Exit codes of the ``oca`` CLI, per failure class. 0 is success; 1 means a check ran and failed.
EXIT_CODES: dict[str, int] = {
    "success": 0,
    "check_failed": 1,
    "SpecError": 2,
    "PreregistrationError": 2,
    "DataError": 2,
    "ContractError": 2,
    "EstimationError": 3,
    "ReportError": 4,
    "OutputError": 4,
    # `oca check` (the first failing class in this order decides) and `oca report verify`; see docs/ci-github-actions.md
    "check_spec_changed": 10,  # a locked spec changed without a declared deviation
    "check_contract_failed": 11,  # a data contract failed
    "check_not_rerun": 12,  # a confirmatory hypothesis did not rerun to an estimate
    "check_result_drifted": 13,  # a result left the committed expected-results file's tolerances
    "check_diagnostics_failed": 14,  # a Bayesian model failed its diagnostics gate
    "verify_mismatch": 15,  # `oca report verify`: the rebuild differs from the recorded run
    "internal_error": 70,
}
