"""Estimate stage: the estimator catalogue and the implementations that are available.

``CATALOG`` lists every estimator name a spec may use, with its options model and availability. ``FITTERS`` maps
the available ones to their implementation. Planned estimators are known names without a fitter: their hypotheses
are reported as "not yet estimable".
"""

from ._catalog import CATALOG, SE_TYPES, Contrast, EstimatorInfo, SurveyDiDOptions
from ._bayes import fit_bayes_did, fit_bayes_its, fit_ordinal_did
from ._engagement import fit_its, fit_staggered_did
from ._survey_did import NotTestable, fit_survey_did
from ._ancova import fit_ancova
from ._gain import fit_knowledge_gain, fit_share
from ._synthetic import check_synthetic_design, fit_synthetic_control, fit_synthetic_did

FITTERS = {"survey_did": fit_survey_did, "ancova": fit_ancova, "knowledge_gain": fit_knowledge_gain,
           "share": fit_share, "bayes_did": fit_bayes_did, "ordinal_did": fit_ordinal_did,
           "bayes_its": fit_bayes_its, "staggered_did": fit_staggered_did, "its": fit_its,
           "synthetic_did": fit_synthetic_did, "synthetic_control": fit_synthetic_control}

#: Estimator-specific design requirements checked on the data's structure before estimation (validate and run):
#: f(rows after design.subset, spec, options) -> reason it cannot be estimated, or None.
DESIGN_CHECKS = {"synthetic_did": check_synthetic_design, "synthetic_control": check_synthetic_design}

__all__ = ["CATALOG", "DESIGN_CHECKS", "FITTERS", "SE_TYPES", "Contrast", "EstimatorInfo", "NotTestable",
           "SurveyDiDOptions",
           "fit_survey_did", "fit_staggered_did", "fit_its"]
