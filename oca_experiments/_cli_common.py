"""What every ``oca`` command shares: the study and data arguments, ``--data`` parsing, one-line errors with the
documented exit codes, and the one-line summary of a run. The command modules (``cli.py``, ``_cli_*.py``) import
this module and never each other, so the command line has no import cycle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import EXIT_CODES, DataError, OcaError

__all__ = ["DataOption", "StudyArg", "_echo_written", "_fail", "_finished_lines", "_guarded", "_parse_data",
           "_print_as_finished", "_progress_line", "_summary_lines", "_written_lines", "derived_seed_notes",
           "internal_failures_line", "summary_line"]

DataOption = Annotated[list[str] | None, typer.Option(
    "--data", "-d", help="NAME=PATH for each data source declared in study.yaml (repeatable).")]
StudyArg = Annotated[Path, typer.Argument(help="Study folder holding study.yaml and hypotheses/.")]


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _debug_traceback() -> None:
    """With OCA_DEBUG set, the traceback goes to stderr before the usual line; the exit code stays the same."""
    if os.environ.get("OCA_DEBUG"):
        import traceback

        traceback.print_exc(file=sys.stderr)


@contextlib.contextmanager
def _debug_log() -> Iterator[None]:
    """With OCA_DEBUG set, oca's debug log (e.g. the traceback of a hypothesis whose estimator failed) goes to
    stderr for the duration of the command."""
    if not os.environ.get("OCA_DEBUG"):
        yield
        return
    logger = logging.getLogger("oca_experiments")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("OCA_DEBUG: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _guarded(action: Callable[[], int | None]) -> None:
    """Run a command body; map errors to one stderr line and the documented exit code."""
    try:
        with _debug_log():
            code = action()
    except OcaError as exc:
        _debug_traceback()
        _fail(str(exc), exc.exit_code)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        _fail("interrupted; no output was replaced", 130)
    except Exception as exc:  # noqa: BLE001 - last line of defence; the message may hold data, so only the type
        _debug_traceback()  # OCA_DEBUG adds a traceback; it never changes the exit code (issue 22 item 6)
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


def summary_line(h: Any) -> str:
    """One hypothesis on one line: verdict, estimate and interval, the p-value (one format) or the posterior
    probability the verdict uses, and the inference that produced these numbers."""
    from ._display import inference_text, p_text, posterior_claim

    if h.result is None:
        return f"{h.id}: {h.status.replace('_', ' ')}: {h.reason}"
    r = h.result
    extras = r.extras
    bayesian = r.se_type == "posterior_sd" or bool(extras.get("bayesian"))
    if bayesian:
        evidence = posterior_claim(h.to_dict()) or "posterior"
        interval = "credible interval"
    else:
        evidence = p_text(r.p_value, extras)
        interval = "CI"
    return (f"{h.id}: {h.verdict} (estimate {r.estimate:.3f}, {100 * r.ci_level:g}% {interval} "
            f"[{r.ci_low:.3f}, {r.ci_high:.3f}], {evidence}; inference: {inference_text(r.se_type, extras)})")


def _exploratory_label(h: Any) -> str:
    if getattr(h, "type", None) != "exploratory":  # the firewall's label, on every surface
        return ""
    why = {"unregistered": "not in the registry lock", "amended": "changed since the lock"}.get(
        getattr(h, "variant", None) or "", "registered as exploratory")
    return f" [exploratory: {why}]"


def _summary_lines(run: Any) -> list[str]:
    return [summary_line(h) + _exploratory_label(h) for h in run.hypotheses]


def _finished_lines(run: Any, printed: set[str]) -> list[str]:
    """After a run whose hypotheses were printed as they finished: the ones not printed yet (the registered
    versions the firewall adds), then which results count as exploratory (the lock decides after all ran)."""
    lines = [summary_line(h) + _exploratory_label(h) for h in run.hypotheses if h.id not in printed]
    exploratory = [f"{h.id}{_exploratory_label(h)}" for h in run.hypotheses if h.id in printed
                   and getattr(h, "type", None) == "exploratory"]
    if exploratory:
        lines.append("exploratory, not confirmatory: " + "; ".join(exploratory))
    return lines


def derived_seed_notes(study: Any) -> list[str]:
    """One stdout line per spec that registered no bootstrap seed: the seed oca derived, and where to register it."""
    return [f"note: {sf.spec.id}: no bootstrap seed registered; using {sf.spec.inference.bootstrap.seed}, derived "
            f"from the spec's id (recorded in manifest.json; register it in {sf.path} as inference.bootstrap.seed)"
            for sf in study.specs if sf.spec.inference.bootstrap.seed_source == "derived"]


def internal_failures_line(run: Any, out: Path) -> str | None:
    """One line when estimators failed unexpectedly: which hypotheses, the error class, and that the rest is written
    (issue 22 item 5: one failure no longer ends the run; the run still exits 70 at the end)."""
    broken = [h for h in run.hypotheses if getattr(h, "error_class", None)]
    if not broken:
        return None
    named = ", ".join(f"{h.id} ({h.error_class})" for h in broken[:5]) + ("…" if len(broken) > 5 else "")
    return (f"error: internal error in {len(broken)} hypothesis(es): {named}; the other hypotheses were estimated "
            f"and written to {out / 'results.json'}. This is a bug in oca, please report it. Fix: rerun with "
            "OCA_DEBUG=1 for a traceback")


def _print_as_finished(printed: set[str]):
    def listener(h: Any) -> None:
        printed.add(h.id)
        typer.echo(summary_line(h))
    return listener


def _progress_line(task: Any) -> None:
    """Which hypothesis is running (sampling and bootstraps take a while): on stderr, and only on a terminal."""
    if sys.stderr.isatty():
        typer.echo(f"running {getattr(task, 'id', task)} ({getattr(getattr(task, 'estimator', None), 'name', '')})…",
                   err=True)


def _written_files(out: Path) -> list[Path]:
    """Every file the run wrote, as its manifest records them (plus the manifests)."""
    import json

    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [out / "results.json"]
    names = list((manifest.get("outputs") or {}) if isinstance(manifest, dict) else {}) or ["results.json"]
    files = [out / name for name in names] + [out / "manifest.json"]
    if (out / "report" / "manifest.json").is_file():
        files.append(out / "report" / "manifest.json")
    return files


def _written_lines(out: Path) -> list[str]:
    files = _written_files(out)
    return [f"wrote {len(files)} files:", *(f"  {path}" for path in files)]


def _echo_written(out: Path) -> None:
    for line in _written_lines(out):
        typer.echo(line)

