"""The preregistered checks behind ``oca check``: one outcome per hypothesis and check, JUnit XML, exit codes.

Checks, in the order that decides the exit code when several fail (``errors.EXIT_CODES``):

====================  ==========================================================================  ====
check                 fails when                                                                  exit
====================  ==========================================================================  ====
``lock``              a locked spec changed without a declared deviation (``oca_experiments.prereg``)  10
``contract``          the data contract of the hypothesis' source failed                           11
``rerun``             a confirmatory hypothesis did not rerun to an estimate                       12
``expected``          a result left the tolerances of the committed ``expected_results.json``      13
``diagnostics``       a Bayesian model failed its diagnostics gate (R-hat, ESS, divergences)       14
====================  ==========================================================================  ====

A hypothesis whose estimator is planned but not implemented yet is *skipped* by ``rerun`` (it cannot rerun yet;
results.json says so), not failed. ``expected_results.json`` lives in the study folder; ``--update-expected``
rewrites it from the current run, with each hypothesis' tolerance: 1e-9 (absolute and relative) for
deterministic estimators, a tenth of the posterior standard deviation for sampled ones. Edit a tolerance in the
file to register another one.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oca_experiments._layout import EXPECTED_FILE
from oca_experiments._atomic import atomic_write_json, atomic_write_text
from oca_experiments.errors import EXIT_CODES, SpecError
from oca_experiments.estimators import REGISTRY
from oca_experiments.results import EstimateResult, RunResult

__all__ = ["CHECKS", "CheckOutcome", "GateResult", "run_gate", "write_junit"]

CHECKS = ("lock", "contract", "rerun", "expected", "diagnostics")
EXIT_BY_CHECK = {
    "lock": EXIT_CODES["check_spec_changed"],
    "contract": EXIT_CODES["check_contract_failed"],
    "rerun": EXIT_CODES["check_not_rerun"],
    "expected": EXIT_CODES["check_result_drifted"],
    "diagnostics": EXIT_CODES["check_diagnostics_failed"],
}
EXPECTED_SCHEMA_VERSION = 1
COMPARED_FIELDS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters")
EXACT_FIELDS = ("status", "verdict")
DETERMINISTIC_TOLERANCE = {"abs": 1e-9, "rel": 1e-9}
SAMPLED_TOLERANCE_SD_SHARE = 0.1
# Used when a Bayesian result records raw diagnostics but no verdict of its own.
RHAT_MAX, ESS_MIN, DIVERGENCES_MAX = 1.01, 400, 0


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    hypothesis: str  # "study" for study-wide outcomes
    status: str  # passed | failed | skipped
    message: str = ""


@dataclass(frozen=True)
class GateResult:
    outcomes: tuple[CheckOutcome, ...]
    expected_path: Path
    updated_expected: bool = False
    run: Any = field(default=None, repr=False)

    @property
    def failed(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def exit_code(self) -> int:
        failing = {o.check for o in self.failed}
        for check in CHECKS:
            if check in failing:
                return EXIT_BY_CHECK[check]
        return EXIT_CODES["success"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _estimate(record: Mapping[str, Any]) -> EstimateResult | None:
    """The hypothesis record's typed estimate (None when it was not estimated)."""
    return RunResult.from_dict({"hypotheses": [record]}).hypotheses[0].result


def is_bayesian(record: Mapping[str, Any]) -> bool:
    estimator = REGISTRY.get(str(record.get("estimator")))
    result = _estimate(record)
    return (estimator is not None and estimator.bayesian) or (result is not None and result.diagnostics is not None)


# --- lock --------------------------------------------------------------------------------------------------------

def _lock_outcomes(study: Any) -> list[CheckOutcome]:
    """Lock state per hypothesis, from the prereg package."""
    from oca_experiments.prereg import gate_lock_outcomes

    return [CheckOutcome("lock", str(hid), "passed" if ok else "failed", str(message))
            for hid, ok, message in gate_lock_outcomes(study.path)]


# --- contract, rerun ---------------------------------------------------------------------------------------------

def _contract_outcomes(results: Mapping[str, Any]) -> list[CheckOutcome]:
    contracts = {c.get("source"): c for c in results.get("contracts") or []}
    out = []
    for h in results.get("hypotheses") or []:
        record = contracts.get(h.get("source"))
        if record is None:
            out.append(CheckOutcome("contract", h["id"], "failed", f"no contract result for source "
                                                                     f"'{h.get('source')}'"))
        elif record.get("passed"):
            out.append(CheckOutcome("contract", h["id"], "passed",
                                    f"suite {record.get('suite')}: {record.get('n_evaluated')} of "
                                    f"{record.get('n_expectations')} expectations passed"))
        else:
            failures = record.get("failures") or []
            columns = sorted({str(f.get("column")) for f in failures if isinstance(f, Mapping) and f.get("column")})
            detail = record.get("error") or (f"{len(failures)} failing expectation(s)"
                                             + (f" on {', '.join(columns[:5])}" if columns else ""))
            out.append(CheckOutcome("contract", h["id"], "failed",
                                    f"source '{h.get('source')}' failed suite {record.get('suite')}: {detail}; "
                                    f"fix the data or run 'oca validate' for details"))
    return out


def _rerun_outcomes(results: Mapping[str, Any]) -> list[CheckOutcome]:
    out = []
    for h in results.get("hypotheses") or []:
        status, hid = h.get("status"), h["id"]
        if status == "estimated":
            out.append(CheckOutcome("rerun", hid, "passed", "reran to an estimate"))
        elif status == "not_yet_estimable":
            out.append(CheckOutcome("rerun", hid, "skipped", f"{h.get('reason')} (planned estimator)"))
        elif h.get("type") != "confirmatory":
            out.append(CheckOutcome("rerun", hid, "skipped", f"exploratory, {status}: {h.get('reason')}"))
        else:
            out.append(CheckOutcome("rerun", hid, "failed", f"confirmatory hypothesis did not rerun ({status}: "
                                                            f"{h.get('reason')})"))
    return out


# --- expected results --------------------------------------------------------------------------------------------

def _tolerance_for(record: Mapping[str, Any]) -> dict[str, float]:
    if is_bayesian(record) and _is_number(record.get("std_error")):
        return {"abs": round(SAMPLED_TOLERANCE_SD_SHARE * record["std_error"], 6), "rel": 0.0}
    return dict(DETERMINISTIC_TOLERANCE)


def expected_payload(results: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The expected-results file for ``results``; tolerances already registered in ``previous`` are kept."""
    kept = (previous or {}).get("hypotheses") or {}
    hypotheses = {}
    for h in results.get("hypotheses") or []:
        entry: dict[str, Any] = {key: h.get(key) for key in EXACT_FIELDS}
        entry.update({key: h.get(key) for key in COMPARED_FIELDS})
        old = kept.get(h["id"]) if isinstance(kept, Mapping) else None
        entry["tolerance"] = (old or {}).get("tolerance") or _tolerance_for(h)
        hypotheses[h["id"]] = entry
    return {
        "schema_version": EXPECTED_SCHEMA_VERSION,
        "about": "Results that `oca check` expects. After an intended change, regenerate with "
                 "`oca check STUDY --data ... --update-expected` and say why in the commit. A hypothesis' "
                 "tolerance is |new - expected| <= abs + rel * |expected| for each number; status and verdict "
                 "must match exactly.",
        "data": {name: (record or {}).get("sha256") for name, record in (results.get("data") or {}).items()},
        "hypotheses": hypotheses,
    }


def _read_expected(path: Path) -> dict[str, Any]:
    import json

    if not path.is_file():
        raise SpecError("no expected-results file", file=str(path),
                        fix="create it with 'oca check STUDY --data ... --update-expected' and commit it")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise SpecError(f"not valid UTF-8 JSON{f' (line {line})' if line else ''}", file=str(path),
                        fix="restore it from version control or regenerate it with --update-expected") from None
    if not isinstance(payload, dict) or payload.get("schema_version") != EXPECTED_SCHEMA_VERSION:
        raise SpecError(f"expected an object with schema_version {EXPECTED_SCHEMA_VERSION}", file=str(path),
                        field="schema_version", fix="regenerate it with --update-expected")
    return payload


def _expected_outcomes(results: Mapping[str, Any], expected: Mapping[str, Any], path: Path) -> list[CheckOutcome]:
    recorded = expected.get("hypotheses") or {}
    data_now = {name: (r or {}).get("sha256") for name, r in (results.get("data") or {}).items()}
    data_then = expected.get("data") or {}
    changed_data = sorted(name for name in data_now if data_then.get(name) and data_then[name] != data_now[name])
    hint = (f" (the {', '.join(changed_data)} data differ from those {path.name} was made from)"
            if changed_data else "")
    fix = f"; if intended, regenerate {path.name} with --update-expected"
    out = []
    for h in results.get("hypotheses") or []:
        hid = h["id"]
        want = recorded.get(hid)
        if not isinstance(want, Mapping):
            out.append(CheckOutcome("expected", hid, "failed", f"no entry in {path.name}{fix}"))
            continue
        problems = []
        for key in EXACT_FIELDS:
            if want.get(key) != h.get(key):
                problems.append(f"{key} {h.get(key)!r}, expected {want.get(key)!r}")
        tolerance = want.get("tolerance") or DETERMINISTIC_TOLERANCE
        atol, rtol = float(tolerance.get("abs", 0.0)), float(tolerance.get("rel", 0.0))
        for key in COMPARED_FIELDS:
            old, new = want.get(key), h.get(key)
            if old is None and new is None:
                continue
            if not (_is_number(old) and _is_number(new)) or abs(new - old) > atol + rtol * abs(old):
                problems.append(f"{key} {new!r}, expected {old!r} (tolerance abs {atol:g}, rel {rtol:g})")
        if problems:
            out.append(CheckOutcome("expected", hid, "failed", "; ".join(problems) + hint + fix))
        else:
            out.append(CheckOutcome("expected", hid, "passed", f"within tolerance (abs {atol:g}, rel {rtol:g})"))
    for hid in sorted(set(recorded) - {h["id"] for h in results.get("hypotheses") or []}):
        out.append(CheckOutcome("expected", str(hid), "failed", f"in {path.name} but the study has no such "
                                                                f"hypothesis{fix}"))
    return out


# --- diagnostics -------------------------------------------------------------------------------------------------

def _diagnostics_verdict(diagnostics: Mapping[str, Any]) -> tuple[bool, str]:
    if isinstance(diagnostics.get("passed"), bool):
        reasons = (diagnostics.get("failures") or diagnostics.get("reasons") or diagnostics.get("problems")
                   or diagnostics.get("message") or "")
        if isinstance(reasons, (list, tuple)):
            reasons = "; ".join(map(str, reasons))
        return diagnostics["passed"], str(reasons) or ("passed" if diagnostics["passed"] else "failed")
    problems = []
    rhat = diagnostics.get("rhat_max", diagnostics.get("r_hat_max"))
    ess = diagnostics.get("ess_bulk_min", diagnostics.get("ess_min"))
    divergences = diagnostics.get("divergences", diagnostics.get("n_divergences"))
    if _is_number(rhat) and rhat > RHAT_MAX:
        problems.append(f"R-hat {rhat:.3f} > {RHAT_MAX}")
    if _is_number(ess) and ess < ESS_MIN:
        problems.append(f"bulk ESS {ess:.0f} < {ESS_MIN}")
    if _is_number(divergences) and divergences > DIVERGENCES_MAX:
        problems.append(f"{int(divergences)} divergent transitions")
    if not any(_is_number(v) for v in (rhat, ess, divergences)):
        return False, "no R-hat, ESS or divergence count recorded"
    return not problems, "; ".join(problems) or "R-hat, ESS and divergences within limits"


def _diagnostics_outcomes(results: Mapping[str, Any]) -> list[CheckOutcome]:
    out = []
    for h in results.get("hypotheses") or []:
        hid = h["id"]
        if not is_bayesian(h):
            out.append(CheckOutcome("diagnostics", hid, "skipped", "not a Bayesian model"))
        elif h.get("status") != "estimated":
            out.append(CheckOutcome("diagnostics", hid, "skipped", f"not estimated ({h.get('status')})"))
        else:
            result = _estimate(h)
            diagnostics = result.diagnostics if result is not None else None
            if diagnostics is None:
                out.append(CheckOutcome("diagnostics", hid, "failed", "no diagnostics recorded in results.json"))
                continue
            ok, message = _diagnostics_verdict(diagnostics)
            out.append(CheckOutcome("diagnostics", hid, "passed" if ok else "failed", message))
    return out


# --- the gate ----------------------------------------------------------------------------------------------------

def run_gate(study: Any, data: Mapping[str, Any], *, expected: str | Path | None = None,
             update_expected: bool = False) -> GateResult:
    """Rerun the (loaded) study on ``data`` and check it. Bad input raises (exit 2); failed checks are returned."""
    path = Path(expected) if expected is not None else study.path / EXPECTED_FILE
    run = study.run(data)
    results = run.to_dict()
    if update_expected:
        import json

        previous = None
        if path.is_file():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                previous = None
        atomic_write_json(path, expected_payload(results, previous if isinstance(previous, dict) else None))
    expected_results = _read_expected(path)
    outcomes = [*_lock_outcomes(study), *_contract_outcomes(results), *_rerun_outcomes(results),
                *_expected_outcomes(results, expected_results, path), *_diagnostics_outcomes(results)]
    return GateResult(outcomes=tuple(outcomes), expected_path=path, updated_expected=update_expected, run=run)


def write_junit(outcomes: Sequence[CheckOutcome], path: str | Path, *, suite: str = "oca check") -> Path:
    """JUnit XML: one test case per hypothesis and check (classname = hypothesis, name = check)."""
    root = ET.Element("testsuites")
    failures = sum(o.status == "failed" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(outcomes)), failures=str(failures),
                            errors="0", skipped=str(skipped))
    for outcome in outcomes:
        case = ET.SubElement(element, "testcase", classname=outcome.hypothesis, name=outcome.check)
        if outcome.status == "failed":
            failure = ET.SubElement(case, "failure", message=outcome.message, type=f"{outcome.check}_failed")
            failure.text = outcome.message
        elif outcome.status == "skipped":
            ET.SubElement(case, "skipped", message=outcome.message)
        elif outcome.message:
            ET.SubElement(case, "system-out").text = outcome.message
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return atomic_write_text(Path(path), text)
