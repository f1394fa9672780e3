"""Load stage: read one data file (CSV/TSV/TXT, XLSX, Parquet) into a DataFrame, and write CSV/XLSX safely.

See ``_readers`` for the reading conventions and ``_writers`` for formula-injection escaping.
"""

from oca_experiments.io._groups import closest_columns, missing_column_error, strip_group_prefixes
from oca_experiments.io._readers import ReaderOptions, file_sha256, read_table, reader_options
from oca_experiments.io._xlsform import FormQuestion, XLSForm, read_xlsform
from oca_experiments.io._writers import escape_formula, escape_formulas, safe_csv_text, write_table

__all__ = ["FormQuestion", "ReaderOptions", "XLSForm", "closest_columns", "escape_formula", "escape_formulas",
           "file_sha256", "missing_column_error", "read_table", "reader_options", "read_xlsform", "safe_csv_text",
           "strip_group_prefixes", "write_table"]
