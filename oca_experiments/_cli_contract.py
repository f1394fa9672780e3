"""``oca contract draft``: profile a data file (and its XLSForm) and write a Great Expectations suite to review.

Registered in ``cli.py``. Exit codes: 0 written; 2 bad input (data, form, study.yaml, an existing reviewed suite
without ``--force``). Nothing is written unless the whole draft succeeded (atomic write).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._cli_common import DataOption, _guarded, _parse_data
from .errors import DataError

contract_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="Data contracts: draft a suite from a data file for the team to review.")

#: meta.oca.placeholder marks the suite `oca init` writes; drafting over it needs no --force.
PLACEHOLDER_KEY = "placeholder"


def _existing_is_reviewed(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        meta = (json.loads(path.read_text(encoding="utf-8")).get("meta") or {}).get("oca") or {}
    except (ValueError, AttributeError, UnicodeDecodeError):
        return True  # unreadable: do not overwrite what someone may have been editing
    return not meta.get(PLACEHOLDER_KEY)


def _study_source(study: Path, name: str) -> tuple[Path | None, dict[str, Any], Path | None]:
    """The suite path, reader pins and XLSForm study.yaml declares for source ``name`` (none without study.yaml)."""
    from .spec import load_study_config

    if not (study / "study.yaml").is_file():
        return None, {}, None
    config = load_study_config(study)
    source = config.sources.get(name)
    if source is None:
        raise DataError(f"study.yaml declares no source '{name}'",
                        fix=f"use one of: {', '.join(sorted(config.sources))}, or add the source to study.yaml")
    return study / source.contract, dict(source.reader), study / source.xlsform if source.xlsform else None


@contract_app.command("draft")
def draft(
    data: DataOption = None,
    study: Annotated[Path, typer.Option(help="Study folder: the suite goes where study.yaml's source says, and "
                                             "its reader pins are used.")] = Path("."),
    form: Annotated[Path | None, typer.Option(
        help="The survey's XLSForm (.xlsx with survey and choices sheets): choice lists and labels (default: the "
             "source's xlsform in study.yaml).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Suite file to write (default: the source's contract in study.yaml, else data_contracts/NAME.json).")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a suite that was already reviewed.")] = False,
) -> None:
    """Profile a data file and write a draft data contract: columns, types as allowed sets and ranges, Likert and
    arm values, unit x wave uniqueness, sensitive columns. Review it, then commit it."""

    def body() -> int:
        from ._atomic import atomic_write_text
        from .contracts import draft_suite
        from .io import read_table, read_xlsform, reader_options

        sources = _parse_data(data)
        if len(sources) != 1:
            raise DataError("give exactly one --data NAME=FILE", fix="e.g. oca contract draft --data survey=survey.csv")
        (name, path), = sources.items()
        declared, pins, declared_form = _study_source(study, name)
        chosen_form = form if form is not None else declared_form
        target = out or declared or study / "data_contracts" / f"{name}.json"
        if _existing_is_reviewed(target) and not force:
            raise DataError(f"{target} already holds a reviewed suite", file=target.name,
                            fix="pass --force to replace it, or --out another file to compare")
        frame = read_table(path, reader_options(pins, field=f"sources.{name}.reader"))
        suite = draft_suite(frame, source=name, file_name=path.name,
                            form=read_xlsform(chosen_form) if chosen_form is not None else None)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(suite, indent=2, ensure_ascii=False) + "\n")
        oca_meta = suite["meta"]["oca"]
        typer.echo(f"wrote {target}: {len(suite['expectations'])} expectations from {path.name} "
                   f"({len(frame)} rows); sensitive columns: {', '.join(oca_meta['sensitive_columns']) or 'none'}")
        if oca_meta.get("roles"):
            typer.echo("recognised: " + ", ".join(f"{k} = {v}" for k, v in oca_meta["roles"].items()))
        if oca_meta.get("form_questions_not_in_file"):
            typer.echo(f"note: {len(oca_meta['form_questions_not_in_file'])} form question(s) have no column in "
                       f"the file (listed in meta.oca.form_questions_not_in_file)")
        typer.echo("next: review the expectations marked drafted_from 'data' (observed ranges and sets), then "
                   "commit the suite")
        return 0

    _guarded(body)
