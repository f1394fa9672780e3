"""``oca portfolio RUN_DIR... --out DIR``: every hypothesis of every study in one page, random-effects pooling
across studies (and across CSOs when a run carries a ``cso_id`` disaggregation), a forest plot per family, and what
to test next. Registered in ``cli.py``. Exit codes: 0 success; 2 bad input (a run folder without a readable
results.json, fewer than two folders); 70 internal error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import _guarded
from .errors import DataError


def portfolio(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders (each with results.json).")],
    out: Annotated[Path, typer.Option(help="Output folder for index.html, portfolio.json and forest plots "
                                           "(replaced only when the whole page is built).")] = Path("build/portfolio"),
    allow_single: Annotated[bool, typer.Option(
        "--allow-single", help="Accept one run folder (pools its per-CSO estimates only).")] = False,
) -> None:
    """Build the portfolio page from several studies' run folders."""

    def body() -> int:
        from .report import build_portfolio

        if len(runs) < 2 and not allow_single:
            raise DataError(f"oca portfolio needs two or more run folders; saw {len(runs)}",
                            fix="pass more run folders, or --allow-single to pool one study's CSOs")
        payload = build_portfolio(list(runs), out)
        typer.echo(f"{len(payload['hypotheses'])} hypotheses from {len(runs)} runs; "
                   f"{len(payload['pooled'])} pooled; {len(payload['what_to_test_next'])} to test next")
        typer.echo(f"wrote {out / 'index.html'}")
        return 0

    _guarded(body)
