"""Issue 18 acceptance 3: single-field tampering of every locked input is caught, 100%, on a generated set.

The set is generated from a locked copy of the demo study (two confirmatory specs, one of them running analysis code
on the engagement source, and one exploratory spec): every leaf of every spec, of the lock file and of both contract
suites is changed once, and every line of the analysis code the lock pins is changed once. Each edit is applied alone
to the otherwise untouched study and then undone.

"Caught" means what a reviewer would need:
- a confirmatory spec's input (its fields, its suite, its code) or the lock itself: ``oca prereg check`` fails (the
  registry state reports an error, or the study no longer loads, which also fails the check);
- an exploratory spec's field: the change shows (its status is no longer ``locked_unchanged``, so the firewall
  labels the result as amended) - exploratory specs may change without a deviation, by design.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prereg_helpers import LOCKED_AT, copy_study

from oca_experiments.errors import OcaError
from oca_experiments.prereg import LOCK_FILE, lock_study, registry_state

SPECS = ("h1_horizontal_trust.yaml", "h4_engagement_per_post.yaml", "h6_horizontal_trust_by_sex.yaml")
EXPLORATORY = {"h6_horizontal_trust_by_sex.yaml": "h6_horizontal_trust_by_sex"}
SUITES = ("data_contracts/survey.json", "data_contracts/engagement.json")

Path_ = tuple[Any, ...]


def _leaves(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for position, item in enumerate(value):
            yield from _leaves(item, (*path, position))
    else:
        yield path


def _changed(value: Any) -> Any:
    """A different value of the same kind (a tamperer keeps the file plausible)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.125
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if value is None:
        return "x"
    if value == [] or value == {}:
        return ["x"] if isinstance(value, list) else {"x": 1}
    raise AssertionError(f"no change for {value!r}")


def _with_leaf(document: Any, path: Path_) -> Any:
    copy = json.loads(json.dumps(document, default=str)) if not _has_dates(document) else _deep_copy(document)
    if not path:
        return _changed(copy)
    parent = copy
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = _changed(parent[path[-1]])
    return copy


def _has_dates(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_dates(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_dates(v) for v in value)
    return isinstance(value, dt.date)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _edits(study: Path) -> Iterator[tuple[str, str, Callable[[str], str], str | None]]:
    """(input kind, description, text -> tampered text, exploratory spec id or None) for the generated set."""
    for name in SPECS:
        relative = f"hypotheses/{name}"
        document = yaml.safe_load((study / relative).read_text(encoding="utf-8"))
        for path in _leaves(document):
            tampered = yaml.safe_dump(_with_leaf(document, path), sort_keys=False, allow_unicode=True)
            yield "spec", f"{relative}:{'.'.join(map(str, path))}", (lambda _text, t=tampered: t), EXPLORATORY.get(name)
    lock = json.loads((study / LOCK_FILE).read_text(encoding="utf-8"))
    for path in _leaves(lock):
        tampered = json.dumps(_with_leaf(lock, path), indent=2, ensure_ascii=False)
        yield "lock", f"{LOCK_FILE}:{'.'.join(map(str, path))}", (lambda _text, t=tampered: t), None
    for relative in SUITES:
        suite = json.loads((study / relative).read_text(encoding="utf-8"))
        for path in _leaves(suite):
            tampered = json.dumps(_with_leaf(suite, path), indent=2, ensure_ascii=False)
            yield "suite", f"{relative}:{'.'.join(map(str, path))}", (lambda _text, t=tampered: t), None
    pinned = sorted({path for entry in lock["entries"] for path in (entry.get("analysis") or {})})
    assert pinned == ["analysis/engagement.py"]
    for relative in pinned:
        lines = (study / relative).read_text(encoding="utf-8").splitlines(keepends=True)
        for number, line in enumerate(lines):
            def tamper(text: str, number: int = number) -> str:
                rows = text.splitlines(keepends=True)
                body = rows[number].rstrip("\n")
                rows[number] = (body[:-1] + chr(ord(body[-1]) ^ 1) if body.strip() else body + " ") + "\n"
                return "".join(rows)
            yield "analysis", f"{relative}:line {number + 1}", tamper, None


def _file_of(description: str) -> str:
    return description.split(":", 1)[0]


def _caught(study: Path, exploratory: str | None) -> bool:
    try:
        state = registry_state(study)
    except OcaError:
        return True  # the study no longer loads: the check fails with a one-line error
    if exploratory is not None:
        return state.spec(exploratory).status != "locked_unchanged"
    return bool(state.errors())


def test_every_single_field_tampering_of_a_locked_input_is_caught(tmp_path: Path) -> None:
    study = copy_study(tmp_path / "study", SPECS)
    lock_study(study, now=LOCKED_AT)
    assert registry_state(study).errors() == []
    assert {s.status for s in registry_state(study).specs} == {"locked_unchanged"}
    counts: dict[str, int] = {}
    missed: list[str] = []
    for kind, description, tamper, exploratory in _edits(study):
        target = study / _file_of(description)
        original = target.read_bytes()
        tampered = tamper(original.decode("utf-8"))
        assert tampered.encode("utf-8") != original, description
        target.write_text(tampered, encoding="utf-8")
        try:
            if not _caught(study, exploratory):
                missed.append(description)
        finally:
            target.write_bytes(original)
        counts[kind] = counts.get(kind, 0) + 1
    assert registry_state(study).errors() == []  # every edit was undone
    assert min(counts.get(kind, 0) for kind in ("spec", "lock", "suite", "analysis")) > 10, counts
    assert not missed, f"{len(missed)} of {sum(counts.values())} edits not caught: {missed[:10]}"


@pytest.mark.parametrize("edit", ["about", "extra key"])
def test_the_unhashed_top_level_of_the_lock_is_checked_too(tmp_path: Path, edit: str) -> None:
    study = copy_study(tmp_path / "study", SPECS[:1])
    lock_study(study, now=LOCKED_AT)
    payload = json.loads((study / LOCK_FILE).read_text(encoding="utf-8"))
    if edit == "about":
        payload["about"] += " Edited."
    else:
        payload["note"] = "harmless?"
    (study / LOCK_FILE).write_text(json.dumps(payload), encoding="utf-8")
    assert not registry_state(study).lock.intact


def test_analysis_modules_the_locked_module_imports_are_pinned_too(tmp_path: Path) -> None:
    study = copy_study(tmp_path / "study", ("h4_engagement_per_post.yaml",))
    (study / "analysis" / "_helpers.py").write_text("SCALE = 1.0\n", encoding="utf-8")
    module = study / "analysis" / "engagement.py"
    module.write_text("from ._helpers import SCALE  # noqa: F401\n" + module.read_text(encoding="utf-8"),
                      encoding="utf-8")
    lock_study(study, now=LOCKED_AT)
    entry = json.loads((study / LOCK_FILE).read_text(encoding="utf-8"))["entries"][0]
    assert set(entry["analysis"]) == {"analysis/engagement.py", "analysis/_helpers.py"}
    (study / "analysis" / "_helpers.py").write_text("SCALE = 2.0\n", encoding="utf-8")
    state = registry_state(study)
    assert [c.field for c in state.spec("h4_engagement_per_post").undeclared] == ["analysis/_helpers.py"]
    assert state.errors()
