"""Estimate stage: the estimator catalogue and the implementations that are available.

``CATALOG`` lists every estimator name a spec may use, with its options model and availability. ``FITTERS`` maps
the available ones to their implementation. Planned estimators are known names without a fitter: their hypotheses
are reported as "not yet estimable".
"""

from ._catalog import CATALOG, SE_TYPES, Contrast, EstimatorInfo, SurveyDiDOptions
from ._survey_did import NotTestable, fit_survey_did

FITTERS = {"survey_did": fit_survey_did}

__all__ = ["CATALOG", "FITTERS", "SE_TYPES", "Contrast", "EstimatorInfo", "NotTestable", "SurveyDiDOptions",
           "fit_survey_did"]
