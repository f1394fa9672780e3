"""What every ``oca`` command shares: the study and data arguments, ``--data`` parsing, one-line errors with the
documented exit codes, and the one-line summary of a run. The command modules (``cli.py``, ``_cli_*.py``) import
this module and never each other, so the command line has no import cycle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import EXIT_CODES, DataError, OcaError

__all__ = ["DataOption", "StudyArg", "_fail", "_guarded", "_parse_data", "_summary_lines"]

DataOption = Annotated[list[str] | None, typer.Option(
    "--data", "-d", help="NAME=PATH for each data source declared in study.yaml (repeatable).")]
StudyArg = Annotated[Path, typer.Argument(help="Study folder holding study.yaml and hypotheses/.")]


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _guarded(action: Callable[[], int | None]) -> None:
    """Run a command body; map errors to one stderr line and the documented exit code."""
    try:
        code = action()
    except OcaError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _fail("interrupted; no output was replaced", 130)
    except Exception as exc:  # noqa: BLE001 - last line of defence; the message may hold data, so only the type
        if os.environ.get("OCA_DEBUG"):
            raise
        where = ""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" in {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        _fail(f"internal error ({type(exc).__name__}{where}); this is a bug in oca, please report it. "
              "Rerun with OCA_DEBUG=1 for a traceback.", EXIT_CODES["internal_error"])
    else:
        if code:
            raise typer.Exit(code)


def _parse_data(pairs: list[str] | None) -> dict[str, Path]:
    data: dict[str, Path] = {}
    for pair in pairs or []:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise DataError(f"--data '{pair}' is not NAME=PATH", fix="write e.g. --data survey=survey.csv")
        if name.strip() in data:
            raise DataError(f"--data names source '{name.strip()}' twice", fix="give each source once")
        data[name.strip()] = Path(path.strip())
    return data


def _summary_lines(run: Any) -> list[str]:
    lines = []
    for h in run.hypotheses:
        if h.result is not None:
            r = h.result
            # Bayesian results have no p-value: show the posterior probability of an effect beyond zero instead.
            tail = (f"p = {r.p_value:.3g}" if r.p_value == r.p_value else
                    f"P(effect > 0) = {r.extras.get('posterior', {}).get('p_gt_0', float('nan')):.3f}")
            lines.append(f"{h.id}: {h.verdict} (estimate {r.estimate:.3f}, {100 * r.ci_level:g}% "
                         f"{'credible interval' if r.p_value != r.p_value else 'CI'} "
                         f"[{r.ci_low:.3f}, {r.ci_high:.3f}], {tail})")
        else:
            lines.append(f"{h.id}: {h.status.replace('_', ' ')}: {h.reason}")
        if getattr(h, "type", None) == "exploratory":  # the firewall's label, on every surface
            why = {"unregistered": "not in the registry lock", "amended": "changed since the lock"}.get(
                getattr(h, "variant", None) or "", "registered as exploratory")
            lines[-1] += f" [exploratory: {why}]"
    return lines
