"""Load stage: read one data file (CSV/TSV/TXT, XLSX, Parquet) into a DataFrame, and write CSV/XLSX safely.

See ``_readers`` for the reading conventions and ``_writers`` for formula-injection escaping.
"""

from oca_experiments.io._dates import (PERIODS, SPACING_WORD, holds_whole_numbers, native_spacing, period_codes,
                                       period_label, read_time, spacing_problem)
from oca_experiments.io._groups import closest_columns, missing_column_error, strip_group_prefixes
from oca_experiments.io._readers import ReaderOptions, file_sha256, read_table, reader_options
from oca_experiments.io._xlsform import FormLabels, FormQuestion, XLSForm, read_form_labels, read_xlsform
from oca_experiments.io._writers import escape_formula, escape_formulas, safe_csv_text, write_table

__all__ = ["PERIODS", "SPACING_WORD", "FormLabels", "FormQuestion", "ReaderOptions", "XLSForm", "closest_columns", "escape_formula",
           "escape_formulas", "file_sha256", "holds_whole_numbers", "missing_column_error", "native_spacing",
           "period_codes", "period_label", "read_form_labels", "read_table", "read_time", "read_xlsform", "reader_options",
           "safe_csv_text", "spacing_problem", "strip_group_prefixes", "write_table"]
