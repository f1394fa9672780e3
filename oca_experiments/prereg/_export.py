"""``oca prereg export``: the plan as markdown under the headings the AEA RCT Registry and OSF Prereg ask for.

Every registered hypothesis is written out in full from the canonical spec stored in the lock (the registered
version, even when the YAML changed since; declared deviations are listed after it). Specs not in the lock follow
in their own section, marked as not registered. Fields the registry asks for that specs do not hold (e.g. IRB,
blinding) are left as visible ``[to fill in: …]`` prompts rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..spec import load_hypotheses, load_study_config
from ._canonical import canonical_spec
from ._deviations import Deviation
from ._lock import LOCK_FILE
from ._status import RegistryState, registry_state

FORMATS = ("aea", "osf")
MISSING = "not registered"
_VERDICT_RULE = ("supported when the registered test rejects no effect at alpha in the registered direction; not "
                 "supported when the {level}% confidence interval rules out the SESOI in that direction (or the "
                 "effect is significant the other way); otherwise inconclusive")


def _fill(what: str) -> str:
    return f"[to fill in: {what}]"


def _code(value: Any) -> str:
    return f"`{value}`"


def _codes(values: Iterable[Any]) -> str:
    values = list(values)
    return ", ".join(_code(v) for v in values) if values else "none"


def _number(value: Any) -> str:
    """A value as registry text: numbers without trailing zeros, booleans as yes/no, mappings as 'key value'."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # shortest exact form: a registry must not round a registered number
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{str(k).replace('_', ' ')} {_number(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(_number(v) for v in value) or "none"
    return str(value)


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "", [], {}) else MISSING


def _others(section: Mapping[str, Any], known: set[str]) -> list[str]:
    """Fields this exporter does not know by name (e.g. added by a newer oca): shown as key: value."""
    lines = []
    for key in sorted(set(section) - known):
        value = section[key]
        if value in (None, "", [], {}):
            continue
        lines.append(f"{key.replace('_', ' ')}: {_number(value)}")
    return lines


@dataclass(frozen=True)
class _Entry:
    spec: Mapping[str, Any]
    registered: bool
    sha256: str | None
    locked_at: str | None
    status: str
    deviations: tuple[tuple[int, Deviation], ...]
    type: str  # effective: the lock's type; a spec added after a lock is exploratory; before any lock, the YAML's


def _construction(construction: Mapping[str, Any]) -> list[str]:
    method = construction.get("method")
    known = {"method", "items", "reverse", "scale", "min_items", "column", "function", "inputs"}
    lines = [f"construction method: {method}"]
    if method == "column":
        lines.append(f"the column {_code(construction.get('column'))} as it is")
    elif method == "function":
        lines.append(f"computed by {_code(construction.get('function'))} (study's analysis/ code) from "
                     f"{_codes(construction.get('inputs') or [])}")
    else:
        lines.append(f"items: {_codes(construction.get('items') or [])}")
        lines.append(f"reverse-coded items: {_codes(construction.get('reverse') or [])}")
        scale = construction.get("scale")
        lines.append(f"scale range: {_number(scale[0])} to {_number(scale[1])}" if scale else "scale range: "
                     + MISSING)
        minimum = construction.get("min_items")
        lines.append(f"missing-item rule: a respondent needs at least {minimum} answered items; the index is "
                     "built from the answered items" if minimum else
                     "missing-item rule: the index is built from the answered items (no minimum registered)")
    return lines + _others(construction, known)


def _design(design: Mapping[str, Any]) -> list[str]:
    known = {"unit", "time", "pre", "post", "treatment", "adoption", "cluster", "group", "subset", "waves",
             "treatment_definition"}
    lines = [f"unit of analysis column {_code(design.get('unit'))}; time column {_code(design.get('time'))}"]
    waves = design.get("waves") or []
    for wave in waves:
        window = (f"{wave.get('start') or '?'} to {wave.get('end') or '?'}"
                  if wave.get("start") or wave.get("end") else "window not registered")
        lines.append(f"wave {_code(wave.get('label'))}: {window}"
                     + (f" ({_text(wave['description'])})" if wave.get("description") else ""))
    if design.get("pre") or design.get("post"):
        lines.append(f"pre-treatment wave {_code(design.get('pre'))}, post-treatment wave {_code(design.get('post'))}")
    lines.append(f"treatment: column {_code(design.get('treatment'))}"
                 + (f"; {_text(design['treatment_definition'])}" if design.get("treatment_definition") else ""))
    if design.get("adoption"):
        lines.append(f"treatment start (staggered adoption): column {_code(design['adoption'])}")
    lines.append(f"clusters (unit of assignment): {_code(design['cluster']) if design.get('cluster') else 'none'}")
    if design.get("group"):
        lines.append(f"implementing groups: column {_code(design['group'])}")
    for column, values in (design.get("subset") or {}).items():
        lines.append(f"analysed subset: rows with {_code(column)} in {_codes(values)}")
    return lines + _others(design, known)


def _estimation(spec: Mapping[str, Any]) -> list[str]:
    estimator = spec.get("estimator") or {}
    inference = spec.get("inference") or {}
    options = estimator.get("options") or {}
    lines = [f"estimator: {_code(estimator.get('name'))}"
             + (" with options " + "; ".join(f"{k}: {_number(v)}" for k, v in sorted(options.items()))
                if options else "")]
    lines.append(f"covariates (pre-treatment only): {_codes(spec.get('covariates') or [])}")
    lines.append(f"additional fixed effects: {_codes(spec.get('fixed_effects') or [])}")
    cluster = (spec.get("design") or {}).get("cluster")
    lines.append(f"standard errors: {inference.get('se')}" + (f", clustered by {_code(cluster)}" if cluster else ""))
    return lines


def _inference(spec: Mapping[str, Any], entry_type: str | None = None) -> list[str]:
    inference = spec.get("inference") or {}
    known = {"alpha", "tails", "se", "sesoi", "family", "ci_level"}
    alpha = inference.get("alpha")
    tails = {"one": "one-sided", "two": "two-sided"}.get(inference.get("tails"), inference.get("tails"))
    sesoi = inference.get("sesoi")
    level = 100 * (1 - 2 * alpha) if isinstance(alpha, (int, float)) else "1-2*alpha"
    entry_type = entry_type or spec.get("type")
    lines = [f"alpha {_number(alpha)}, {tails} test, direction {spec.get('direction')}",
             f"confidence intervals: {_number(100 * inference['ci_level'])}%" if inference.get("ci_level") else "",
             f"smallest effect size of interest (SESOI): {_number(sesoi)} (outcome units)" if sesoi is not None
             else "smallest effect size of interest (SESOI): none registered",
             f"multiple-testing family: {inference.get('family') or 'its own (family of one)'}"
             + (" (confirmatory family)" if entry_type == "confirmatory" else " (exploratory; never adjusted "
                "together with confirmatory hypotheses)"),
             "verdict rule: " + _VERDICT_RULE.format(level=_number(level))]
    if sesoi is not None and sesoi > 0:
        lines.append(f"equivalence (ROPE) reading: the {_number(level)}% interval against (-{_number(sesoi)}, "
                     f"{_number(sesoi)}): practically equivalent, practically relevant or undecided")
    return [line for line in lines if line] + _others(inference, known)


def _bayes(spec: Mapping[str, Any]) -> list[str]:
    bayes = spec.get("bayes")
    if not isinstance(bayes, Mapping):
        return []
    decision = bayes.get("decision") or {}
    priors = bayes.get("priors") or {}
    lines = ["priors (scales on the standardised scale): "
             + ("; ".join(f"{k}: {_number(v)}" for k, v in sorted(priors.items())) or "the estimator's defaults"),
             f"decision rule: supported when P(effect beyond {decision.get('against', 'sesoi')} in the registered "
             f"direction) >= {_number(decision.get('probability'))}"]
    return lines + _others(bayes, {"priors", "decision"})


def _power(spec: Mapping[str, Any]) -> list[str]:
    power = spec.get("power")
    if not isinstance(power, Mapping):
        return [f"power calculation: {MISSING}"]
    return [f"MDE {_number(power.get('mde')) if power.get('mde') is not None else MISSING} (outcome units) at "
            f"power {_number(power.get('power'))}",
            f"ICC {_number(power['icc']) if power.get('icc') is not None else MISSING}",
            f"planned clusters {power.get('planned_clusters') or MISSING}; planned units of analysis "
            f"{power.get('planned_respondents') or MISSING}",
            f"method: {_text(power.get('method'))}"]


def _exclusions(spec: Mapping[str, Any]) -> list[str]:
    exclusions = (spec.get("data_rules") or {}).get("exclusions") or {}
    lines = [f"exclusion of duplicates: {_text(exclusions.get('duplicates'))}",
             f"exclusion of speeders: {_text(exclusions.get('speeders'))}",
             f"exclusion for failed attention checks: {_text(exclusions.get('attention_checks'))}"]
    return lines + [f"other exclusion: {_text(rule)}" for rule in exclusions.get("other") or []]


def _missing_data(spec: Mapping[str, Any]) -> list[str]:
    rules = spec.get("data_rules") or {}
    construction = (spec.get("outcome") or {}).get("construction") or {}
    items = [line for line in _construction(construction) if line.startswith("missing-item rule")]
    return items + [f"attrition plan: {_text(rules.get('attrition'))}",
                    f"missing outcomes: {_text(rules.get('missing_outcome'))}"]


def _data_rules(spec: Mapping[str, Any]) -> list[str]:
    rules = spec.get("data_rules") or {}
    return _exclusions(spec) + [f"attrition plan: {_text(rules.get('attrition'))}",
                                f"missing outcomes: {_text(rules.get('missing_outcome'))}",
                                f"outliers: {_text(rules.get('outliers'))}",
                                f"stopping rule: {_text(rules.get('stopping'))}"]


def _additional(spec: Mapping[str, Any]) -> list[str]:
    lines = [f"subgroup analysis {_code(s.get('name'))}: by {_code(s.get('column'))}"
             + (f" ({_codes(s.get('levels'))})" if s.get("levels") else "")
             + f", family {_code(s.get('family'))}" + (f"; {_text(s['description'])}" if s.get("description") else "")
             for s in spec.get("subgroups") or []]
    lines += [f"robustness check {_code(r.get('name'))}: {_text(r.get('description'))}"
              for r in spec.get("robustness") or []]
    return lines or ["no subgroup analyses or robustness checks registered"]


def _bullets(title: str, lines: Iterable[str]) -> str:
    lines = [line for line in lines if line]
    return f"**{title}.**\n\n" + "\n".join(f"- {line}" for line in lines) if lines else ""


def _hypothesis_block(entry: _Entry) -> str:
    spec = entry.spec
    outcome = spec.get("outcome") or {}
    if entry.registered:
        registration = f"registered in the lock at {entry.locked_at}; spec SHA-256 {entry.sha256}"
    elif entry.type == spec.get("type"):
        registration = f"not locked yet (spec SHA-256 {entry.sha256}): run 'oca prereg lock' when registering"
    else:
        registration = "NOT registered: added after the lock, hence exploratory until locked"
    type_text = entry.type if entry.type == spec.get("type") else f"{entry.type} (the spec says {spec.get('type')})"
    claim = [f"hypothesis: {_text(spec.get('hypothesis'))}", f"type: {type_text}",
             f"direction: {spec.get('direction')}", f"estimand: {_text(spec.get('estimand'))}",
             f"target population: {_text(spec.get('target_population'))}",
             f"unit of analysis: {_text(spec.get('unit_of_analysis'))}",
             f"unit of assignment: {_text(spec.get('unit_of_assignment'))}",
             f"version {spec.get('version')}, status stated in the spec: {spec.get('status')}, registration date: "
             f"{spec.get('registration_date') or MISSING}", registration]
    parts = [f"### {spec.get('id')}: {_text(spec.get('title'))}",
             _bullets("Claim", claim),
             _bullets(f"Outcome {_code(outcome.get('name'))} from source {_code(outcome.get('source'))}"
                      + (f" ({_text(outcome['label'])})" if outcome.get("label") else ""),
                      _construction(outcome.get("construction") or {})),
             _bullets("Design", _design(spec.get("design") or {})),
             _bullets("Estimation", _estimation(spec)),
             _bullets("Inference", _inference(spec, entry.type)),
             _bullets("Bayesian model", _bayes(spec)),
             _bullets("Power", _power(spec)),
             _bullets("Data rules", _data_rules(spec)),
             _bullets("Additional analyses", _additional(spec))]
    if entry.deviations:
        parts.append(_bullets("Declared deviations from this registered version", _deviation_lines(entry)))
    return "\n\n".join(p for p in parts if p)


def _deviation_lines(entry: _Entry) -> list[str]:
    lines = []
    for number, deviation in entry.deviations:
        fields = "; ".join(f"{c.field}: {c.before!r} → {c.after!r}" for c in deviation.changes) or "withdrawn"
        lines.append(f"deviation {number} ({deviation.date.isoformat()}): {fields}. Reason: {_text(deviation.reason)}. "
                     f"Outcome data seen: {'yes' if deviation.outcome_data_seen else 'no'}. Expected impact: "
                     f"{_text(deviation.expected_impact)}")
    return lines


def _entries(state: RegistryState, current: Mapping[str, Mapping[str, Any]]) -> list[_Entry]:
    """Registered versions first (lock order), then specs not in the lock (``current``: canonical specs by id)."""
    registered = state.lock.spec_entries()
    entries = []
    for spec_id, locked in registered.items():
        spec_state = state.spec(spec_id)
        spec = locked.get("spec") or {}
        entries.append(_Entry(spec=spec, registered=True, sha256=locked.get("sha256"),
                              locked_at=locked.get("locked_at"), status=spec_state.status,
                              deviations=spec_state.deviations, type=str(spec.get("type"))))
    for spec_state in state.specs:
        if spec_state.status == "unregistered":
            spec = current[spec_state.spec_id]
            entries.append(_Entry(spec=spec, registered=False, sha256=spec_state.sha256, locked_at=None,
                                  status="unregistered", deviations=(),
                                  type="exploratory" if state.lock.exists else str(spec.get("type"))))
    return entries


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v not in (None, "", [], {})))


def _lock_section(state: RegistryState) -> str:
    if not state.lock.exists:
        return ("No registry lock yet. Run `oca prereg lock` before outcome data are seen, then export again: the "
                "export then names each spec's SHA-256 and the lock's head hash.")
    lines = [f"lock file `{LOCK_FILE}`: {len(state.lock.entries)} entries, head entry SHA-256 `{state.lock.head}` "
             "(paste this hash into the registry: it anchors the lock outside the repository)",
             "verification: " + ("intact" if state.intact else "FAILED: "
                                 + "; ".join(str(p.as_error()) for p in (*state.lock.problems, *state.log_problems)))]
    lines += [f"{e.get('spec_id')}: SHA-256 `{e.get('sha256')}`, locked {e.get('locked_at')}"
              + (f", commit {e['git_commit'][:12]}" if e.get("git_commit") else "")
              for e in state.lock.spec_entries().values()]
    return "\n".join(f"- {line}" for line in lines)


def _summary_lists(entries: list[_Entry]) -> dict[str, Any]:
    confirmatory = [e for e in entries if e.type == "confirmatory"]
    secondary = [e for e in entries if e not in confirmatory]
    powers = [e.spec.get("power") or {} for e in confirmatory]
    designs = [e.spec.get("design") or {} for e in entries]
    return {
        "confirmatory": confirmatory, "secondary": secondary,
        "interventions": _unique(d.get("treatment_definition") for d in designs),
        "assignment": _unique(e.spec.get("unit_of_assignment") for e in entries),
        "clustered": any(d.get("cluster") for d in designs),
        "clusters": _unique(p.get("planned_clusters") for p in powers),
        "observations": _unique(p.get("planned_respondents") for p in powers),
        "mdes": [(e.spec.get("id"), (e.spec.get("power") or {}).get("mde")) for e in confirmatory],
        "waves": _unique((w.get("label"), w.get("start"), w.get("end")) for d in designs for w in d.get("waves") or []),
        "stopping": _unique((e.spec.get("data_rules") or {}).get("stopping") for e in entries),
    }


def _outcome_list(entries: list[_Entry], explain: bool) -> str:
    if not entries:
        return "None."
    lines = []
    for entry in entries:
        outcome = entry.spec.get("outcome") or {}
        name = f"{_code(outcome.get('name'))} ({entry.spec.get('id')})"
        if explain:
            lines.append(f"- {name}: " + "; ".join(_construction(outcome.get("construction") or {})))
        else:
            lines.append(f"- {name}" + (f": {_text(outcome['label'])}" if outcome.get("label") else ""))
    return "\n".join(lines)


def _header(config: Any, state: RegistryState, registry: str) -> str:
    from .._version import __version__

    return (f"# {config.name}: {registry} text\n\n"
            f"*Generated by oca {__version__} from the study's hypothesis specs and registry lock. Each section "
            f"below is headed with the registry's field; paste it there. Hypotheses are written out in full at the "
            f"end. `[to fill in: …]` marks what the specs do not hold.*")


def _aea(config: Any, state: RegistryState, entries: list[_Entry]) -> list[str]:
    s = _summary_lists(entries)
    mdes = "\n".join(f"- {hid}: {_number(mde) if mde is not None else MISSING} (outcome units)"
                     for hid, mde in s["mdes"]) or "None registered."
    return [
        _header(config, state, "AEA RCT Registry"),
        f"## Title\n\n{config.name}",
        f"## Abstract\n\n{_text(config.description) if config.description else _fill('a short abstract')}",
        "## Intervention(s)\n\n" + ("\n".join(f"- {_text(t)}" for t in s["interventions"])
                                    or _fill("the intervention")),
        "## Primary Outcomes (end points)\n\n" + _outcome_list(s["confirmatory"], explain=False),
        "## Primary Outcomes (explanation)\n\n" + _outcome_list(s["confirmatory"], explain=True),
        "## Secondary Outcomes (end points)\n\n" + _outcome_list(s["secondary"], explain=False),
        "## Secondary Outcomes (explanation)\n\n" + _outcome_list(s["secondary"], explain=True),
        "## Experimental Design (Public)\n\n" + "\n".join(
            f"- {e.spec.get('id')}: " + "; ".join(_design(e.spec.get("design") or {})) for e in entries),
        "## Randomization Method\n\n" + _fill("how assignment was randomised (e.g. stratified by CSO, by computer)"),
        "## Randomization Unit\n\n" + ("\n".join(f"- {_text(u)}" for u in s["assignment"])
                                       or _fill("the unit of assignment")),
        f"## Was the treatment clustered?\n\n{'Yes' if s['clustered'] else 'No'}",
        "## Sample size: planned number of clusters\n\n" + (", ".join(map(str, s["clusters"])) or MISSING),
        "## Sample size: planned number of observations\n\n" + (", ".join(map(str, s["observations"])) or MISSING),
        "## Sample size (or number of clusters) by treatment arms\n\n" + _fill("clusters and units per arm"),
        "## Minimum detectable effect size for main outcomes\n\n" + mdes,
        "## IRB\n\n" + _fill("the ethics review board and approval number"),
        "## Analysis Plan\n\n" + _analysis_plan(entries),
        "## Registry lock\n\n" + _lock_section(state),
    ]


def _osf(config: Any, state: RegistryState, entries: list[_Entry]) -> list[str]:
    s = _summary_lists(entries)
    hypotheses = "\n".join(f"{i}. **{e.spec.get('id')}** ({e.type}, "
                           f"{e.spec.get('direction')}): {_text(e.spec.get('hypothesis'))}"
                           for i, e in enumerate(entries, start=1))
    waves = "\n".join(f"- wave `{label}`: {start or '?'} to {end or '?'}" for label, start, end in s["waves"])
    exploratory = [e for e in entries if e.type != "confirmatory"]
    return [
        _header(config, state, "OSF Preregistration"),
        "## Study Information",
        f"### Title\n\n{config.name}",
        f"### Description\n\n{_text(config.description) if config.description else _fill('a description')}",
        f"### Hypotheses\n\n{hypotheses}",
        "## Design Plan",
        "### Study type\n\nExperiment: treatment is assigned to " + (", ".join(_text(u) for u in s["assignment"])
                                                                     or _fill("the unit of assignment")) + ".",
        "### Blinding\n\n" + _fill("who is blinded to assignment"),
        "### Study design\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_design(e.spec.get("design") or {}))
                                           for e in entries),
        "### Randomization\n\n" + _fill("how assignment was randomised")
        + (" Assignment is clustered." if s["clustered"] else ""),
        "## Sampling Plan",
        "### Existing Data\n\n" + _fill("whether any outcome data existed at registration; the lock times are "
                                        "listed under 'Other'"),
        "### Data collection procedures\n\n" + (waves or _fill("waves and their windows")),
        "### Sample size\n\n" + f"Planned clusters: {', '.join(map(str, s['clusters'])) or MISSING}; planned units "
        f"of analysis: {', '.join(map(str, s['observations'])) or MISSING}.",
        "### Sample size rationale\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_power(e.spec))
                                                    for e in s["confirmatory"]),
        "### Stopping rule\n\n" + ("\n".join(f"- {_text(r)}" for r in s["stopping"]) or MISSING),
        "## Variables",
        "### Manipulated variables\n\n" + ("\n".join(f"- {_text(t)}" for t in s["interventions"])
                                           or _fill("the treatment")),
        "### Measured variables\n\n" + _outcome_list(entries, explain=False),
        "### Indices\n\n" + _outcome_list(entries, explain=True),
        "## Analysis Plan",
        "### Statistical models\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_estimation(e.spec))
                                                 for e in entries),
        "### Inference criteria\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_inference(e.spec, e.type))
                                                 for e in entries),
        "### Data exclusion\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_exclusions(e.spec))
                                             for e in entries),
        "### Missing data\n\n" + "\n".join(f"- {e.spec.get('id')}: " + "; ".join(_missing_data(e.spec))
                                           for e in entries),
        "### Exploratory analysis\n\n" + ("\n".join(f"- {e.spec.get('id')}: {_text(e.spec.get('title'))}"
                                                    for e in exploratory) or "None beyond the subgroup and robustness "
                                                                             "analyses listed per hypothesis."),
        "## Other\n\n### Hypotheses in full\n\n" + _analysis_plan(entries) + "\n\n### Registry lock\n\n"
        + _lock_section(state),
    ]


def _analysis_plan(entries: list[_Entry]) -> str:
    return "\n\n".join(_hypothesis_block(e) for e in entries) if entries else "No hypothesis specs."


def export_plan(study_dir: str | Path, fmt: str) -> str:
    """The registry text (markdown) for ``fmt`` in ``FORMATS``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    study_dir = Path(study_dir)
    config = load_study_config(study_dir)
    spec_files = load_hypotheses(study_dir)
    state = registry_state(study_dir, spec_files, config)
    entries = _entries(state, {sf.spec.id: canonical_spec(sf.spec) for sf in spec_files})
    sections = _aea(config, state, entries) if fmt == "aea" else _osf(config, state, entries)
    return "\n\n".join(sections) + "\n"
