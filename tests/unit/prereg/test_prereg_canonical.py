"""Acceptance 1: every single-field mutation of a locked spec is detected; re-formatting, comments and key order
are not.

The mutations go through the real path: a YAML file is written, loaded and compared with the lock.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from prereg_helpers import LOCKED_AT, copy_study
from pydantic import ValidationError

from oca_experiments.prereg import RegistryState, canonical_spec, lock_study, registry_state, spec_sha256
from oca_experiments.prereg._canonical import canonical_value, get_path, leaf_paths, set_path
from oca_experiments.spec import HypothesisSpec, SpecFile, load_hypotheses, load_study_config
from oca_experiments.spec._load import parse_model, read_yaml

# A mean-index survey spec and a function-outcome engagement spec: between them, every kind of field.
SPECS = ("h1_horizontal_trust.yaml", "h4_engagement_per_post.yaml")
# Each example mutates every field of both specs once (≈ 220 mutations), so two examples mutate each field twice.
# No shrinking: every example already pins one field per failure message, and shrinking ~200 draws takes minutes.
SETTINGS = settings(max_examples=2, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _enum_values(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "enum":
                yield from (v for v in value if isinstance(v, str))
            elif key == "const" and isinstance(value, str):
                yield value
            else:
                yield from _enum_values(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _enum_values(item)


ENUM_VALUES = sorted(set(_enum_values(HypothesisSpec.model_json_schema())))
WORDS = ("amended", "trust", "kyrgyz", "osh", "wave", "x")
COUPLED = {
    ("h1_horizontal_trust.yaml", "design.pre"),  # must name one of design.waves
    ("h1_horizontal_trust.yaml", "design.post"),
    ("h4_engagement_per_post.yaml", "design.pre"),  # pre and post come as a pair
    ("h4_engagement_per_post.yaml", "design.post"),
    ("h4_engagement_per_post.yaml", "outcome.construction.method"),  # another method needs its own fields
    ("h1_horizontal_trust.yaml", "weights"),  # unset: survey weights need margins, not one scalar
    ("h4_engagement_per_post.yaml", "weights"),
}
# Writing the mutated YAML is the test's side, so it may use libyaml; reading it back uses oca's own loader.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = copy_study(tmp_path_factory.mktemp("canonical") / "study", SPECS)
    lock_study(study, now=LOCKED_AT)
    return study


def _state_after_writing(study: Path, name: str, text: str) -> RegistryState:
    """Write one spec file and compare the study with its lock. Only that file is parsed again (with the real
    strict loader): parsing YAML is most of the cost, and every field of every example goes through here."""
    display = f"hypotheses/{name}"
    path = study / display
    path.write_text(text, encoding="utf-8")
    spec = parse_model(read_yaml(path, display=display), HypothesisSpec, display=display)
    others = [s for s in _parsed(study) if s.path != display]
    return registry_state(study, spec_files=(SpecFile(display, spec), *others), config=load_study_config(study))


_PARSED: dict[Path, tuple[SpecFile, ...]] = {}


def _parsed(study: Path) -> tuple[SpecFile, ...]:
    if study not in _PARSED:
        _PARSED[study] = load_hypotheses(study)
    return _PARSED[study]


def _original(study: Path, name: str) -> tuple[str, dict[str, Any]]:
    """The locked spec's id and canonical form (the lock's copy)."""
    spec = next(s.spec for s in _parsed(study) if s.path.endswith(name))
    return spec.id, canonical_spec(spec)


def _candidates(value: Any, draw: st.DataObject) -> list[Any]:
    """Values that differ from ``value`` in content; validation later keeps those a spec accepts."""
    word = draw.draw(st.sampled_from(WORDS), label="word") + str(draw.draw(st.integers(0, 99), label="n"))
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        step = draw.draw(st.integers(1, 3), label="step")
        return [value + step, value - step, value + 1, value - 1]
    if isinstance(value, float):
        factor = draw.draw(st.sampled_from([0.5, 0.9, 1.1, 1.5]), label="factor")
        return [value * factor, value + 0.01, value - 0.01, value / 2]
    if isinstance(value, str):
        return [f"{value}_{word}", f"{value} {word}", *(e for e in ENUM_VALUES if e != value),
                (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat() if _is_date(value) else word]
    if isinstance(value, list):
        options: list[Any] = []
        if value:
            options += [value[:-1], value + [copy.deepcopy(value[-1])], list(reversed(value))]
            options += [[*value[:-1], item] for item in _candidates(value[-1], draw)[:3]]
        options += [[word], [1], [0.5, 2.0], [{"name": word, "description": word}],
                    [{"name": word, "column": word, "family": word}], [{"label": word}]]
        return [o for o in options if canonical_value(o) != canonical_value(value)]
    if isinstance(value, dict):  # an empty free-form mapping (leaf_paths descends into non-empty ones)
        return [{word: [1]}, {word: 1}, {word: word}]
    if value is None:
        return [word, 1, 0.5, 0.02, "2026-01-01", {}, [1, 5], [word], True]
    raise AssertionError(f"no mutation for {value!r}")


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid(document: dict[str, Any]) -> bool:
    try:
        HypothesisSpec.model_validate(document)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


@SETTINGS
@given(data=st.data())
def test_every_single_field_mutation_is_detected(locked: Path, data: st.DataObject) -> None:
    skipped: set[tuple[str, str]] = set()
    for name in SPECS:
        spec_id, original = _original(locked, name)
        path = locked / "hypotheses" / name
        saved = path.read_text(encoding="utf-8")
        try:
            for field in leaf_paths(original):
                old = get_path(original, field)
                options = [o for o in _candidates(old, data)
                           if canonical_value(o) != canonical_value(old) and _valid(set_path(original, field, o))]
                if not options:  # coupled fields (e.g. design.pre must name a wave) have no valid one-field change
                    skipped.add((name, field))
                    continue
                new = data.draw(st.sampled_from(options), label=field)
                state = _state_after_writing(locked, name, yaml.dump(set_path(original, field, new),
                                                                      Dumper=_DUMPER, allow_unicode=True))
                if field == "id":  # a new id: the locked spec is gone and an unregistered one appeared
                    assert state.spec(spec_id).status == "removed_without_deviation"
                    continue
                spec_state = state.spec(spec_id)
                assert spec_state.status == "changed_without_deviation", (field, new)
                reported = {c.field for c in spec_state.undeclared}
                # the exact field, or the free-form mapping holding it when that mapping gained or lost keys
                assert any(field == r or field.startswith(r + ".") for r in reported), (field, reported)
                assert spec_state.errors(), field  # both specs are confirmatory: the check fails
        finally:
            path.write_text(saved, encoding="utf-8")
    # Only coupled fields lack a valid one-field change: 7 of the 148 fields of the two specs.
    assert skipped <= COUPLED, skipped - COUPLED


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _as_float_where_integral(value: Any, rng: random.Random) -> Any:
    """5 → 5.0 at random places (YAML writes 5.0); integer-typed fields accept integral floats too."""
    if isinstance(value, dict):
        return {k: _as_float_where_integral(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_float_where_integral(v, rng) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and rng.random() < 0.5:
        return float(value)
    return value


def _comment_lines(text: str, rng: random.Random) -> str:
    """Full-line comments before top-level keys (always safe in YAML), a header and a footer."""
    lines = ["# preregistered spec, reformatted"]
    for line in text.splitlines():
        if line[:1].isalpha() and rng.random() < 0.5:
            lines.append(f"# note {rng.randint(0, 999)}: nothing here is content")
        lines.append(line + (" " * rng.randint(0, 2) if not line.endswith(("|", ">", "|-", ">-")) else ""))
    lines.append("# end")
    return "\n".join(lines) + "\n"


@settings(SETTINGS, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), flow=st.sampled_from([False, True, None]), indent=st.integers(2, 5),
       width=st.integers(40, 200), explicit_defaults=st.booleans(), comments=st.booleans(),
       explicit_start=st.booleans())
def test_formatting_comments_and_key_order_are_not_changes(locked: Path, seed: int, flow: bool | None, indent: int,
                                                           width: int, explicit_defaults: bool, comments: bool,
                                                           explicit_start: bool) -> None:
    rng = random.Random(seed)
    for name in SPECS:
        path = locked / "hypotheses" / name
        saved = path.read_text(encoding="utf-8")
        spec_id, original = _original(locked, name)
        raw = yaml.safe_load(saved)
        if explicit_defaults:  # write out fields left at their default: a field at its default is the same content
            raw = {**{k: v for k, v in original.items() if rng.random() < 0.5}, **raw}
        document = _as_float_where_integral(_shuffled(raw, rng), rng)
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=flow, indent=indent, width=width,
                              allow_unicode=rng.random() < 0.5, explicit_start=explicit_start)
        if comments:
            text = _comment_lines(text, rng)
        try:
            state = _state_after_writing(locked, name, text)
            assert state.spec(spec_id).status == "locked_unchanged", (name, state.spec(spec_id).changes)
            assert state.spec(spec_id).sha256 == state.spec(spec_id).registered_sha256
            if comments:  # the whole path, once: the file as the loader sees it
                spec = next(s.spec for s in load_hypotheses(locked) if s.spec.id == spec_id)
                assert spec_sha256(spec) == state.spec(spec_id).registered_sha256
        finally:
            path.write_text(saved, encoding="utf-8")


def test_canonical_form_choices() -> None:
    # integral floats are integers; booleans are not numbers; text is NFC; dates are ISO
    assert canonical_value({"a": 5.0, "b": True, "c": "e\u0301", "d": dt.date(2026, 1, 2)}) == \
        {"a": 5, "b": True, "c": "\u00e9", "d": "2026-01-02"}
    assert canonical_value(float("nan")) == "NaN" and canonical_value([0.1]) == [0.1]
    # sorted keys, no whitespace
    from oca_experiments.prereg import canonical_json

    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert json.loads(canonical_json({"x": "Кыргызстан"})) == {"x": "Кыргызстан"}
