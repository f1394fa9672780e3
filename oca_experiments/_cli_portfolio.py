"""``oca portfolio RUN_DIR... --out DIR``: every hypothesis of every study in one page, random-effects pooling
across studies and across each study's CSOs (frequentist and Bayesian hierarchical), a forest plot and a shrinkage
plot per family, and what the next round should test. Registered in ``cli.py``. Exit codes: 0 success; 2 bad
input (a run folder without a readable results.json, fewer than two folders without --allow-single, an unreadable
truth or diagnosis file); 70 internal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import _guarded
from .errors import DataError


def portfolio(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders (each with results.json).")],
    out: Annotated[Path, typer.Option(help="Output folder for index.html, portfolio.json and the plots "
                                           "(replaced only when the whole page is built).")] = Path("build/portfolio"),
    allow_single: Annotated[bool, typer.Option(
        "--allow-single", help="Accept one run folder (pools its per-CSO estimates only).")] = False,
    hksj_floor: Annotated[bool, typer.Option(
        "--hksj-floor/--no-hksj-floor",
        help="Hartung-Knapp-Sidik-Jonkman interval with the scale floored at max(1, q) (Knapp-Hartung ad hoc "
             "modification; default) or as estimated.")] = True,
    bayes: Annotated[bool, typer.Option(
        "--bayes/--no-bayes", help="Also fit the Bayesian hierarchical model (needs the bayes extra).")] = True,
    truth: Annotated[Path | None, typer.Option(
        help="A demo truth.json: show the true pooled per-CSO effects and whether the intervals cover them.")] = None,
    design: Annotated[list[Path] | None, typer.Option(
        help="Folder(s) of design diagnoses (<folder>/<hypothesis id>/diagnosis.json, e.g. STUDY/design) used "
             "for power in 'what the next round should test'.")] = None,
    group: Annotated[str, typer.Option(help="The registered group column whose per-level estimates are pooled "
                                            "within a study.")] = "cso_id",
) -> None:
    """Build the portfolio page from several studies' run folders (or one study's CSOs with --allow-single)."""

    def body() -> int:
        from .report import build_portfolio

        if len(runs) < 2 and not allow_single:
            raise DataError(f"oca portfolio needs two or more run folders; saw {len(runs)}",
                            fix="pass more run folders, or --allow-single to pool one study's CSOs")
        payload = build_portfolio(list(runs), out, interval="hksj_floored" if hksj_floor else "hksj", bayes=bayes,
                                  truth=truth, design_dirs=list(design or []), group_column=group)
        typer.echo(f"{len(payload['hypotheses'])} hypotheses from {len(runs)} runs; "
                   f"{len(payload['pooled'])} pooled ({payload['interval_description']}); "
                   f"{len(payload['what_to_test_next'])} to test next")
        covered = [p for p in payload["pooled"] if p["truth"] is not None]
        if covered:
            line = (f"truth inside the pooled 95% interval: {sum(bool(p['truth_covered']) for p in covered)}/"
                    f"{len(covered)} frequentist")
            fitted = [p for p in covered if p["truth_covered_bayes"] is not None]
            if fitted:
                line += f", {sum(bool(p['truth_covered_bayes']) for p in fitted)}/{len(fitted)} Bayesian"
            typer.echo(line)
        if payload["bayes_note"]:
            typer.echo(payload["bayes_note"])
        typer.echo(f"wrote {out / 'index.html'}")
        return 0

    _guarded(body)
