"""Raw engagement exports -> one row per page and day in the Asia/Bishkek calendar, with DuckDB (out of core).

Two kinds of input:

- ``posts``: one row per post (``page_id, post_id, created_at, reactions, comments, shares, hostile_comments``);
  a post re-exported later appears again with grown counts, so duplicates of one ``(page_id, post_id)`` keep the
  row with the most interactions (then the latest timestamp; exact ties: the most reactions, then comments,
  shares, hostile comments) and the others are counted as removed.
- ``daily``: daily page metrics (``page_id, date, posts, reactions, comments, shares, followers,
  hostile_comments``); identical repeated rows are removed and counted, two different rows for the same page-day
  are an error (which one is right cannot be known).

Timestamps carrying an offset (``...Z``, ``+06:00``) are converted exactly; naive timestamps are read as
``naive_timestamps`` says (``"utc"`` or ``"local"``, i.e. already Asia/Bishkek) and the choice is recorded. A day is
assigned in the Asia/Bishkek calendar (UTC+6), so a post at 20:00 UTC belongs to the next local day.

Days are never invented: a page-day without posts (``posts`` input) or without a row (``daily`` input) is absent
from the panel, and runs of absent days inside a page's observed span are reported as gaps. The derived metrics
are missing (not zero) where their denominator is zero or unknown.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._progress import step
from ..errors import DataError

__all__ = ["IngestReport", "DailyPanel", "build_daily_panel", "derive_metrics", "LOCAL_TIMEZONE"]

LOCAL_TIMEZONE = "Asia/Bishkek"
POST_COLUMNS = ("page_id", "post_id", "created_at", "reactions", "comments", "shares", "hostile_comments")
DAILY_COLUMNS = ("page_id", "date", "posts", "reactions", "comments", "shares", "followers", "hostile_comments")
COUNT_COLUMNS = ("reactions", "comments", "shares", "hostile_comments")


@dataclass(frozen=True)
class IngestReport:
    """What ingest saw and did; JSON-ready via ``to_dict``."""

    kind: str
    rows_read: int
    duplicates_removed: int
    rows_out: int
    pages: int
    days: int
    naive_timestamps: str
    gaps: tuple[dict[str, Any], ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_gaps(self) -> int:
        return len(self.gaps)

    @property
    def gap_days(self) -> int:
        return int(sum(g["days"] for g in self.gaps))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows_read": self.rows_read, "duplicates_removed": self.duplicates_removed,
                "rows_out": self.rows_out, "pages": self.pages, "days": self.days,
                "naive_timestamps": self.naive_timestamps, "n_gaps": self.n_gaps, "gap_days": self.gap_days,
                "gaps": [dict(g) for g in self.gaps], "counts": dict(self.counts)}


@dataclass(frozen=True)
class DailyPanel:
    """The page x day panel (``frame``) and the ingest report."""

    frame: pd.DataFrame
    report: IngestReport


def _source_sql(con, source: str | os.PathLike[str] | pd.DataFrame, *, name: str) -> tuple[str, str]:
    """A SQL relation for the input and a display name for errors."""
    if isinstance(source, pd.DataFrame):
        con.register(name, source)
        return name, f"<DataFrame {name}>"
    path = Path(source)
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path of the export")
    text = str(path).replace("'", "''")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq") or path.is_dir():
        pattern = f"{text}/**/*.parquet" if path.is_dir() else text
        return f"read_parquet('{pattern}')", path.name
    if suffix in (".csv", ".txt", ".gz"):
        return f"read_csv('{text}', header = true, all_varchar = true)", path.name
    raise DataError(f"unsupported file type '{suffix}'", file=path.name, fix="export as CSV or Parquet")


def _check_columns(con, relation: str, needed: tuple[str, ...], mapping: Mapping[str, str], display: str) -> None:
    present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    for column in needed:
        actual = mapping.get(column, column)
        if actual not in present:
            raise DataError(f"column not found; ingest needs it as '{column}'; columns in the file: "
                            f"{', '.join(present[:30])}", file=display, column=actual,
                            fix=f"rename the column or pass columns={{'{column}': '<name in the file>'}}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _local_timestamp_sql(column: str) -> str:
    """SQL for the Asia/Bishkek wall-clock time of a text or timestamp column. Text with an offset converts
    exactly; naive text is read in the session time zone, which ``build_daily_panel`` sets from
    ``naive_timestamps`` (no per-row pattern matching: this runs on tens of millions of rows)."""
    return f"timezone('{LOCAL_TIMEZONE}', TRY_CAST(CAST({column} AS VARCHAR) AS TIMESTAMPTZ))"


def _count_sql(column: str) -> str:
    return f"TRY_CAST({column} AS BIGINT)"


def build_daily_panel(source: str | os.PathLike[str] | pd.DataFrame, *, kind: Literal["posts", "daily"] = "posts",
                      naive_timestamps: Literal["utc", "local"] = "utc", columns: Mapping[str, str] | None = None,
                      pages: pd.DataFrame | None = None, memory_limit: str = "2GB",
                      threads: int | None = None) -> DailyPanel:
    """Build the page x day panel from a raw export (CSV, Parquet, a folder of Parquet files, or a DataFrame).

    ``columns`` maps the standard names (see module docs) to the export's names. ``pages`` (optional) adds page
    attributes (e.g. ``cso_id, page_type, treated, campaign_start``) by ``page_id``. DuckDB runs with
    ``memory_limit`` and spills to a temporary folder, so exports larger than memory work.
    """
    import duckdb

    if kind not in ("posts", "daily"):
        raise DataError(f"unknown kind '{kind}'", fix="use kind='posts' (one row per post) or kind='daily'")
    if naive_timestamps not in ("utc", "local"):
        raise DataError(f"naive_timestamps must be 'utc' or 'local', not '{naive_timestamps}'",
                        fix="say how timestamps without an offset were written")
    mapping = dict(columns or {})
    spill = tempfile.mkdtemp(prefix="oca-ingest-")
    config = {"memory_limit": memory_limit, "temp_directory": spill, "preserve_insertion_order": False}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    try:
        con.execute(f"SET TimeZone = '{'UTC' if naive_timestamps == 'utc' else LOCAL_TIMEZONE}'").fetchall()
        relation, display = _source_sql(con, source, name="raw_export")
        needed = POST_COLUMNS if kind == "posts" else tuple(c for c in DAILY_COLUMNS if c != "followers")
        _check_columns(con, relation, needed, mapping, display)
        col = {c: _q(mapping.get(c, c)) for c in (POST_COLUMNS + DAILY_COLUMNS)}
        with step(f"ingest: reading the {kind} export", 1) as reading:  # one DuckDB query: start and end lines
            if kind == "posts":
                frame, counts = _posts_panel(con, relation, col, display)
            else:
                present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
                frame, counts = _daily_panel(con, relation, col, mapping.get("followers", "followers") in present,
                                             display)
            reading.advance()
    finally:
        con.close()
        _remove_tree(spill)
    frame = derive_metrics(frame)
    gaps = _gaps(frame)
    if pages is not None:
        frame = _attach_pages(frame, pages)
    report = IngestReport(kind=kind, rows_read=counts.pop("rows_read"),
                          duplicates_removed=counts.pop("duplicates_removed"), rows_out=len(frame),
                          pages=int(frame["page_id"].nunique()), days=int(frame["date"].nunique()),
                          naive_timestamps=naive_timestamps if kind == "posts" else "not applicable",
                          gaps=tuple(gaps), counts=counts)
    return DailyPanel(frame, report)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _posts_panel(con, relation: str, col: Mapping[str, str], display: str) -> tuple[pd.DataFrame,
                                                                                                dict[str, int]]:
    counts_sql = ", ".join(f"{_count_sql(col[c])} AS {c}" for c in COUNT_COLUMNS)
    con.execute(f"""
        CREATE TEMP VIEW typed AS
        SELECT CAST({col['page_id']} AS VARCHAR) AS page_id, CAST({col['post_id']} AS VARCHAR) AS post_id,
               {_local_timestamp_sql(col['created_at'])} AS local_ts,
               {col['created_at']} IS NOT NULL AS has_ts, {counts_sql}
        FROM {relation}""").fetchall()
    bad = con.execute("""SELECT count(*) FILTER (WHERE page_id IS NULL OR post_id IS NULL),
                            count(*) FILTER (WHERE local_ts IS NULL),
                            count(*) FILTER (WHERE reactions IS NULL OR comments IS NULL OR shares IS NULL
                                             OR hostile_comments IS NULL),
                            count(*) FILTER (WHERE least(reactions, comments, shares, hostile_comments) < 0),
                            count(*) FILTER (WHERE hostile_comments > comments),
                            count(*)
                     FROM typed""").fetchall()[0]
    missing_ids, bad_ts, bad_counts, negative, hostile_over, rows_read = (int(v) for v in bad)
    problems = [(missing_ids, "page_id", "rows without a page or post id", "every post needs both ids"),
                (bad_ts, "created_at", "timestamps missing or not readable",
                 "write ISO timestamps, e.g. 2026-03-01T14:05:00Z"),
                (bad_counts, "reactions", "counts missing or not integers", "write counts as whole numbers"),
                (negative, "reactions", "negative counts", "counts are >= 0"),
                (hostile_over, "hostile_comments", "rows with more hostile comments than comments",
                 "hostile comments are a subset of comments")]
    for count, column, text, fix in problems:
        if count:
            raise DataError(f"{count} {text}", file=display, column=column.strip('"'), fix=fix)
    # One row per post: a re-exported post keeps its most-interacted, then latest version; exact ties go to the
    # most reactions, comments, shares, hostile comments. max() of a struct compares field by field, so the kept
    # row is the same whatever order the threads meet the copies in (arg_max broke ties by arrival), and it costs
    # less than arg_max over structs. A hash aggregate, not a window, so that DuckDB can spill it to disk.
    frame = con.execute("""
        WITH posts AS (
            SELECT page_id, post_id,
                   max(struct_pack(total := reactions + comments + shares, local_ts, reactions, comments, shares,
                                   hostile_comments)) AS kept
            FROM typed GROUP BY page_id, post_id)
        SELECT page_id, CAST(kept.local_ts AS DATE) AS date, count(*) AS posts, sum(kept.reactions) AS reactions,
               sum(kept.comments) AS comments, sum(kept.shares) AS shares,
               sum(kept.hostile_comments) AS hostile_comments, CAST(NULL AS BIGINT) AS followers
        FROM posts GROUP BY ALL ORDER BY page_id, date""").df()
    posts_kept = int(frame["posts"].sum())
    return _typed(frame), {"rows_read": rows_read, "duplicates_removed": rows_read - posts_kept,
                           "posts": posts_kept}


def _daily_panel(con, relation: str, col: Mapping[str, str], has_followers: bool, display: str) -> tuple[
        pd.DataFrame, dict[str, int]]:
    followers = _count_sql(col["followers"]) if has_followers else "CAST(NULL AS BIGINT)"
    metrics = ("posts", "reactions", "comments", "shares", "hostile_comments")
    metrics_sql = ", ".join(f"{_count_sql(col[c])} AS {c}" for c in metrics)
    con.execute(f"""
        CREATE TEMP TABLE typed AS
        SELECT CAST({col['page_id']} AS VARCHAR) AS page_id, TRY_CAST(CAST({col['date']} AS VARCHAR) AS DATE) AS date,
               {col['date']} IS NOT NULL AS has_date, {metrics_sql}, {followers} AS followers
        FROM {relation}""").fetchall()
    row = con.execute("""SELECT count(*), count(*) FILTER (WHERE date IS NULL), count(*) FILTER (WHERE page_id IS NULL),
                            count(*) FILTER (WHERE least(posts, reactions, comments, shares, hostile_comments) < 0
                                             OR posts IS NULL OR reactions IS NULL OR comments IS NULL
                                             OR shares IS NULL OR hostile_comments IS NULL)
                     FROM typed""").fetchall()[0]
    rows_read, bad_dates, missing_ids, bad_counts = (int(v) for v in row)
    if bad_dates:
        raise DataError(f"{bad_dates} dates missing or not readable", file=display, column=col["date"].strip('"'),
                        fix="write dates as YYYY-MM-DD (the local Asia/Bishkek day)")
    if missing_ids:
        raise DataError(f"{missing_ids} rows without a page id", file=display, column=col["page_id"].strip('"'),
                        fix="every row needs a page id")
    if bad_counts:
        raise DataError(f"{bad_counts} rows with missing, non-integer or negative counts", file=display,
                        column=col["posts"].strip('"'), fix="counts are whole numbers >= 0")
    frame = con.execute("SELECT DISTINCT page_id, date, posts, reactions, comments, shares, hostile_comments, followers "
                    "FROM typed ORDER BY page_id, date").df()
    conflicts = int(frame.duplicated(["page_id", "date"]).sum())
    if conflicts:
        raise DataError(f"{conflicts} page-days appear with different numbers", file=display,
                        column=col["date"].strip('"'),
                        fix="keep one export per page-day (which version is right cannot be decided here)")
    return _typed(frame), {"rows_read": rows_read, "duplicates_removed": rows_read - len(frame)}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["page_id"] = out["page_id"].astype("str")
    out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    for name in ("posts", "reactions", "comments", "shares", "hostile_comments"):
        out[name] = out[name].astype("int64")
    out["followers"] = pd.array(out["followers"], dtype="Int64")
    return out.reset_index(drop=True)


def derive_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``engagement`` (reactions + comments + shares), ``engagement_per_post``, ``engagement_rate`` (per
    follower) and ``hostile_share`` (of comments). Missing where the denominator is zero or unknown."""
    out = frame.copy()
    interactions = sum(pd.to_numeric(out[c]).astype("float64") for c in ("reactions", "comments", "shares"))
    posts = pd.to_numeric(out["posts"]).astype("float64")
    comments = pd.to_numeric(out["comments"]).astype("float64")
    followers = pd.to_numeric(out["followers"], errors="coerce").astype("float64") if "followers" in out else None
    out["engagement"] = interactions
    out["engagement_per_post"] = interactions / posts.where(posts > 0)
    out["engagement_rate"] = (interactions / followers.where(followers > 0)) if followers is not None else float("nan")
    out["hostile_share"] = pd.to_numeric(out["hostile_comments"]).astype("float64") / comments.where(comments > 0)
    return out


def _gaps(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Runs of absent days between a page's first and last observed day (vectorised: exports have many pages)."""
    if frame.empty:
        return []
    ordered = frame[["page_id", "date"]].sort_values(["page_id", "date"], kind="stable")
    pages = ordered["page_id"].to_numpy()
    days = pd.to_datetime(ordered["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    same_page = pages[1:] == pages[:-1]
    step = days[1:] - days[:-1]
    where = np.flatnonzero(same_page & (step > 1))
    first = (days[where] + 1).astype("datetime64[D]").astype(str)
    last = (days[where + 1] - 1).astype("datetime64[D]").astype(str)
    return [{"page_id": str(pages[k]), "first_missing": str(a), "last_missing": str(b), "days": int(step[k] - 1)}
            for k, a, b in zip(where, first, last, strict=True)]


def _attach_pages(frame: pd.DataFrame, pages: pd.DataFrame) -> pd.DataFrame:
    if "page_id" not in pages.columns:
        raise DataError("page attributes need a page_id column", column="page_id",
                        fix="pass pages=DataFrame with page_id and the attributes to attach")
    attrs = pages.copy()
    attrs["page_id"] = attrs["page_id"].astype("str")
    if attrs["page_id"].duplicated().any():
        raise DataError(f"{int(attrs['page_id'].duplicated().sum())} page ids listed twice in the page attributes",
                        column="page_id", fix="one row per page")
    unknown = sorted(set(frame["page_id"]) - set(attrs["page_id"]))
    if unknown:
        raise DataError(f"{len(unknown)} pages in the export have no attributes", column="page_id",
                        fix="add every page of the export to the page attributes")
    clash = [c for c in attrs.columns if c != "page_id" and c in frame.columns]
    merged = frame.merge(attrs.drop(columns=clash), on="page_id", how="left", validate="many_to_one")
    return merged
