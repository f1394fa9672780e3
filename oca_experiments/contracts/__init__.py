"""Contract stage: run a Great Expectations 1.x suite on a loaded source; fails closed, never leaks sensitive values.

``load_suite`` raises ContractError for a suite file that cannot be loaded; ``run_contract`` returns a
``ContractResult`` with ``passed=False`` for every other problem (see ``_gx`` for the full list).
Great Expectations itself is imported only when a contract runs, because importing it takes seconds.

Beyond the suites, ``assess_task`` checks each hypothesis' registered testability requirements (``_testability``),
and ``_validation`` turns a validation into ``validation.json``, an HTML page and the one-line CLI message.
"""

from oca_experiments.contracts._draft import Roles, draft_suite, guess_roles, sensitive_guess
from oca_experiments.contracts._gx import run_contract
from oca_experiments.contracts._model import (
    ContractFailure,
    ContractResult,
    ContractSuite,
    load_suite,
    sensitive_columns_of,
)
from oca_experiments.contracts._testability import (
    Requirements,
    TestabilityCheck,
    TestabilityResult,
    assess_task,
    assess_testability,
    resolve_requirements,
)
from oca_experiments.contracts._validation import (
    FailedExpectation,
    SourceValidation,
    TestabilityRow,
    ValidationReport,
    contract_problem,
    validation_problems,
    validation_report,
)

__all__ = ["ContractFailure", "ContractResult", "ContractSuite", "Requirements", "Roles", "TestabilityCheck",
           "TestabilityResult", "assess_task", "assess_testability", "contract_problem", "draft_suite",
           "guess_roles", "load_suite", "resolve_requirements", "run_contract", "sensitive_columns_of",
           "sensitive_guess", "validation_problems", "validation_report", "FailedExpectation", "SourceValidation",
           "TestabilityRow", "ValidationReport"]
