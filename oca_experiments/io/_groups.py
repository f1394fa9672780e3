"""Column names as field servers export them: group prefixes, meta columns, and "did you mean" for a missing name.

KoboToolbox writes a question inside a group as ``group/question`` (``trust/h_trust_1``, its default header style),
ODK Central's CSV as ``group-question`` (``trust-h_trust_1``); nested groups add more segments. Specs name the
question (``h_trust_1``), so the prefixes are stripped:

- ``kobo``: everything up to the last ``/``; ``odk_central``: everything up to the last ``-``.
- A select_multiple question's one-column-per-choice export (``grp/colours/red``) keeps the question's name in
  front of the choice (``colours/red``), as Kobo writes it without groups, when the question's own column
  (``grp/colours``) is in the file too.
- ``auto`` (the default) strips Kobo prefixes when the header looks like a Kobo export (Kobo's meta columns such
  as ``_uuid``/``_submission_time``/``_index``, or two columns under one ``group/``), and ODK Central prefixes when
  it has ODK Central's ``meta-instanceID`` or ``KEY`` and ``SubmissionDate``; ``keep`` leaves every name alone.

Two headers that would get the same name are refused (naming both), never merged or renamed silently.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

from oca_experiments.errors import DataError

GroupStyle = Literal["auto", "kobo", "odk_central", "keep"]

__all__ = ["GroupStyle", "closest_columns", "detect_group_style", "missing_column_error", "strip_group_prefixes"]

SEPARATORS = {"kobo": "/", "odk_central": "-"}
KOBO_META = frozenset({"_uuid", "_id", "_submission_time", "_index", "_validation_status", "_submitted_by",
                       "__version__", "_status", "_notes", "_tags", "_parent_index"})
ODK_CENTRAL_MARKERS = frozenset({"meta-instanceID", "KEY"})


def detect_group_style(columns: Sequence[str]) -> Literal["kobo", "odk_central", "keep"]:
    """Which server wrote this header, as far as group prefixes go (``keep``: none detected)."""
    names = set(columns)
    if ("meta-instanceID" in names or {"KEY", "SubmissionDate"} <= names) and any("-" in c for c in columns):
        return "odk_central"
    with_slash = [c for c in columns if "/" in c.strip("/")]
    if not with_slash:
        return "keep"
    if names & KOBO_META:
        return "kobo"
    groups = Counter(c.split("/", 1)[0] for c in with_slash)
    return "kobo" if groups and groups.most_common(1)[0][1] >= 2 else "keep"


def strip_group_prefixes(columns: Sequence[str], style: GroupStyle, *, file_name: str) -> list[str]:
    """The header with group prefixes removed (see the module docstring); ``keep`` returns it unchanged."""
    resolved = detect_group_style(columns) if style == "auto" else style
    if resolved == "keep":
        return list(columns)
    separator = SEPARATORS[resolved]
    leaves = {_segments(c, separator)[-1] for c in columns if _segments(c, separator)}
    renamed: list[str] = []
    for column in columns:
        parts = _segments(column, separator)
        if len(parts) < 2:
            renamed.append(column)
            continue
        name = parts[-1]
        # grp/question/choice: a select_multiple choice column whose question column is in the file too
        if len(parts) >= 3 and parts[-2] in leaves and separator.join(parts[:-1]) in columns:
            name = f"{parts[-2]}/{parts[-1]}"
        renamed.append(name)
    _refuse_collisions(columns, renamed, file_name=file_name, style=resolved)
    return renamed


def _segments(column: str, separator: str) -> list[str]:
    parts = column.split(separator)
    return parts if all(parts) else [column]  # a leading/trailing/doubled separator is not a group path


def _refuse_collisions(original: Sequence[str], renamed: Sequence[str], *, file_name: str, style: str) -> None:
    seen: dict[str, str] = {}
    for before, after in zip(original, renamed, strict=True):
        if after in seen:
            raise DataError(f"the {style} group prefixes cannot be stripped: '{seen[after]}' and '{before}' would "
                            f"both become '{after}'", file=file_name, column=after,
                            fix="give the two questions different names in the form, or pin group_prefixes: keep "
                                "in the reader options and name the full columns in the specs")
        seen[after] = before


def closest_columns(name: str, columns: Iterable[str], *, limit: int = 3) -> list[str]:
    """Columns a user probably meant by a missing ``name``: same question under a group prefix first, then the
    closest spellings (case-insensitive)."""
    present = list(dict.fromkeys(str(c) for c in columns))
    suffixed = [c for c in present if c != name and (c.endswith(f"/{name}") or c.endswith(f"-{name}")
                                                     or c.lower() == name.lower())]
    lowered = {c.lower(): c for c in present}
    spelled = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.75)]
    return list(dict.fromkeys(suffixed + spelled))[:limit]


def missing_column_error(column: str, present: Iterable[str], *, file: str | None, needed_by: str,
                         fix: str = "rename the column in the data or name the right column in the spec") -> DataError:
    """One line for a column a spec (or a command's option) names but the file lacks: the closest columns first
    ("did you mean"), then every column of the file in file order. The list is never cut: a cut list hid the
    group-prefixed names (``trust/h_trust_1``) that are usually what was meant, and column names are not data."""
    shown = list(dict.fromkeys(str(c) for c in present))
    close = closest_columns(column, shown)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    if any(c.endswith((f"/{column}", f"-{column}")) for c in close):
        fix += "; Kobo/ODK group prefixes are stripped unless the reader pins group_prefixes: keep"
    return DataError(f"column not found; {needed_by}; {hint}columns in the file: {', '.join(shown)}", file=file,
                     column=column, fix=fix)
