"""``oca engagement summary``: the community-of-practice facilitator's monthly table (members, posts, active
members, discussions per community and month, trends and the campaign's level shift) as CSV and HTML.

Registered in ``cli.py``. Exit codes as every command: 0 success, 2 bad input (one line, no data values)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import _guarded
from .errors import SpecError

engagement_app = typer.Typer(add_completion=False, no_args_is_help=True,
                             help="Engagement data views: monthly community-of-practice summaries.")


@engagement_app.command("summary")
def summary(
    source: Annotated[Path, typer.Argument(help="Activity log or monthly counts (.csv/.tsv/.txt, .xlsx, .parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory: community_monthly.csv, "
                                      "community_trends.csv and community_summary.html (written atomically).")],
    community: Annotated[str, typer.Option("--community", help="Community column.")],
    time: Annotated[str, typer.Option("--time", help="Date column (days or months).")],
    member: Annotated[str | None, typer.Option("--member", help="Member id column (activity log).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Event kind column: join/post/discussion "
                                            "(activity log).")] = None,
    members: Annotated[str | None, typer.Option("--members", help="Members count column (summarised).")] = None,
    posts: Annotated[str | None, typer.Option("--posts", help="Posts count column (summarised).")] = None,
    active_members: Annotated[str | None, typer.Option("--active-members", help="Active members count "
                                                      "column (summarised, monthly only).")] = None,
    discussions: Annotated[str | None, typer.Option("--discussions", help="Discussions count column.")] = None,
    campaign_start: Annotated[str | None, typer.Option("--campaign-start", help="Column with each community's "
                                                      "campaign start date (empty: none).")] = None,
    suppress_below: Annotated[int | None, typer.Option("--suppress-below", help="Blank cells counting fewer "
                                                      "than this many members.")] = None,
    results: Annotated[Path | None, typer.Option("--results", help="results.json of a run: show the registered "
                                                 "per-campaign effects of --hypothesis beside the trends.")] = None,
    hypothesis: Annotated[str | None, typer.Option("--hypothesis", help="The hypothesis in --results whose "
                                                   "per-campaign effects to show (an its hypothesis).")] = None,
) -> None:
    """Write the monthly community summary table."""

    def body() -> int:
        from ._atomic import atomic_write_text
        from .engagement import monthly_community_summary
        from .io import read_table, reader_options

        if out.exists() and not out.is_dir():
            raise SpecError("--out must be a directory", file=out.name, field="--out",
                            fix="name a new or existing directory")
        frame = read_table(source, reader_options({}, file="", field="--reader"))
        columns = {"members": members, "posts": posts, "active_members": active_members, "discussions": discussions}
        registered = _registered_effects(results, hypothesis, columns)
        result = monthly_community_summary(
            frame, community=community, time=time, member=member, kind=kind, members=members, posts=posts,
            active_members=active_members, discussions=discussions, campaign_start=campaign_start,
            suppress_below=suppress_below, registered=registered, file=source.name)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "community_monthly.csv", result.monthly.to_csv(index=False))
        atomic_write_text(out / "community_trends.csv", result.trends.to_csv(index=False))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
        page = ("<!doctype html><html><head><meta charset='utf-8'><title>Monthly community summary</title></head>"
                "<body><h1>Monthly community summary</h1>"
                f"<h2>Per community and month</h2>{result.monthly.to_html(index=False, na_rep='')}"
                f"<h2>Trends and campaign level shift</h2>{result.trends.to_html(index=False, na_rep='')}"
                f"<ul>{notes}</ul></body></html>")
        atomic_write_text(out / "community_summary.html", page)
        typer.echo(f"{len(result.monthly)} community-months in {result.monthly['community'].nunique()} "
                   f"communities; wrote {out}")
        return 0

    _guarded(body)


def _registered_effects(results: Path | None, hypothesis: str | None, columns: dict[str, str | None]) -> list:
    """The per-campaign effects of ``hypothesis`` in a run's results.json, on the summary metric its outcome is."""
    import json

    from .engagement import RegisteredEffect
    from .errors import DataError

    if (results is None) != (hypothesis is None):
        raise SpecError("--results and --hypothesis go together", field="--results" if results is None
                        else "--hypothesis", fix="give both (the run's results.json and the hypothesis id) or neither")
    if results is None:
        return []
    try:
        payload = json.loads(results.read_text(encoding="utf-8"))
        records = {r["id"]: r for r in payload["hypotheses"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError("not a readable results.json of an oca run", file=results.name,
                        fix="pass RUN_DIR/results.json written by oca run or oca demo") from None
    record = records.get(hypothesis)
    if record is None:
        raise DataError(f"no hypothesis '{hypothesis}' in this run", file=results.name,
                        fix=f"use one of: {', '.join(sorted(records))}")
    campaigns = (record.get("extras") or {}).get("by_campaign")
    if record.get("status") != "estimated" or not isinstance(campaigns, list):
        raise DataError(f"hypothesis '{hypothesis}' has no per-campaign effects (status {record.get('status')}, "
                        f"estimator {record.get('estimator')})", file=results.name,
                        fix="name an estimated its hypothesis")
    outcome = str(record.get("outcome"))
    metric = next((m for m, column in columns.items() if column == outcome), outcome)
    return [RegisteredEffect(hypothesis=str(hypothesis), metric=metric, community=str(c["unit"]),
                             effect=float(c["average_effect"]), ci_low=c.get("ci_low"), ci_high=c.get("ci_high"))
            for c in campaigns if c.get("average_effect") is not None]
