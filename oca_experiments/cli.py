"""The ``oca`` command line: a thin typer layer over ``oca_experiments.api``.

Exit codes (``oca_experiments.errors.EXIT_CODES``): 0 success; 1 a check ran and failed; 2 bad input (spec, data,
contract); 3 estimation error; 4 report error; 70 internal error. Errors print one line to stderr, never a
traceback (set ``OCA_DEBUG=1`` to see one) and never data values.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ._cli_common import (  # noqa: F401
    DataOption,
    StudyArg,
    _echo_written,
    _fail,
    _finished_lines,
    _guarded,
    _parse_data,
    _print_as_finished,
    _progress_line,
    _summary_lines,
    _written_lines,
    derived_seed_notes,
    internal_failures_line,
    summary_line,
)
from .errors import EXIT_CODES

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Preregistered campaign-impact experiments: validate, run and report a study.")


def _print_version(value: bool) -> None:
    if value:
        from ._version import __version__

        typer.echo(f"oca {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", help="Print the installed version and exit.", callback=_print_version,
        is_eager=True)] = False) -> None:
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
        from .api import run_demo

        import sys as _sys

        from ._progress import listening, showing_steps

        printed: set[str] = set()
        with listening(_print_as_finished(printed), _progress_line), showing_steps(_sys.stderr):
            run = run_demo(out, study_dir=study, seed=seed, build_html=not no_report)
        for line in _finished_lines(run, printed):
            typer.echo(line)
        _echo_written(out)
        broken = internal_failures_line(run, out)
        if broken:
            typer.echo(broken, err=True)
            return EXIT_CODES["internal_error"]
        from .api import demo_study_dir, load_study

        _record_rerun(load_study(study if study is not None else demo_study_dir()), run, out, demo=True)
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
        from .api import load_study, run_to_directory

        parsed = _parse_data(data)
        loaded_study = load_study(study)
        if strict:  # the firewall: fail before estimating anything (PreregistrationError, exit 2)
            from .prereg import registry_state

            registry_state(loaded_study.path, loaded_study.specs, loaded_study.config).require()
        import sys as _sys

        from ._progress import listening, showing_steps

        printed: set[str] = set()
        with listening(_print_as_finished(printed), _progress_line), showing_steps(_sys.stderr):
            result = run_to_directory(loaded_study, parsed, out, build_html=not no_report,
                                      show_values=show_values)
        for line in [*_finished_lines(result, printed), *derived_seed_notes(loaded_study)]:
            typer.echo(line)
        failed = [c for c in result.contracts if not c.get("passed")]
        from ._cli_data import contract_failure_line

        if failed:  # one line naming the data file, the column and the suite (issue 4)
            typer.echo(contract_failure_line(result, strict=strict), err=True)
        _echo_written(out)
        broken = internal_failures_line(result, out)
        if broken:  # the other hypotheses were estimated and written; the run still fails
            typer.echo(broken, err=True)
            return EXIT_CODES["internal_error"]
        if strict and failed:
            return EXIT_CODES["ContractError"]
        if not show_values:  # --show-values never reuses
            _record_rerun(loaded_study, result, out, data=parsed,
                          stderr=[contract_failure_line(result, strict=strict)] if failed else [])
        return 0

    _guarded(body)


def _record_rerun(loaded_study: Any, result: Any, out: Path, *, demo: bool = False,
                  data: dict[str, Path] | None = None, stderr: list[str] | None = None) -> None:
    """Stamp this successful command so that the same command line, with nothing changed, answers at once
    (``_cli_rerun``). The recorded answer is what a reuse of these outputs prints."""
    from . import _cli_rerun

    if _cli_rerun.active() is None:  # not started through the entry point's check: nothing to stamp
        return
    try:
        _stamp(_cli_rerun, loaded_study, result, out, demo=demo, data=data, stderr=stderr)
    except Exception:  # noqa: BLE001 - a stamp not written costs the next run its speed, never this run its result
        logging.getLogger("oca_experiments").debug("no rerun stamp written", exc_info=True)


def _stamp(_cli_rerun: Any, loaded_study: Any, result: Any, out: Path, *, demo: bool,
           data: dict[str, Path] | None, stderr: list[str] | None) -> None:
    lines = [*_finished_lines(result, set()), *([] if demo else derived_seed_notes(loaded_study)),
             *_written_lines(out)]
    inputs, folders, absent = _cli_rerun.study_inputs(loaded_study)
    outputs, output_folders = _cli_rerun.output_folders(str(out), demo=demo)
    read = {name: (record or {}).get("sha256") for name, record in (result.data or {}).items()}
    _cli_rerun.record(out=str(out), inputs=inputs, input_folders=folders, outputs=outputs,
                      output_folders_=output_folders, absent=absent,
                      data={str(path): read.get(name) for name, path in (data or {}).items()},
                      stdout="".join(f"{line}\n" for line in lines),
                      stderr="".join(f"{line}\n" for line in stderr or []))


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
from ._cli_init import init; app.command("init")(init)  # noqa: E402, E702
from ._cli_contract import contract_app; app.add_typer(contract_app, name="contract")  # noqa: E402, E702
from ._cli_engagement import engagement_app; app.add_typer(engagement_app, name="engagement")  # noqa: E402, E702
from ._cli_portfolio import portfolio; app.command("portfolio")(portfolio)  # noqa: E402, E702


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
