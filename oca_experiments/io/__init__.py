"""Load stage: read one data file (CSV/TSV/TXT, XLSX, Parquet) into a DataFrame. See ``_readers`` for conventions."""

from oca_experiments.io._readers import ReaderOptions, file_sha256, read_table

__all__ = ["ReaderOptions", "file_sha256", "read_table"]
