"""Summarize stage: verdicts from the registered decision rule."""

from ._verdict import VERDICTS, Verdict, frequentist_verdict

__all__ = ["VERDICTS", "Verdict", "frequentist_verdict"]
