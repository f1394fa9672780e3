"""``oca prereg lock|status|check|export`` and ``oca spec schema``: preregistration from the command line.

Registered in ``cli.py``. Exit codes:

- 0: success (``status`` always exits 0 unless its input is bad: it reports, ``check`` judges);
- 2: bad input (a spec or ``deviations.yaml`` that does not parse; ``lock`` refusing a lock that fails
  verification or a deviation that does not fit its spec);
- 10 (``check_spec_changed``): ``oca prereg check`` found the lock tampered with, a confirmatory spec changed or
  removed without a declared deviation, or a deviations-log entry that does not fit. One line per problem, each
  naming the spec and the field.

``oca check STUDY --data ...`` (report/_gate.py) runs the same lock check among its others, with the same exit 10.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ._cli_common import StudyArg, _guarded
from .errors import EXIT_CODES, DataError

prereg_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Lock the preregistered specs, see what changed since, check, export for registries.")
spec_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Hypothesis spec tools.")


def _short(value: Any, width: int = 70) -> str:
    from .prereg import canonical_json

    text = canonical_json(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@prereg_app.command("lock")
def lock(study: StudyArg) -> None:
    """Append every spec not yet locked (and every newly declared deviation) to hypotheses/registry.lock.json.

    Append-only: earlier entries are never rewritten, a locked spec is never locked again, nothing new means the
    file is untouched. Lock before anyone sees outcome data: the lock, not the YAML, decides what is confirmatory.
    """

    def body() -> int:
        from .prereg import lock_study

        result = lock_study(study)
        if result.written:
            typer.echo(f"locked {len(result.added)} new spec(s)" + (f" ({', '.join(result.added)})" if result.added
                                                                    else "")
                       + (f" and {result.deviations_added} deviation(s)" if result.deviations_added else "")
                       + (f", power justification of {', '.join(result.justifications_added)}"
                          if result.justifications_added else "")
                       + f" in {result.path}; head {result.head}")
        else:
            typer.echo(f"nothing new to lock; {result.path} unchanged")
        if result.unchanged:
            typer.echo(f"already locked, unchanged: {', '.join(result.unchanged)}")
        for spec_id in result.changed:
            typer.echo(f"warning: {spec_id} changed since its lock and is not locked again (its first entry stays the "
                       "registered version); see 'oca prereg status'", err=True)
        return 0

    _guarded(body)


def _deviation_template(states: list[Any]) -> str:
    items = []
    for state in states:
        items.append({"spec": state.spec_id, "date": date.today(),
                      "changes": [c.to_dict() for c in state.undeclared],
                      "reason": "[why the change was made]",
                      "outcome_data_seen": False,
                      "expected_impact": "[what this changes in the results]"})
    text = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join("  " + line for line in text.splitlines())


@prereg_app.command("status")
def status(
    study: StudyArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """List each spec as locked_unchanged, changed_with_deviation, changed_without_deviation or unregistered (and
    withdrawn / removed_without_deviation), with the field-level diff since the lock."""

    def body() -> int:
        from .prereg import DEVIATIONS_FILE, LOCK_FILE, registry_state

        state = registry_state(study)
        if as_json:
            payload = {"lock": {"exists": state.lock.exists, "intact": state.intact, "head": state.lock.head,
                                "entries": len(state.lock.entries)},
                       "problems": [str(e) for e in state.errors()],
                       "specs": [{**s.summary(), "changes": [c.to_dict() for c in s.changes],
                                  "notes": list(s.notes)} for s in state.specs]}
            typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
            return 0
        if not state.lock.exists:
            typer.echo(f"no registry lock ({LOCK_FILE}): every hypothesis is exploratory until 'oca prereg lock'")
        else:
            verdict = "intact" if state.intact else "DOES NOT VERIFY"
            typer.echo(f"registry lock {LOCK_FILE}: {len(state.lock.entries)} entries, head {state.lock.head}, "
                       f"{verdict}")
        width = max((len(s.spec_id) for s in state.specs), default=0)
        for spec in state.specs:
            kind = spec.registered_type or "exploratory"
            if spec.status == "unregistered":
                kind = f"exploratory (the spec says {spec.declared_type})"
            where = f", entry {spec.entry}, locked {spec.locked_at}" if spec.entry else ""
            typer.echo(f"{spec.spec_id:<{width}}  {spec.status:<26} {kind}{where}")
            undeclared = {c.field for c in spec.undeclared}
            for change in spec.changes:
                mark = "undeclared" if change.field in undeclared else "declared"
                typer.echo(f"    {change.field}: {_short(change.before)} -> {_short(change.after)}  ({mark})")
            for note in spec.notes:
                typer.echo(f"    note: {note}")
        for note in state.notes:
            typer.echo(f"note: {note}")
        for error in state.errors():
            typer.echo(f"problem: {error}", err=True)
        to_declare = [s for s in state.specs if s.status == "changed_without_deviation"]
        if to_declare:
            typer.echo(f"\nTo declare the undeclared changes, append under 'deviations:' in {DEVIATIONS_FILE} and "
                       "fill in the bracketed parts:\n")
            typer.echo(_deviation_template(to_declare))
        return 0

    _guarded(body)


@prereg_app.command("check")
def check(study: StudyArg) -> None:
    """Verify the lock (hash chain, spec hashes) and the deviations log; needs no data. Exits 10 on any problem."""

    def body() -> int:
        from .prereg import registry_state

        state = registry_state(study)
        errors = state.errors()
        for error in errors:
            typer.echo(f"error: {error}", err=True)
        if errors:
            return EXIT_CODES["check_spec_changed"]
        counts: dict[str, int] = {}
        for spec in state.specs:
            counts[spec.status] = counts.get(spec.status, 0) + 1
        summary = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
        lock_text = "lock intact" if state.lock.exists else "no lock yet (all exploratory)"
        typer.echo(f"prereg check passed: {lock_text}; {summary}")
        return 0

    _guarded(body)


@prereg_app.command("export")
def export(
    study: StudyArg,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="[aea|osf]",
                                     help="aea (AEA RCT Registry) or osf (OSF Prereg).")] = "aea",
    out: Annotated[Path | None, typer.Option(help="Write the markdown here instead of printing it.")] = None,
) -> None:
    """Write the plan as markdown under the registry's headings, filled from the specs and the lock."""

    def body() -> int:
        from .prereg import FORMATS, export_plan

        if fmt not in FORMATS:
            raise DataError(f"--format '{fmt}' is not available", fix=f"use one of: {', '.join(FORMATS)}")
        text = export_plan(study, fmt)
        _print_or_write(text, out)
        return 0

    _guarded(body)


SCHEMA_KINDS = ("hypothesis", "deviations", "study")


def _print_or_write(text: str, out: Path | None) -> None:
    """Print ``text``, or write it atomically to ``out`` and say so."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        from ._atomic import atomic_write_text

        atomic_write_text(out, text)
        typer.echo(f"wrote {out}")


@spec_app.command("schema")
def schema(
    kind: Annotated[str, typer.Option(metavar="[hypothesis|deviations|study]",
                                      help="hypothesis (hypotheses/*.yaml), deviations (hypotheses/deviations.yaml) "
                                           "or study (study.yaml).")] = "hypothesis",
    out: Annotated[Path | None, typer.Option(help="Write the JSON Schema here instead of printing it.")] = None,
) -> None:
    """Print the JSON Schema of a spec file, for editors (e.g. yaml-language-server: $schema=...)."""

    def body() -> int:
        from .prereg import DeviationLog
        from .spec import HypothesisSpec, StudyConfig

        models = {"hypothesis": HypothesisSpec, "deviations": DeviationLog, "study": StudyConfig}
        if kind not in models:
            raise DataError(f"--kind '{kind}' is not available", fix=f"use one of: {', '.join(SCHEMA_KINDS)}")
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                    **models[kind].model_json_schema(mode="validation")}
        if kind == "hypothesis":  # every estimator's options, not a free-form mapping
            from .estimators import with_estimator_options

            document = with_estimator_options(document)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        _print_or_write(text, out)
        return 0

    _guarded(body)
