"""oca_experiments: preregistered campaign-impact experiments for the Online Community Accelerator.

Typical use in a notebook::

    import oca_experiments as oca
    study = oca.load_study("path/to/study")
    run = study.run({"survey": "survey.csv", "engagement": "engagement.csv", "community": "community.csv"})
    run.tidy()

Errors: see ``oca_experiments.errors`` for the exception tree (one root, ``OcaError``).
"""

from ._version import __version__
from .errors import (  # noqa: E402
    ContractError,
    DataError,
    EstimationError,
    OcaError,
    PreregistrationError,
    ReportError,
    SpecError,
)
from typing import TYPE_CHECKING

# The heavy names (results, demo, api -> runner -> estimators -> scipy.stats) load on first use, so that
# `import oca_experiments.cli` and `oca --help` stay fast (issue 21). Type checkers see the eager imports.
_LAZY_EXPORTS = {
    "EstimateResult": ".results",
    "HypothesisResult": ".results",
    "RunResult": ".results",
    "ValidationResult": ".results",
    "DemoFiles": ".demo",
    "generate_demo": ".demo",
    "Study": ".api",
    "demo_study_dir": ".api",
    "load_study": ".api",
    "run_demo": ".api",
    "run_to_directory": ".api",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import Study, demo_study_dir, load_study, run_demo, run_to_directory
    from .demo import DemoFiles, generate_demo
    from .results import EstimateResult, HypothesisResult, RunResult, ValidationResult


def __getattr__(name: str) -> object:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))


__all__ = [
    "ContractError",
    "DataError",
    "DemoFiles",
    "EstimateResult",
    "EstimationError",
    "HypothesisResult",
    "OcaError",
    "PreregistrationError",
    "ReportError",
    "RunResult",
    "SpecError",
    "Study",
    "ValidationResult",
    "__version__",
    "demo_study_dir",
    "generate_demo",
    "load_study",
    "run_demo",
    "run_to_directory",
]
