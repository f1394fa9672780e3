"""``oca report build|verify`` and ``oca summary``: reports evaluators can regenerate, summaries trainers can read.

Registered in ``cli.py``. Exit codes: 0 success; 2 bad input; 4 a report could not be built; 15 (``verify_mismatch``)
the rebuild differs from the recorded run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import DataOption, StudyArg, _guarded, _parse_data, _summary_lines
from .errors import EXIT_CODES, DataError

report_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Build a study's report, or verify that a built report can be regenerated.")


@report_app.command("build")
def build(
    study: StudyArg,
    data: DataOption = None,
    out: Annotated[Path, typer.Option(help="Run folder: results.json, manifest.json and report/ go here.")]
    = Path("build/report"),
    force: Annotated[bool, typer.Option("--force", help="Recompute even when nothing changed.")] = False,
) -> None:
    """Run the study (or reuse the run in --out when nothing changed) and build report/index.html."""

    def body() -> int:
        from .api import load_study, run_to_directory

        result = run_to_directory(load_study(study), _parse_data(data), out, build_html=True, reuse=not force)
        for line in _summary_lines(result):
            typer.echo(line)
        typer.echo(f"wrote {out / 'report' / 'index.html'}, {out / 'report' / 'decision.html'} and "
                   f"{out / 'manifest.json'}")
        return 0

    _guarded(body)


@report_app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="A run folder or its report/ folder (holding manifest.json).")],
    study: Annotated[Path | None, typer.Option(help="Study folder, when it moved since the build.")] = None,
    data: DataOption = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance; 0 compares exactly (the default).")] = 0.0,
    atol: Annotated[float, typer.Option(help="Absolute tolerance; 0 compares exactly (the default).")] = 0.0,
    keep: Annotated[Path | None, typer.Option(help="Copy the rebuild here for inspection.")] = None,
) -> None:
    """Rebuild the run from its manifest's inputs in a temporary folder and compare every number."""

    def body() -> int:
        from .api import verify_run

        result = verify_run(directory, study_dir=study, data=_parse_data(data), rtol=rtol, atol=atol, keep=keep)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        if result.ok:
            typer.echo(f"verified: {result.n_compared} values of {len(result.hypotheses)} hypotheses match a "
                       f"rebuild from {result.manifest}")
            return 0
        for difference in result.differences:
            typer.echo(f"differs: {difference}", err=True)
        typer.echo(f"error: {len(result.differences)} difference(s) between {result.manifest.parent} and its "
                   "rebuild (listed above)", err=True)
        return EXIT_CODES["verify_mismatch"]

    _guarded(body)


def summary(
    run_dir: Annotated[Path, typer.Argument(help="Run folder holding results.json (e.g. build/demo).")],
    lang: Annotated[list[str] | None, typer.Option(
        "--lang", metavar="[en|ru|ky]", help="Language; repeat for several (each then goes to OUT/<lang>/).")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default RUN_DIR/summary/<lang>).")] = None,
    study: Annotated[Path | None, typer.Option(help="Study folder (default: the one in the run's manifest).")]
    = None,
) -> None:
    """Write one plain-language page per hypothesis for trainers: the answer first, no p-values, no jargon."""

    def body() -> int:
        from .report import write_summaries
        from .summarize import LANGUAGES

        languages = lang or ["en"]
        unknown = [code for code in languages if code not in LANGUAGES]
        if unknown:
            raise DataError(f"--lang '{unknown[0]}' is not available", fix=f"use one of: {', '.join(LANGUAGES)}")
        for code in languages:
            if out is None:
                target = run_dir / "summary" / code
            else:
                target = out / code if len(languages) > 1 else out
            written = write_summaries(run_dir, lang=code, out_dir=target, study_dir=study)
            typer.echo(f"wrote {len(written)} files ({code}):")
            for path in written:
                typer.echo(f"  {path}")
        return 0

    _guarded(body)


def check(
    study: StudyArg,
    data: DataOption = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML: one test case per hypothesis and check.")]
    = None,
    expected: Annotated[Path | None, typer.Option(
        help="Expected-results file (default STUDY/expected_results.json).")] = None,
    update_expected: Annotated[bool, typer.Option(
        "--update-expected", help="Rewrite the expected-results file from this run first (after an intended "
                                  "change; commit it with the reason).")] = False,
) -> None:
    """Rerun the preregistered checks: locks, contracts, confirmatory reruns, expected results, diagnostics.

    Exit codes: 0 all passed; 10 undeclared spec change; 11 contract failure; 12 a confirmatory hypothesis did
    not rerun; 13 a result drifted from the expected-results file; 14 a Bayesian diagnostics gate failed (the first
    failing class in this order); 2 bad input.

    First run of a new study: there is no expected-results file yet (exit 2). Create it from a run you trust with
    `oca check STUDY --data NAME=FILE --update-expected`, commit STUDY/expected_results.json, and from then on
    `oca check STUDY --data NAME=FILE` (e.g. in CI) fails when a result drifts.
    """

    def body() -> int:
        from .api import run_gate
        from .report import write_junit

        result = run_gate(study, _parse_data(data), expected=expected, update_expected=update_expected)
        if junit is not None:
            write_junit(result.outcomes, junit)
        if result.updated_expected:
            typer.echo(f"wrote {result.expected_path}")
        for outcome in result.failed:
            typer.echo(f"error: {outcome.hypothesis}: {outcome.check}: {outcome.message}", err=True)
        counts = {status: sum(o.status == status for o in result.outcomes) for status in ("passed", "failed",
                                                                                           "skipped")}
        typer.echo(f"check: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
                   f"({len(result.outcomes)} hypothesis x check cases)" + (f"; JUnit XML in {junit}" if junit else ""))
        return result.exit_code

    _guarded(body)
