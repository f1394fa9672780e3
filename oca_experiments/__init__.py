"""oca_experiments: preregistered campaign-impact experiments for the Online Community Accelerator.

Typical use in a notebook::

    import oca_experiments as oca
    study = oca.load_study("path/to/study")
    run = study.run({"survey": "survey.csv", "engagement": "engagement.csv"})
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
from .results import EstimateResult, HypothesisResult, RunResult, ValidationResult  # noqa: E402
from .demo import DemoFiles, generate_demo  # noqa: E402
from .api import Study, demo_study_dir, load_study, run_demo, run_to_directory  # noqa: E402

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
