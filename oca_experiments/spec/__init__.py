"""Spec stage: frozen models for the study config and preregistered hypothesis specs, and their YAML loading."""

from ._load import HYPOTHESES_DIR, STUDY_FILE, SpecFile, load_hypotheses, load_study_config, read_yaml
from ._models import (
    Construction,
    Design,
    EstimatorSpec,
    HypothesisSpec,
    Inference,
    Outcome,
    SourceConfig,
    StudyConfig,
)

__all__ = [
    "Construction",
    "Design",
    "EstimatorSpec",
    "HYPOTHESES_DIR",
    "HypothesisSpec",
    "Inference",
    "Outcome",
    "STUDY_FILE",
    "SourceConfig",
    "SpecFile",
    "StudyConfig",
    "load_hypotheses",
    "load_study_config",
    "read_yaml",
]
