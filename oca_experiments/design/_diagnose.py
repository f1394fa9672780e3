"""Diagnose one hypothesis' design by simulation with its registered estimator and inference rule."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from .._version import __version__
from ..estimators import REGISTRY
from ..io import file_sha256
from ..plan import Task
from ._analytic import analytic_mde, analytic_power, analytic_std_error
from ._engine import ENGINES, ChunkTask, SimulationConfig, batchable, primary_method, run_chunk, treated_clusters
from ._executors import Executor, SerialExecutor
from ._metrics import Replicates, diagnosands, power, summary_line, verdict_shares
from ._parameters import DesignInputError, DesignParameters
from ._pilot import PilotEstimates, estimate_from_data
from ._resolve import resolve_parameters
from ._rule import InferenceRule, registered_rule

DEFAULT_SEED = 20260901
DEFAULT_SIMS = 1000
#: Replicates per unit of work. Fixed, so that chunk k has the same seed and content on every executor.
CHUNK_SIZE = 100
CURVE_POINTS = 9
MDE_REFINEMENTS = 2
MIN_SIMS, MAX_SIMS = 20, 1_000_000
SCHEMA_VERSION = 1


def simulated_estimators() -> tuple[str, ...]:
    """Estimators with a data-generating model here (registry capability ``simulation``)."""
    return tuple(name for name, record in REGISTRY.items() if record.simulation and record.available)

Progress = Callable[[int, int], None]
"""Called with (finished tasks, planned tasks); the plan grows while the MDE search refines."""


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Diagnosis:
    """A design diagnosis: read-only; ``to_dict()`` is JSON-ready and byte-stable for the same inputs and seed.

    Which executor ran the chunks is deliberately not part of ``to_dict()``: results are identical on every
    executor, and the saved file (and its hash, recorded in the lock) must be too.
    """

    payload: Mapping[str, Any]
    executor: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _freeze(self.payload))
        object.__setattr__(self, "executor", _freeze(self.executor))

    @property
    def hypothesis_id(self) -> str:
        return str(self.payload["hypothesis"]["id"])

    @property
    def diagnosands(self) -> Mapping[str, Any]:
        return self.payload["diagnosands"]

    @property
    def mde(self) -> Mapping[str, Any]:
        return self.payload["mde"]

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.payload["parameters"]

    def to_dict(self) -> dict[str, Any]:
        return _thaw(self.payload)

    def to_json(self) -> str:
        """The saved form: sorted keys, fixed float repr, so equal diagnoses are equal bytes."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def tidy(self) -> pd.DataFrame:
        """One row per diagnosand at the diagnosed effect: value, Monte Carlo SE, replicates it rests on."""
        rows = [{"diagnosand": name, **{k: m.get(k) for k in ("value", "mc_se", "n")}}
                for name, m in self.diagnosands.items()]
        return pd.DataFrame(rows, columns=["diagnosand", "value", "mc_se", "n"])

    def power_curve(self) -> pd.DataFrame:
        return pd.DataFrame([dict(p) for p in self.payload["power_curve"]], columns=["effect", "power", "mc_se"])

    def summary_lines(self) -> list[str]:
        p = self.payload
        params, sim = p["parameters"], p["simulation"]
        design = (f"{params['clusters']} clusters, " if params["clusters"] is not None else "") + (
            f"{params['respondents']} respondents, ICC {params['icc']:.3g}, attrition {params['attrition']:.3g}")
        lines = [f"{self.hypothesis_id}: {sim['sims']} simulated surveys ({design}), effect {params['effect']:.4g}; "
                 f"{p['inference_rule']['method_at_planned_clusters']} inference as registered"]
        for name in ("power", "bias", "rmse", "coverage", "type_s", "type_m"):
            lines.append("  " + summary_line(self.diagnosands, name))
        mde = p["mde"]
        if mde["value"] is not None:
            se = f" (MC SE {mde['mc_se']:.3g})" if mde.get("mc_se") is not None else ""
            lines.append(f"  MDE at {100 * mde['target_power']:g}% power: {mde['value']:.4g}{se}; analytic "
                         f"approximation {p['analytic']['mde']:.4g}")
        else:
            lines.append(f"  MDE at {100 * mde['target_power']:g}% power: not reached ({mde['note']})")
        return lines


def _canonical_spec_sha256(task: Task) -> str:
    text = json.dumps(task.spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find_task(study: Any, hypothesis_id: str) -> Task:
    try:
        return study.plan.task(hypothesis_id)
    except KeyError:
        raise DesignInputError(f"no hypothesis '{hypothesis_id}' in the study", option="HYPOTHESIS_ID",
                               fix=f"use one of: {', '.join(t.id for t in study.plan.tasks)}") from None


def _check_simulable(task: Task, engine: str) -> str:
    spec = task.spec
    if not (task.estimator.simulation and task.available):
        raise DesignInputError(f"estimator '{spec.estimator.name}' ({task.spec_file}) has no data-generating model "
                               "for design diagnosis yet", option="HYPOTHESIS_ID",
                               fix=f"diagnose a hypothesis estimated with: {', '.join(simulated_estimators())}")
    if spec.fixed_effects:
        raise DesignInputError(f"{task.spec_file} absorbs additional fixed effects, which the design model does not "
                               "simulate", option="fixed_effects", fix="diagnose the design without them, from a "
                               "copy of the spec")
    if spec.covariates:
        raise DesignInputError(f"{task.spec_file} adjusts for covariates, which the design model does not simulate",
                               option="covariates", fix="diagnose the unadjusted design (covariates usually add "
                               "power) or remove them from a copy of the spec")
    if engine not in ("auto", *ENGINES):
        raise DesignInputError(f"unknown engine '{engine}'", option="engine", fix=f"use auto or {', '.join(ENGINES)}")
    return engine


def _choose_engine(task: Task, params: DesignParameters, engine: str) -> str:
    options = task.options.model_dump(mode="json")
    treated = treated_clusters(params, params.clusters)
    fast = batchable(task.spec, options, params.clusters, treated)
    if engine == "batched" and not fast:
        raise DesignInputError(f"no batched kernel for {task.spec_file}'s registered analysis (a subgroup contrast, "
                               f"or {primary_method(task.spec, params.clusters, treated)} inference on this design)",
                               option="engine", fix="use engine='reference' or 'auto'")
    if engine == "auto":
        return "batched" if fast else "reference"
    return engine


def _validate_run_options(sims: int, seed: int, curve_points: int) -> None:
    if not isinstance(sims, int) or not MIN_SIMS <= sims <= MAX_SIMS:
        raise DesignInputError(f"needs between {MIN_SIMS} and {MAX_SIMS} simulations, got {sims}", option="--sims",
                               fix="e.g. --sims 1000 (Monte Carlo SE of power about 0.013 at 80%)")
    if not isinstance(seed, int) or seed < 0:
        raise DesignInputError(f"the seed must be a non-negative integer, got {seed}", option="--seed",
                               fix="e.g. --seed 20260901")
    if not 3 <= curve_points <= 50:
        raise DesignInputError(f"needs 3 to 50 power-curve points, got {curve_points}", option="curve_points",
                               fix="e.g. 9")


def diagnose(study: Any, hypothesis_id: str, *, design: Mapping[str, Any] | None = None,
             data: Mapping[str, str | Path | pd.DataFrame] | None = None, sims: int = DEFAULT_SIMS,
             seed: int = DEFAULT_SEED, likert: bool = False, engine: str = "auto",
             executor: Executor | None = None, progress: Progress | None = None,
             curve_points: int = CURVE_POINTS) -> Diagnosis:
    """Simulate the registered design of ``hypothesis_id`` and analyse each simulated survey as registered.

    ``design`` overrides parameters by name (``clusters``, ``respondents``, ``icc``, ``effect``, ``attrition``,
    ``outcome_sd``, ``individual_autocorrelation``, ``cluster_autocorrelation``, ``treated_share``,
    ``target_power``); ``data`` gives pilot or baseline files to estimate the others from. The executor decides
    only where chunks run (default: this process). Returns a read-only ``Diagnosis``; writes nothing.
    """
    if isinstance(study, (str, Path)):
        from ..runner import load_study

        study = load_study(study)
    _validate_run_options(sims, seed, curve_points)
    task = find_task(study, hypothesis_id)
    engine = _check_simulable(task, engine)
    pilot: PilotEstimates | None = estimate_from_data(study.plan, task, data) if data else None
    params = resolve_parameters(task, options=design, pilot=pilot, likert=likert)
    engine = _choose_engine(task, params, engine)
    rule = registered_rule(task.spec)
    options = task.options.model_dump(mode="json")
    config = SimulationConfig(parameters=params, spec=task.spec, options=options, rule=rule, engine=engine,
                              seed=seed, chunk_size=CHUNK_SIZE)
    runner = _Rounds(config, sims, executor or SerialExecutor(), progress)

    panel = config.panel
    se_analytic, df_analytic = analytic_std_error(params, panel=panel, contrast=config.contrast is not None)
    mde_analytic = analytic_mde(se_analytic, df_analytic, target=params.target_power, alpha=rule.alpha,
                                tails=rule.tails, direction=rule.direction)
    grid = [mde_analytic * 2 * k / (curve_points - 1) for k in range(curve_points)]
    runner.evaluate([params.effect, *grid])
    mde = _search_mde(runner, params.target_power, rule)

    main = runner.results[params.effect]
    payload = {
        "schema_version": SCHEMA_VERSION,
        "kind": "oca design diagnosis",
        "oca_version": __version__,
        "hypothesis": {"id": task.id, "spec_file": task.spec_file, "spec_sha256": _canonical_spec_sha256(task),
                       "type": task.spec.type, "direction": task.spec.direction, "sesoi": task.spec.inference.sesoi,
                       "estimator": task.spec.estimator.name, "options": options},
        "parameters": params.to_dict(),
        "pilot_data": _pilot_record(pilot, data),
        "inference_rule": rule.describe(task.spec, params.clusters),
        "simulation": {"sims": sims, "seed": seed, "chunk_size": CHUNK_SIZE, "engine": engine,
                       "seeds": "chunk k uses numpy SeedSequence(seed, spawn_key=(k,)); every effect size reuses "
                                "them (common random numbers)",
                       "model": "y = mean + v_c + s_cw + u_i + e_iw + effect * treated * post (see "
                                "oca_experiments/design/_simulate.py)"},
        "diagnosands": diagnosands(main, effect=params.effect, alpha=rule.alpha, direction=rule.direction),
        "verdicts": verdict_shares(main, alpha=rule.alpha, direction=rule.direction, sesoi=task.spec.inference.sesoi),
        "power_curve": runner.curve(rule),
        "mde": mde,
        "analytic": {"std_error": se_analytic, "df": df_analytic, "mde": mde_analytic,
                     "power": analytic_power(params.effect, se_analytic, df_analytic, alpha=rule.alpha,
                                             tails=rule.tails, direction=rule.direction)},
        "notes": _notes(params, pilot) + ([
            "reference engine: every simulated survey was refitted with the registered fitter (no batched kernel "
            f"for this analysis: {'a subgroup contrast' if config.contrast else rule.se_type + ' inference'})"]
            if engine == "reference" else []),
    }
    describe = getattr(runner.executor, "describe", None)
    return Diagnosis(payload=_json_ready(payload), executor=describe() if describe else {})


def _pilot_record(pilot: PilotEstimates | None, data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if pilot is None or data is None:
        return None
    given = data.get(pilot.source)
    digest = file_sha256(Path(given)) if isinstance(given, (str, Path)) else None
    return {"source": pilot.source, "file": pilot.file, "sha256": digest, "estimates": dict(pilot.values),
            "notes": dict(pilot.notes)}


def _notes(params: DesignParameters, pilot: PilotEstimates | None) -> list[str]:
    notes = []
    assumed = [name for name, source in params.sources.items() if source == "default"]
    if assumed:
        notes.append(f"assumed defaults (not measured): {', '.join(sorted(assumed))}")
    if pilot is not None:
        notes += [f"{name}: {text}" for name, text in sorted(pilot.notes.items())]
    return notes


def _json_ready(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _json_ready(value.item())
    return value


class _Rounds:
    """Evaluates effect sizes in rounds on the executor and keeps every result (the power curve)."""

    def __init__(self, config: SimulationConfig, sims: int, executor: Executor, progress: Progress | None) -> None:
        self.config, self.sims, self.executor, self.progress = config, sims, executor, progress
        self.results: dict[float, Replicates] = {}
        self.sizes = [min(CHUNK_SIZE, sims - start) for start in range(0, sims, CHUNK_SIZE)]
        self.finished = self.planned = 0

    def evaluate(self, effects: Sequence[float]) -> None:
        todo = list(dict.fromkeys(float(e) for e in effects if float(e) not in self.results))
        if not todo:
            return
        main = self.config.parameters.effect
        tasks = [ChunkTask(self.config, effect, chunk, size, coverage=effect == main) for effect in todo
                 for chunk, size in enumerate(self.sizes)]
        self.planned += len(tasks)

        def tick(count: int) -> None:
            self.finished += count
            if self.progress:
                self.progress(self.finished, self.planned)

        if self.progress:
            self.progress(self.finished, self.planned)
        parts = self.executor.map(run_chunk, tasks, tick)
        per_effect = len(self.sizes)
        for i, effect in enumerate(todo):
            self.results[effect] = Replicates.concatenate(parts[i * per_effect:(i + 1) * per_effect])

    def power(self, effect: float, rule: InferenceRule) -> float:
        return power(self.results[effect], alpha=rule.alpha, direction=rule.direction)[0]

    def curve(self, rule: InferenceRule) -> list[dict[str, float]]:
        points = []
        for effect in sorted(self.results):
            value, mc_se = power(self.results[effect], alpha=rule.alpha, direction=rule.direction)
            points.append({"effect": effect, "power": value, "mc_se": mc_se})
        return points


def _search_mde(runner: _Rounds, target: float, rule: InferenceRule) -> dict[str, Any]:
    """Smallest effect (in the registered direction) whose simulated power reaches ``target``.

    Bracket the target on the evaluated curve, then refine by regula falsi; common random numbers keep the
    simulated curve monotone enough for this. The MC SE is the power's MC SE over the curve's local slope.
    """
    sign = -1.0 if rule.direction == "decrease" else 1.0
    record: dict[str, Any] = {"target_power": target, "value": None, "mc_se": None, "power_at_value": None,
                              "bracket": None, "note": None}
    for _ in range(3):  # extend the curve when the grid stops short of the target
        bracket = _bracket(runner, target, rule, sign)
        if bracket is not None:
            break
        largest = max(abs(e) for e in runner.results)
        runner.evaluate([sign * largest * 2])
    else:
        record["note"] = f"power stays below {target:g} up to an effect of {sign * max(map(abs, runner.results)):g}"
        return record
    for _ in range(MDE_REFINEMENTS):
        low, high = bracket
        p_low, p_high = runner.power(low, rule), runner.power(high, rule)
        if p_high == p_low:
            break
        guess = low + (target - p_low) * (high - low) / (p_high - p_low)
        if guess in runner.results:
            break
        runner.evaluate([guess])
        bracket = _bracket(runner, target, rule, sign) or bracket
    low, high = bracket
    p_low, p_high = runner.power(low, rule), runner.power(high, rule)
    value = low + (target - p_low) * (high - low) / (p_high - p_low) if p_high != p_low else high
    slope = abs((p_high - p_low) / (high - low)) if high != low else math.inf
    record.update(value=value, power_at_value=target, bracket=[low, high],
                  mc_se=math.sqrt(target * (1 - target) / runner.sims) / slope if slope > 0 else None)
    return record


def _bracket(runner: _Rounds, target: float, rule: InferenceRule, sign: float) -> tuple[float, float] | None:
    effects = sorted((e for e in runner.results if sign * e >= 0), key=abs)
    for low, high in zip(effects, effects[1:]):
        if runner.power(low, rule) < target <= runner.power(high, rule):
            return low, high
    return None
