"""``oca data pseudonymize`` and the body of ``oca validate`` (reports, one-line errors).

Registered in ``cli.py``. Exit codes: 0 success; 2 bad input (data, spec, contract, testability, missing key);
70 internal error. Every message is one line without data values; ``oca validate`` prints exactly one ``error:`` line
on stderr however many problems it found (all of them are on stdout and in ``validation.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._cli_common import _guarded
from .errors import EXIT_CODES, OcaError, SpecError

data_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Prepare data files before analysis: pseudonymise ID columns.")


def _parse_pins(pairs: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` reader pins from the command line; values are YAML scalars or lists (``[a, b]``)."""
    import yaml

    pins: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--reader '{pair}' is not KEY=VALUE", field="--reader",
                            fix="write e.g. --reader encoding=cp1251 or --reader label_row=true")
        try:
            pins[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            raise SpecError(f"--reader '{key.strip()}' has a value that is not a YAML scalar or list",
                            field=f"--reader {key.strip()}", fix="quote it, e.g. --reader \"delimiter=';'\"") from None
    return pins


@data_app.command("pseudonymize")
def pseudonymize(
    source: Annotated[Path, typer.Argument(help="Data file to pseudonymise (.csv/.tsv/.txt, .xlsx, .parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output file, .csv or .xlsx (written atomically).")],
    id_column: Annotated[list[str] | None, typer.Option(
        "--id-column", help="Column whose values are replaced by keyed hashes (repeatable).")] = None,
    drop: Annotated[list[str] | None, typer.Option(
        "--drop", help="Column to remove, e.g. phone numbers or names (repeatable).")] = None,
    key_file: Annotated[Path | None, typer.Option(
        "--key-file", help="File holding the key, outside any repository (default: $OCA_PSEUDONYM_KEY).")] = None,
    reader: Annotated[list[str] | None, typer.Option(
        "--reader", help="Reader pin KEY=VALUE, e.g. encoding=cp1251, label_row=true (repeatable).")] = None,
) -> None:
    """Replace ID columns with HMAC-SHA-256 pseudonyms; spreadsheet formulas in the output are escaped."""

    def body() -> int:
        from .io import read_table, reader_options, write_table
        from .privacy import load_key, pseudonymize_frame

        key = load_key(key_file)  # first: no key, no reading of personal data
        options = reader_options(_parse_pins(reader), file="", field="--reader")
        if out.suffix.lower() not in (".csv", ".xlsx"):
            raise SpecError(f"the output must be .csv or .xlsx, not '{out.suffix or '(none)'}'", file=out.name,
                            field="--out", fix="name the output file *.csv or *.xlsx")
        if out.resolve() == source.resolve():
            raise SpecError("the output would overwrite the input", file=out.name, field="--out",
                            fix="write the pseudonymised data to a new file")
        frame = read_table(source, options, as_text=True)
        result, summary = pseudonymize_frame(frame, id_column or [], key, drop=drop or [], file=source.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_table(result, out)
        ids = ", ".join(f"{column} ({n} distinct)" for column, n in summary.distinct_ids.items())
        dropped = f"; dropped {', '.join(summary.dropped)}" if summary.dropped else ""
        typer.echo(f"pseudonymised {ids} in {summary.rows} rows with HMAC-SHA-256{dropped}; wrote {out}")
        return 0

    _guarded(body)


# --------------------------------------------------------------------------- oca validate


def run_validate(study: Path, data: list[str] | None, *, show_values: bool, as_json: bool,
                 out: Path | None, testability: bool = True) -> int:
    """The body of ``oca validate``: stdout gets every detail, stderr exactly one line when anything failed."""
    from ._cli_common import _parse_data
    from .api import load_study
    from .contracts import validation_problems
    from .report import write_validation

    try:
        loaded_study = load_study(study)
        result = loaded_study.validate(_parse_data(data), show_values=show_values)
    except OcaError as exc:
        if out is not None:  # the page then says why the validation stopped, instead of showing an older one
            write_validation({"study": None, "ok": False, "error": str(exc), "problems": [str(exc)],
                              "contracts": [], "data": {}, "testability": []}, out)
        raise
    payload = result.to_dict()
    if not testability:  # the files alone: contracts and columns decide
        payload["testability"] = []
        payload["ok"] = not payload["problems"] and all(c.get("passed") for c in payload["contracts"])
    files = {name: (record or {}).get("file") for name, record in payload.get("data", {}).items()}
    plan = loaded_study.plan
    problems = validation_problems(payload, files=files,
                                   suites={s.name: s.contract_display for s in plan.sources},
                                   spec_files={t.id: t.spec_file for t in plan.tasks})
    payload["problem_lines"] = problems
    if as_json:
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        from ._cli_common import derived_seed_notes

        for line in [*_detail_lines(payload), *derived_seed_notes(loaded_study)]:
            typer.echo(line)
    if out is not None:
        json_path, html_path = write_validation(payload, out)
        if not as_json:
            typer.echo(f"wrote {json_path} and {html_path}")
    if problems:
        more = ""
        if len(problems) > 1:
            where = f" and in {out / 'validation.json'}" if out is not None else ""
            more = f" (and {len(problems) - 1} more problem(s), listed on stdout{where})"
        typer.echo(f"error: {problems[0]}{more}", err=True)
    return 0 if payload["ok"] else EXIT_CODES["ContractError"]


def _detail_lines(payload: dict[str, Any]) -> list[str]:
    lines = []
    for record in payload.get("contracts") or []:
        status = "passed" if record.get("passed") else "FAILED"
        lines.append(f"{record.get('source')}: contract {record.get('suite')} {status} "
                     f"({record.get('n_evaluated')}/{record.get('n_expectations')} expectations evaluated)")
        if record.get("error"):
            lines.append(f"  {record['error']}")
        lines += [f"  {failure.get('message')}" for failure in record.get("failures") or []]
    for record in payload.get("testability") or []:
        status = "testable" if record.get("testable") else f"NOT TESTABLE: {record.get('reason')}"
        lines.append(f"{record.get('hypothesis')}: {status}")
        lines += [f"  {check.get('message')}" for check in record.get("checks") or []
                  if check.get("passed") and str(check.get("message") or "").startswith("note: ")]
    lines += [f"problem: {line}" for line in payload.get("problems") or []]
    return lines


def contract_failure_line(result: Any, *, strict: bool) -> str | None:
    """One stderr line for ``oca run`` when contracts failed: the first failure named, the others counted."""
    from .contracts import contract_problem

    failed = [record for record in result.contracts if not record.get("passed")]
    if not failed:
        return None
    first = failed[0]
    data_file = (result.data.get(str(first.get("source"))) or {}).get("file")
    line = contract_problem(first, data_file=data_file, suite_display=None)
    if len(failed) > 1:
        line += f" (and {len(failed) - 1} more source(s) failed their contract)"
    note = "" if strict else "; the hypotheses of the failing source(s) were not estimated"
    return f"{'error' if strict else 'warning'}: {line}{note}"


__all__ = ["contract_failure_line", "data_app", "run_validate"]
