"""Load stage: read one data file (CSV/TSV/TXT, XLSX, Parquet) into a DataFrame, and write CSV/XLSX safely.

See ``_readers`` for the reading conventions and ``_writers`` for formula-injection escaping.
"""

from oca_experiments.io._dates import (PERIODS, SPACING_WORD, holds_whole_numbers, native_spacing, period_codes,
                                       period_label, read_time, spacing_problem)
from oca_experiments.io._readers import ReaderOptions, file_sha256, read_table, reader_options
from oca_experiments.io._writers import escape_formula, escape_formulas, safe_csv_text, write_table

__all__ = ["PERIODS", "SPACING_WORD", "ReaderOptions", "escape_formula", "escape_formulas", "file_sha256",
           "holds_whole_numbers", "native_spacing", "period_codes", "period_label", "read_table", "read_time",
           "reader_options", "safe_csv_text", "spacing_problem", "write_table"]
