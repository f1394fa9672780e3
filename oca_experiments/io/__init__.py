"""Load stage: read one data file (CSV/TSV/TXT, XLSX, Parquet) into a DataFrame, and write CSV/XLSX safely.

See ``_readers`` for the reading conventions and ``_writers`` for formula-injection escaping.
"""

from oca_experiments.io._readers import ReaderOptions, file_sha256, read_table, reader_options
from oca_experiments.io._writers import escape_formula, escape_formulas, safe_csv_text, write_table

__all__ = ["ReaderOptions", "escape_formula", "escape_formulas", "file_sha256", "read_table", "reader_options",
           "safe_csv_text", "write_table"]
