"""Summarize stage: verdicts from the registered decision rule."""

from ._bayes_verdict import UNRELIABLE, bayesian_verdict
from ._verdict import EQUIVALENCE_READINGS, VERDICTS, Verdict, equivalence_reading, frequentist_verdict
from ._multiple import adjust_families, benjamini_hochberg, holm, romano_wolf
from ._disaggregate import hypothesis_extras, suppress_table, suppression_plan

__all__ = ["UNRELIABLE", "bayesian_verdict", "EQUIVALENCE_READINGS", "VERDICTS", "Verdict", "equivalence_reading",
           "frequentist_verdict", "adjust_families", "benjamini_hochberg", "holm", "romano_wolf", "hypothesis_extras",
           "suppress_table", "suppression_plan"]
