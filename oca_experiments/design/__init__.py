"""Design diagnosis before fielding: power, MDE, bias, coverage, type-S and type-M by simulation.

A data-generating model derived from the spec (clusters, respondents, ICC, effect, attrition; optional Likert
answers) simulates many surveys; each is analysed with the hypothesis' **registered** estimator and inference
rule. Replicates are solved in batches (closed form, checked against the registered fitter) and can run in local
processes or on a Dask cluster with identical results for a seed.

Typical use::

    from oca_experiments import design
    diagnosis = design.diagnose("path/to/study", "h1_horizontal_trust", design={"clusters": 24, "respondents": 1200})
    diagnosis.tidy()                       # power, bias, RMSE, coverage, type-S, type-M with Monte Carlo SEs
    diagnosis.mde["value"]                 # MDE at the registered (or 80%) power
    design.save_diagnosis(diagnosis, "study/design/h1_horizontal_trust")   # diagnosis.json + power_curve.png
"""

from ._analytic import analytic_mde, analytic_power, analytic_std_error
from ._diagnose import CHUNK_SIZE, DEFAULT_SEED, DEFAULT_SIMS, Diagnosis, diagnose, find_task
from ._executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from ._output import (
    DIAGNOSIS_FILE,
    PLOT_FILE,
    SavedDiagnosis,
    default_output_dir,
    load_diagnosis,
    power_justification,
    render_power_curve,
    save_diagnosis,
)
from ._parameters import DesignInputError, DesignParameters, LikertScale

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_SEED",
    "DEFAULT_SIMS",
    "DIAGNOSIS_FILE",
    "DaskExecutor",
    "DesignInputError",
    "DesignParameters",
    "Diagnosis",
    "LikertScale",
    "PLOT_FILE",
    "ProcessExecutor",
    "SavedDiagnosis",
    "SerialExecutor",
    "analytic_mde",
    "analytic_power",
    "analytic_std_error",
    "default_output_dir",
    "diagnose",
    "find_task",
    "load_diagnosis",
    "make_executor",
    "power_justification",
    "render_power_curve",
    "save_diagnosis",
]
