"""Summarize stage: verdicts from the registered decision rule, multiple testing, disaggregation and small-cell
suppression; and the words of the trainer summaries (``trainer_summary``, imported on first use: they need babel;
``report.write_summaries`` renders them)."""


from typing import Any

from ._bayes_verdict import UNRELIABLE, bayesian_verdict
from ._verdict import EQUIVALENCE_READINGS, VERDICTS, Verdict, equivalence_reading, frequentist_verdict
from ._multiple import adjust_families, benjamini_hochberg, holm, romano_wolf
from ._disaggregate import hypothesis_extras, suppress_table, suppression_plan

__all__ = ["UNRELIABLE", "bayesian_verdict", "EQUIVALENCE_READINGS", "VERDICTS", "Verdict", "equivalence_reading",
           "frequentist_verdict", "adjust_families", "benjamini_hochberg", "holm", "romano_wolf", "hypothesis_extras",
           "suppress_table", "suppression_plan", "LANGUAGES", "ResultRecord", "SummaryPage", "SummaryPicture",
           "TrainerSummary", "load_translations", "study_words", "trainer_summary"]

_PLAIN = ("LANGUAGES", "ResultRecord", "SummaryPage", "SummaryPicture", "TrainerSummary", "load_translations",
          "study_words", "trainer_summary")


def __getattr__(name: str) -> Any:
    if name in _PLAIN:  # trainer summaries load babel; a run does not need them
        from . import _plain

        return getattr(_plain, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
