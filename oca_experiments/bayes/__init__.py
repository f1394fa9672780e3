"""Bayesian models of the Online Community Accelerator's preregistered hypotheses (PyMC >= 6, nutpie, ArviZ >= 1).

- ``build_did_model``: hierarchical DiD across CSOs with community random intercepts (collapsed likelihood);
- ``build_ordinal_model``: cumulative-logit DiD for a single Likert item;
- ``build_its_model``: structural time series (local level, day-of-week, regressor) with a counterfactual;
- ``density_for``: the same models as oca's numba log densities (``_kernels.py``, tested equal to PyMC's), which
  nutpie samples by default (``SamplerSettings.backend = "kernel"``): compiled once per installation, not per run;
- ``sample_model``: nutpie sampling with a fixed seed (kernel or PyMC backend), compiled-code and draws caches;
- ``check_diagnostics``: the R-hat / ESS / divergences gate; ``summarize_draws``: decision outputs.

Importing this package does not import PyMC: model builders and sampling import it when called. The estimators
``bayes_did``, ``ordinal_did`` and ``bayes_its`` (``oca_experiments/estimators/_bayes.py``) use these pieces; see
docs/bayesian.md for the models, priors, decision rule and validation (SBC, agreement with the frequentist DiD).
"""

import importlib
from typing import Any

from ._data import (DidData, ItsData, NotEstimable, OrdinalData, did_from_units, prepare_did, prepare_its,
                    prepare_ordinal)
from ._decision import eti, hdi, summarize_draws
from ._density import density_for
from ._diagnostics import DiagnosticsReport, Thresholds, check_diagnostics
from ._models import (
    LATENT_SD,
    build_did_model,
    build_its_model,
    build_ordinal_model,
    did_model_data,
    its_model_data,
    ordinal_model_data,
)
from ._priors import DID_PRIORS, ITS_PRIORS, ORDINAL_PRIORS, PRIORS_BY_ESTIMATOR, prior_scales, prior_table
from ._sampling import (
    MODEL_CODE_VERSION, FitOutput, SamplerSettings, cache_dir, compile_model, draws_key, sample_model,
)
from ._sampling import _versions as library_versions
from ._warmup import start as start_kernel_warmup

#: Imported on first use (numpy-only effects, matplotlib check plots): name -> private module.
_LAZY = {name: "_effects" for name in ("did_derived", "did_replicates", "ordinal_derived", "ordinal_replicates",
                                        "its_effects")}
_LAZY.update({name: "_plots" for name in ("did_ppc_png", "did_prior_png", "ordinal_ppc_png", "ordinal_prior_png",
                                          "its_ppc_png", "its_prior_png")})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DID_PRIORS", "DiagnosticsReport", "DidData", "FitOutput", "ITS_PRIORS", "ItsData", "LATENT_SD", "NotEstimable",
    "ORDINAL_PRIORS", "OrdinalData", "PRIORS_BY_ESTIMATOR", "SamplerSettings", "Thresholds", "build_did_model",
    "MODEL_CODE_VERSION", "build_its_model", "build_ordinal_model", "cache_dir", "check_diagnostics", "compile_model",
    "density_for",
    "did_from_units",
    "did_model_data", "draws_key", "eti", "hdi", "its_model_data", "ordinal_model_data", "prepare_did",
    "prepare_its", "prepare_ordinal", "prior_scales", "prior_table", "sample_model", "summarize_draws",
    "library_versions", "start_kernel_warmup", *sorted(_LAZY),
]
