"""The ``oca`` command line: a thin typer layer over the runner.

Exit codes (``oca_experiments.errors.EXIT_CODES``): 0 success; 1 a check ran and failed; 2 bad input (spec, data,
contract); 3 estimation error; 4 report error; 70 internal error. Errors print one line to stderr, never a
traceback (set ``OCA_DEBUG=1`` to see one) and never data values.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import EXIT_CODES, DataError, OcaError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Preregistered campaign-impact experiments: validate, run and report a study.")

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


def summary_line(h: Any) -> str:
    """One hypothesis on one line: verdict, estimate and interval, the p-value (one format) or the posterior
    probability the verdict uses, and the inference that produced these numbers."""
    from ._display import inference_text, p_text

    if h.result is None:
        return f"{h.id}: {h.status.replace('_', ' ')}: {h.reason}"
    r = h.result
    extras = r.extras
    bayesian = r.se_type == "posterior_sd" or bool(extras.get("bayesian"))
    if bayesian:
        from .report._decision import _posterior_claim

        evidence = _posterior_claim(h.to_dict()) or "posterior"
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


def _echo_written(out: Path) -> None:
    files = _written_files(out)
    typer.echo(f"wrote {len(files)} files:")
    for path in files:
        typer.echo(f"  {path}")


def _version_callback(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"oca_experiments {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Preregistered campaign-impact experiments: validate, run and report a study."""


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output folder (replaced only when the whole demo succeeds).")]
    = Path("build/demo"),
    seed: Annotated[int | None, typer.Option(help="Seed of the demo data generator.")] = None,
    study: Annotated[Path | None, typer.Option(help="Study folder (default: the embedded demo study).")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip the HTML report.")] = False,
) -> None:
    """Generate the demo study's data, run every hypothesis and build the report."""

    def body() -> int:
        from .runner import run_demo

        from ._progress import listening

        printed: set[str] = set()
        with listening(_print_as_finished(printed), _progress_line):
            run = run_demo(out, study_dir=study, seed=seed, build_html=not no_report)
        for line in _finished_lines(run, printed):
            typer.echo(line)
        _echo_written(out)
        return 0

    _guarded(body)


@app.command()
def run(
    study: StudyArg,
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Output folder for results.json and report/.")] = Path("build/run"),
    strict: Annotated[bool, typer.Option(help="Exit 2 when any data contract fails, or before running when a "
                                              "confirmatory spec changed without a declared deviation or the "
                                              "registry lock does not verify.")] = False,
    show_values: Annotated[bool, typer.Option(
        "--show-values", help="Show example values of failing non-sensitive columns.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip the HTML report.")] = False,
) -> None:
    """Run every hypothesis of a study on the given data; write results.json and report/index.html."""

    def body() -> int:
        from .runner import load_study, run_to_directory

        parsed = _parse_data(data)
        loaded_study = load_study(study)
        if strict:  # the firewall: fail before estimating anything (PreregistrationError, exit 2)
            from .prereg import registry_state

            registry_state(loaded_study.path, loaded_study.specs, loaded_study.config).require()
        from ._progress import listening

        printed: set[str] = set()
        with listening(_print_as_finished(printed), _progress_line):
            result = run_to_directory(loaded_study, parsed, out, build_html=not no_report,
                                      show_values=show_values)
        for line in _finished_lines(result, printed):
            typer.echo(line)
        failed = [c for c in result.contracts if not c.get("passed")]
        if failed:  # one line naming the data file, the column and the suite (issue 4)
            from ._cli_data import contract_failure_line

            typer.echo(contract_failure_line(result, strict=strict), err=True)
        _echo_written(out)
        return EXIT_CODES["ContractError"] if strict and failed else 0

    _guarded(body)


@app.command()
def validate(
    study: StudyArg,
    data: DataOption = None,
    show_values: Annotated[bool, typer.Option(
        "--show-values", help="Show example values of failing non-sensitive columns.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the validation result as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Folder for validation.json and validation.html (one section per source).")] = None,
    testability: Annotated[bool, typer.Option(
        help="Check each hypothesis' registered testability (--no-testability: the files alone, e.g. a baseline "
             "delivered before the endline exists).")] = True,
) -> None:
    """Check specs, columns, data contracts and each hypothesis' testability for the sources given; estimate
    nothing. Exits 2 when anything fails, with one line on stderr (every detail is on stdout)."""

    def body() -> int:
        from ._cli_data import run_validate

        return run_validate(study, data, show_values=show_values, as_json=as_json, out=out,
                            testability=testability)

    _guarded(body)


# Sub-command groups live in their own modules and register here (one line each), so that areas stay apart.
# e.g. from ._cli_prereg import prereg_app; app.add_typer(prereg_app, name="prereg")
from ._cli_report import check, report_app, summary  # noqa: E402  (needs the helpers above)

app.add_typer(report_app, name="report")
app.command("summary")(summary)
# `oca check`: issue 3's lock check plugs in through oca_experiments.prereg (see report/_gate.py).
app.command("check")(check)
from ._cli_design import design_app; app.add_typer(design_app, name="design")  # noqa: E402, E702
from ._cli_data import data_app; app.add_typer(data_app, name="data")  # noqa: E402, E702
from ._cli_prereg import prereg_app, spec_app; app.add_typer(prereg_app, name="prereg"); app.add_typer(spec_app, name="spec")  # noqa: E402, E702, E501


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
