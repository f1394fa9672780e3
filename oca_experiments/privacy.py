"""Pseudonymisation: replace ID columns with keyed hashes (HMAC-SHA-256) before data leaves the field team.

The same ID gets the same pseudonym in every file and wave (so panels still link), and nobody without the key can
recompute it from a guessed ID. A plain hash could be reversed by hashing every possible ID (``R00001`` …
``R99999`` takes milliseconds), so oca never falls back to one: without a key it stops.

The key comes from the environment variable ``OCA_PSEUDONYM_KEY`` or from a key file outside any repository (a key
committed next to the data it protects protects nothing). Keep it where the raw data lives, never with the outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from oca_experiments.errors import SpecError
from oca_experiments.io import missing_column_error

__all__ = ["KEY_ENV", "MIN_KEY_BYTES", "PseudonymisationSummary", "load_key", "pseudonym", "pseudonymize_frame"]

KEY_ENV = "OCA_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
_KEY_HINT = "e.g. python -c 'import secrets; print(secrets.token_hex(32))'"


def load_key(key_file: str | Path | None = None, *, environ: dict[str, str] | None = None) -> bytes:
    """The key from ``key_file`` (outside any git repository) or else from ``$OCA_PSEUDONYM_KEY``."""
    env = os.environ if environ is None else environ
    if key_file is not None:
        path = Path(key_file).expanduser()
        if not path.is_file():
            raise SpecError("the key file does not exist", file=path.name, field="--key-file",
                            fix="pass the path of the file that holds the pseudonymisation key")
        repository = _enclosing_repository(path)
        if repository is not None:
            raise SpecError(f"the key file is inside the repository at {repository}", file=path.name,
                            field="--key-file",
                            fix="keep the key outside every repository (e.g. in your home folder) and pass that path")
        key = path.read_bytes().strip()
        source = f"key file {path.name}"
    else:
        text = env.get(KEY_ENV)
        if not text:
            raise SpecError(f"no pseudonymisation key: {KEY_ENV} is not set and no --key-file was given",
                            field=KEY_ENV,
                            fix=f"set {KEY_ENV} to a long random secret ({_KEY_HINT}) or pass --key-file PATH; "
                                "oca never falls back to an unkeyed hash")
        key = text.strip().encode("utf-8")
        source = KEY_ENV
    if len(key) < MIN_KEY_BYTES:
        raise SpecError(f"the pseudonymisation key in {source} has {len(key)} bytes; at least {MIN_KEY_BYTES} are "
                        "needed", field="--key-file" if key_file is not None else KEY_ENV,
                        fix=f"use a long random secret ({_KEY_HINT})")
    return key


def _enclosing_repository(path: Path) -> Path | None:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def pseudonym(value: str, key: bytes) -> str:
    """HMAC-SHA-256 of the ID's text (surrounding spaces ignored), as 64 hex characters."""
    return hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PseudonymisationSummary:
    """Counts only: what was replaced and dropped, never a value."""

    rows: int
    distinct_ids: Mapping[str, int]
    dropped: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "distinct_ids", MappingProxyType(dict(self.distinct_ids)))


def pseudonymize_frame(frame: pd.DataFrame, id_columns: Sequence[str], key: bytes, *, drop: Sequence[str] = (),
                       file: str | None = None) -> tuple[pd.DataFrame, PseudonymisationSummary]:
    """A new frame with each ``id_columns`` value replaced by its pseudonym and ``drop`` columns removed.

    Missing IDs stay missing. Raises DataError naming the file and column when a column is absent.
    """
    if not id_columns:
        raise SpecError("no ID column to pseudonymise", field="--id-column",
                        fix="name each ID column, e.g. --id-column respondent_id")
    present = list(map(str, frame.columns))
    for option, columns in (("--id-column", id_columns), ("--drop", drop)):
        for column in columns:
            if column not in frame.columns:
                raise missing_column_error(column, present, file=file, needed_by=f"{option} names it",
                                           fix=f"give {option} a column that the file has")
    overlap = sorted(set(id_columns) & set(drop))
    if overlap:
        raise SpecError(f"column '{overlap[0]}' is both pseudonymised and dropped", field="--drop",
                        fix="give each column either --id-column or --drop")
    result = frame.drop(columns=list(drop))
    distinct = {}
    for column in id_columns:
        values = result[column]
        distinct[column] = int(values.dropna().nunique())
        result[column] = values.map(lambda v: pseudonym(str(v), key), na_action="ignore").astype("str")
    return result, PseudonymisationSummary(rows=len(frame), distinct_ids=distinct, dropped=tuple(drop))
