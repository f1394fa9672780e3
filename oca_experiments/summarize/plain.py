"""Public face of the trainer summaries (kept apart from ``summarize/__init__`` so that Babel loads only when used)."""

from oca_experiments.summarize._plain import LANGUAGES, PlainPage, load_translations, plain_pages, write_summaries

__all__ = ["LANGUAGES", "PlainPage", "load_translations", "plain_pages", "write_summaries"]
