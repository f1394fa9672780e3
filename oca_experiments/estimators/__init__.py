"""Estimate stage: the estimator registry and the implementations it points to.

``REGISTRY`` (``registry.py``) holds one ``EstimatorRecord`` per estimator: options model, SE types, design fields,
capabilities and the fitter. ``CATALOG`` and ``FITTERS`` are read-only views of it kept for existing callers.
Other packages import from here only (never a ``_`` module): the few-cluster rule and bootstrap weights for design
diagnosis, the attrition analysis for the summaries.
"""

from collections.abc import Iterator, Mapping

from ._attrition import attrition_analysis, lee_bounds, unit_table_for
from ._catalog import SE_TYPES, Contrast, SurveyDiDOptions
from ._cluster_inference import bootstrap_weights, enumerable, enumerated_weights
from ._engagement import fit_its, fit_staggered_did
from ._exposure_response import LinkedFrame
from ._inference import ClusterCounts, few_cluster_decision
from ._its import fit_counterfactual, fit_intervention
from ._its_batch import compiled_worth_it as compiled_its_worth_it
from ._its_batch import start_precompile as precompile_its
from ._schema import estimator_schema, with_estimator_options
from ._survey_did import NotTestable, fit_survey_did
from ._twfe import fit_twfe
from ._weights import check_weight_margins
from .registry import CAPABILITIES, REGISTRY, EstimatorRecord, Fitter, get_record, register, unregister

#: The registry under its former name (name -> record).
CATALOG = REGISTRY
#: The record type under its former name.
EstimatorInfo = EstimatorRecord


class _FitterView(Mapping[str, Fitter]):
    """name -> fitter of every available estimator, read live from the registry."""

    def __getitem__(self, name: str) -> Fitter:
        fitter = REGISTRY[name].fitter
        if fitter is None:
            raise KeyError(name)
        return fitter

    def __iter__(self) -> Iterator[str]:
        return (name for name, record in REGISTRY.items() if record.fitter is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


FITTERS: Mapping[str, Fitter] = _FitterView()

__all__ = ["CAPABILITIES", "CATALOG", "ClusterCounts", "FITTERS", "REGISTRY", "SE_TYPES", "Contrast", "EstimatorInfo",
           "EstimatorRecord", "Fitter", "LinkedFrame", "NotTestable", "SurveyDiDOptions", "attrition_analysis", "bootstrap_weights",
           "check_weight_margins",
           "enumerable", "enumerated_weights", "few_cluster_decision", "fit_its", "fit_staggered_did",
           "fit_survey_did", "fit_twfe", "fit_counterfactual", "fit_intervention", "estimator_schema",
           "with_estimator_options", "get_record", "lee_bounds", "register", "unit_table_for", "unregister",
           "precompile_its", "compiled_its_worth_it"]
