"""The in-memory pipeline: spec → plan → load → contract → estimate → summarize, returning a ``RunResult``.

It reads data and study files and writes nothing; files, report and reuse are ``api.py``'s (``run_to_directory``),
and nothing here imports the report.

Order of work for a run:

1. parse the study and plan it (no data read; fails fast on any bad reference);
2. read each data source once (a DataFrame given by the caller is copied, never mutated);
3. preflight: every column a spec names exists in its source (else a one-line ``DataError``);
4. run the contract suite of each source a hypothesis reads, once per source (fail closed; ``validate`` checks
   every source it is given, read or not);
5. estimate every hypothesis whose source passed and whose estimator is available;
6. verdicts from the registered rule.

A hypothesis that cannot be estimated keeps an explicit status (``contract_failed``, ``not_yet_estimable``,
``not_testable``, ``estimation_failed``) with its reason; the others still run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._progress import hypothesis_finished, hypothesis_started
from ._secondary_estimates import secondary_estimates
from ._version import __version__
from .contracts import (ContractResult, TestabilityCheck, TestabilityResult, assess_task, run_contract,
                        sensitive_columns_of)
from .errors import ContractError, DataError, EstimationError, OcaError
from .estimators import LinkedFrame, NotTestable, check_weight_margins
from .io import file_sha256, missing_column_error, read_table, reader_options
from .outcomes import build_outcome
from .plan import AnalysisFunction, Plan, Task, make_plan
from .results import EstimateResult, HypothesisResult, RunResult, ValidationResult
from .runtime import RunSettings, using
from .spec import SpecFile, StudyConfig, load_hypotheses, load_study_config
from .prereg import apply_firewall
from .summarize import adjust_families, bayesian_verdict, equivalence_reading, frequentist_verdict, hypothesis_extras

log = logging.getLogger("oca_experiments")

DataInput = str | Path | pd.DataFrame


@dataclass(frozen=True)
class LoadedSource:
    name: str
    frame: pd.DataFrame
    display: str
    fingerprint: Mapping[str, Any]


def _frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _load_sources(plan: Plan, data: Mapping[str, DataInput], *,
                  require_all: bool = True) -> dict[str, LoadedSource]:
    """Read each given source once. ``require_all=False`` (validation) accepts a subset of the sources."""
    declared = {s.name for s in plan.sources}
    unknown = sorted(set(data) - declared)
    if unknown:
        raise DataError(f"unknown data source '{unknown[0]}'",
                        fix=f"use one of the sources declared in study.yaml: {', '.join(sorted(declared))}")
    needed = {s.name for s in plan.sources if s.hypotheses} if require_all else set()
    missing = sorted(needed - set(data))
    if missing:
        raise _no_data(missing[0])
    loaded: dict[str, LoadedSource] = {}
    for source in plan.sources:
        if source.name not in data:
            continue
        given = data[source.name]
        if isinstance(given, pd.DataFrame):
            frame = given.copy(deep=True)
            display = f"<DataFrame '{source.name}'>"
            fingerprint = {"file": None, "sha256": _frame_sha256(frame)}
        else:
            path = Path(given)
            frame = read_table(path, _reader_options(source))
            display = path.name
            fingerprint = {"file": path.name, "sha256": file_sha256(path)}
        fingerprint = {**fingerprint, "n_rows": len(frame), "n_columns": frame.shape[1]}
        loaded[source.name] = LoadedSource(source.name, frame, display, fingerprint)
    return loaded


def _no_data(source: str) -> DataError:
    return DataError(f"no data given for source '{source}'", fix=f"pass --data {source}=PATH")


def load_source(plan: Plan, name: str, data: Mapping[str, DataInput]) -> LoadedSource:
    """One source read as a run reads it (reader pins, the same errors as ``oca run``): for design diagnosis."""
    loaded = _load_sources(plan, data, require_all=False)
    if name not in loaded:
        raise _no_data(name)
    return loaded[name]


def task_columns_present(task: Task, source: LoadedSource, *, skip: tuple[str, ...] = ()) -> None:
    """The run's preflight for one task: a column it names and ``source`` lacks is one line with "did you mean"."""
    present = list(map(str, source.frame.columns))
    for column, field in task.column_fields:
        if field not in skip and column not in set(present):
            raise missing_column_error(column, present, file=source.display,
                                       needed_by=f"{task.spec_file} needs it ({field})")


def _preflight_columns(plan: Plan, loaded: Mapping[str, LoadedSource]) -> None:
    """Every column a spec names must exist in its source; the first miss is a one-line DataError."""
    for task in plan.tasks:
        if task.source not in loaded:
            continue  # validation of a subset of the sources
        source = loaded[task.source]
        task_columns_present(task, source)
        for name, column, field in task.linked_columns:  # e.g. the exposure and the linking key in engagement
            if name in loaded and column not in set(map(str, loaded[name].frame.columns)):
                raise missing_column_error(column, list(map(str, loaded[name].frame.columns)),
                                           file=loaded[name].display,
                                           needed_by=f"{task.spec_file} needs it ({field}, source '{name}')")
        # registered survey weights: the data's categories are the margins' (did-you-mean), weights positive
        check_weight_margins(task.spec, subset_rows(source.frame, task), file=source.display, where=task.spec_file)


def _run_contracts(plan: Plan, loaded: Mapping[str, LoadedSource], *, show_values: bool,
                   only: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each loaded source's contract record, once per source (in study.yaml's order); ``only``: just these."""
    outcomes: dict[str, dict[str, Any]] = {}
    for source in plan.sources:
        if source.name not in loaded or (only is not None and source.name not in only):
            continue
        try:
            result: ContractResult = run_contract(source.contract, loaded[source.name].frame, source=source.name,
                                                  show_values=show_values)
            record = result.to_dict()
        except ContractError as exc:  # a suite that cannot even be loaded fails its source (fail closed)
            record = {"source": source.name, "suite": exc.suite or source.contract_display,
                      "suite_path": source.contract_display, "passed": False, "n_expectations": 0,
                      "n_evaluated": 0, "failures": [], "error": str(exc)}
        outcomes[source.name] = record
    return outcomes


def _read_sources(tasks: Iterable[Task]) -> set[str]:
    """The sources the tasks read: each one's outcome source and its linked sources."""
    return {name for task in tasks for name in (task.source, *task.linked_sources)}


def _contracts_for(task: Task, contracts: dict[str, dict[str, Any]], plan: Plan, loaded: Mapping[str, LoadedSource],
                   *, show_values: bool) -> dict[str, dict[str, Any]]:
    """``contracts`` completed with the sources ``task`` reads that were not checked yet (the registered version of a
    changed spec may read a source no current spec reads); each source is still checked once per run."""
    unchecked = _read_sources([task]) - set(contracts)
    if unchecked:
        contracts.update(_run_contracts(plan, loaded, show_values=show_values, only=unchecked))
    return contracts


def _ordered(contracts: Mapping[str, dict[str, Any]], plan: Plan) -> tuple[dict[str, Any], ...]:
    return tuple(contracts[source.name] for source in plan.sources if source.name in contracts)


def _contract_reason(record: Mapping[str, Any]) -> str:
    if record.get("error"):
        return f"data contract could not be run: {record['error']}"
    failures = record.get("failures", [])
    columns = sorted({f.get("column") for f in failures if f.get("column")})
    detail = f"{len(failures)} failing expectation{'s' if len(failures) != 1 else ''}"
    if columns:
        detail += f" on {', '.join(columns[:5])}" + ("…" if len(columns) > 5 else "")
    return f"data contract for source '{record.get('source')}' failed (suite {record.get('suite')}: {detail})"


def import_analysis_function(ref: AnalysisFunction) -> Callable[[pd.DataFrame], pd.Series]:
    """Import a spec's ``analysis/`` function from its file (the plan resolved it without importing)."""
    module_name = f"oca_study_analysis_{ref.file.stem}_{abs(hash(str(ref.file)))}"
    spec = importlib.util.spec_from_file_location(module_name, ref.file)
    if spec is None or spec.loader is None:
        raise EstimationError(f"cannot import {ref.reference}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, ref.name)


def subset_rows(frame: pd.DataFrame, task: Task) -> pd.DataFrame:
    """The rows the spec's ``design.subset`` keeps."""
    keep = pd.Series(True, index=frame.index)
    for column, allowed in task.spec.design.subset.items():
        values = frame[column]
        allowed_text = {str(v) for v in allowed}
        keep &= values.astype("string").isin(allowed_text).fillna(False)
    return frame.loc[keep]


def _missing_linked_column(task: Task, loaded: Mapping[str, LoadedSource]) -> str | None:
    """Why a linked source cannot be read for this task (not given, or a column the spec names is not in it)."""
    for name, column, field in task.linked_columns:
        if name not in loaded:
            return f"no data for source '{name}' ({field})"
        if column not in set(map(str, loaded[name].frame.columns)):
            return f"column '{column}' ({field}) is not in {loaded[name].display}"
    return None


def _linked_frames(task: Task, loaded: Mapping[str, LoadedSource]) -> dict[str, LinkedFrame]:
    return {name: LinkedFrame(loaded[name].frame, loaded[name].display) for name in task.linked_sources
            if name in loaded}


def _estimate(task: Task, source: LoadedSource, *, threshold: int = 10,
              loaded: Mapping[str, LoadedSource] | None = None) -> EstimateResult:
    frame = subset_rows(source.frame, task)
    function = import_analysis_function(task.analysis_function) if task.analysis_function else None
    built = build_outcome(frame, task.spec.outcome.construction, file=source.display, function=function,
                          design=task.spec.design, reliability_seed=task.spec.inference.bootstrap.seed)
    fitter = task.estimator.fitter
    assert fitter is not None  # unavailable estimators stop in _run_task (not_yet_estimable)
    if task.linked_sources:
        result = fitter(frame, built.values, task.spec, task.options, file=source.display,
                        linked=_linked_frames(task, loaded or {}))
    else:
        result = fitter(frame, built.values, task.spec, task.options, file=source.display)
    counts = {"rows_excluded_by_subset": len(source.frame) - len(frame), "rows_after_subset": len(frame),
              "respondents_too_few_items": built.n_too_few_items,
              **dict(result.counts)}
    # Attrition and the per-subgroup fits are estimated here; summarize suppresses their small cells (and the
    # outcome's reliability and index records ride along) before anything leaves the run.
    secondary = secondary_estimates(frame, built.values, task, result, file=source.display)
    extras = {**result.extras, **hypothesis_extras(built, result, attrition=secondary.attrition,
                                                   disaggregation=secondary.disaggregation,
                                                   by_group=secondary.by_group, threshold=threshold)}
    return EstimateResult(**{**result.__dict__, "counts": counts, "extras": extras})


def _primary_interval(result: EstimateResult) -> dict[str, Any]:
    """The 1 - 2*alpha interval of the primary inference when it is not a t interval (e.g. the wild bootstrap)."""
    record = result.inference
    if record is None:  # other estimators may describe their inference in words
        return {}
    interval = record.primary_interval
    found: dict[str, Any] = {"interval": interval} if interval is not None else {}
    if record.null is not None:
        found["null"] = float(record.null)
    return found


def _hypothesis_result(task: Task, *, status: str, reason: str | None = None,
                       result: EstimateResult | None = None,
                       testability: TestabilityResult | None = None) -> HypothesisResult:
    spec = task.spec
    verdict = verdict_reason = None
    if result is not None and task.estimator.bayesian:
        decision = spec.bayes.decision if spec.bayes is not None else None
        v = bayesian_verdict(posterior=result.posterior or {}, diagnostics=result.diagnostics or {},
                             direction=spec.direction,
                             sesoi=spec.inference.sesoi, probability=decision.probability if decision else 0.95,
                             against=decision.against if decision else "sesoi")
        verdict, verdict_reason = v.verdict, v.reason
    elif result is not None:
        v = frequentist_verdict(estimate=result.estimate, std_error=result.std_error, df=result.df,
                                p_value=result.p_value, alpha=spec.inference.alpha, direction=spec.direction,
                                sesoi=spec.inference.sesoi, **_primary_interval(result))
        verdict, verdict_reason = v.verdict, v.reason
    reading = None if result is None or task.estimator.bayesian else equivalence_reading(
        estimate=result.estimate, std_error=result.std_error, df=result.df, alpha=spec.inference.alpha,
        sesoi=spec.inference.sesoi, interval=_primary_interval(result).get("interval"))
    return HypothesisResult(
        id=spec.id, title=spec.title, type=spec.type, direction=spec.direction, estimator=spec.estimator.name,
        outcome=spec.outcome.name, source=spec.outcome.source, spec_file=task.spec_file, status=status,
        verdict=verdict, reason=reason, verdict_reason=verdict_reason, result=result, alpha=spec.inference.alpha,
        tails=spec.inference.tails, sesoi=spec.inference.sesoi, family=spec.inference.family,
        equivalence=reading.verdict if reading else None, equivalence_reason=reading.reason if reading else None,
        testability=testability.to_dict() if testability is not None else None,
    )


def _run_task(task: Task, contracts: Mapping[str, Mapping[str, Any]], loaded: Mapping[str, LoadedSource], *,
              preflight: bool = False,
              testability: Callable[[Task], TestabilityResult] | None = None,
              threshold: int = 10) -> HypothesisResult:
    """Estimate one task. ``preflight`` checks its columns first (the registered version of a changed spec was not
    part of the run's preflight: a column it needs may be gone, which makes it not testable, not the run a failure)."""
    record = contracts.get(task.source)
    if record is None or task.source not in loaded:
        return _hypothesis_result(task, status="not_testable", reason=f"no data for source '{task.source}'")
    if not record.get("passed"):
        return _hypothesis_result(task, status="contract_failed", reason=_contract_reason(record))
    for name in task.linked_sources:  # a linked source (e.g. the exposure) is needed as much as the outcome's
        linked_record = contracts.get(name)
        if linked_record is None or name not in loaded:
            return _hypothesis_result(task, status="not_testable", reason=f"no data for source '{name}' (linked by "
                                      f"{task.estimator.name})")
        if not linked_record.get("passed"):
            return _hypothesis_result(task, status="contract_failed", reason=_contract_reason(linked_record))
    if not task.available:
        return _hypothesis_result(task, status="not_yet_estimable",
                                  reason=f"estimator {task.estimator.name} not available")
    if preflight:
        present = set(map(str, loaded[task.source].frame.columns))
        missing = [(column, field) for column, field in task.column_fields if column not in present]
        if missing:
            column, field = missing[0]
            return _hypothesis_result(task, status="not_testable",
                                      reason=f"column '{column}' ({field}) is not in the {task.source} data")
    check = testability(task) if testability is not None else None
    if check is not None and not check.testable:  # registered requirements, checked before estimation
        return _hypothesis_result(task, status="not_testable", reason=check.reason, testability=check)
    try:
        estimate = _estimate(task, loaded[task.source], threshold=threshold, loaded=loaded)
    except NotTestable as exc:
        return _hypothesis_result(task, status="not_testable", reason=exc.message)
    except DataError as exc:  # data this hypothesis cannot use: its own status, the others still run
        return _hypothesis_result(task, status="not_testable", reason=str(exc))
    except EstimationError as exc:
        return _hypothesis_result(task, status="estimation_failed", reason=exc.message)
    except Exception as exc:  # noqa: BLE001 - a bug in one estimator must not take the other hypotheses down
        return _internal_failure(task, exc)
    return _hypothesis_result(task, status="estimated", result=estimate, testability=check)


def _internal_failure(task: Task, exc: Exception) -> HypothesisResult:
    """``estimation_failed`` naming the error class and where it was raised, never its message (which could quote
    data). The traceback goes to the debug log, which ``OCA_DEBUG=1`` shows on the command line."""
    log.debug("traceback of %s", task.id, exc_info=exc)
    result = _hypothesis_result(task, status="estimation_failed",
                                reason=f"internal error in estimator {task.estimator.name} ({type(exc).__name__}"
                                       f"{_raised_at(exc)}); this is a bug in oca, please report it")
    return dataclasses.replace(result, error_class=type(exc).__name__)


def _raised_at(exc: BaseException) -> str:
    """`` in file.py:line`` of the innermost frame: code, not data."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f" in {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else ""


def _testability_checker(study: Study, loaded: Mapping[str, LoadedSource], *,
                         show_values: bool) -> Callable[[Task], TestabilityResult]:
    suites = {source.name: source.contract for source in study.plan.sources}

    def check(task: Task) -> TestabilityResult:
        frame = loaded[task.source].frame
        result = assess_task(task, frame, study.config, show_values=show_values,
                             sensitive_columns=sensitive_columns_of(suites[task.source]))
        if not result.testable:  # the outcome is built only on data that meet the registered requirements
            return result
        if task.estimator.design_check is not None:  # the estimator's own design requirements (e.g. synthetic_did)
            reason = task.estimator.design_check(subset_rows(frame, task), task.spec, task.options)
            passed = TestabilityCheck("estimator_design", reason is None, True, reason is None,
                                      reason or f"the data meet {task.estimator.name}'s design requirements")
            result = dataclasses.replace(result, checks=(*result.checks, passed))
            if not result.testable:
                return result
        if task.estimator.link_check is not None:  # both sources share the linking key (exposure-response)
            reason = _missing_linked_column(task, loaded) or task.estimator.link_check(
                subset_rows(frame, task), _linked_frames(task, loaded), task.spec, task.options)
            linked = TestabilityCheck("sources_linked", reason is None, True, reason is None,
                                      reason or f"the data of {', '.join(task.linked_sources)} link to the "
                                      f"{task.source} data")
            result = dataclasses.replace(result, checks=(*result.checks, linked))
            if not result.testable:
                return result
        return dataclasses.replace(result, checks=(*result.checks, _outcome_check(task, loaded[task.source])))

    return check


#: Bootstrap draws of the reliability intervals when the outcome is only built to see that it can be (validate).
_CHECK_RELIABILITY_DRAWS = 2


def _outcome_check(task: Task, source: LoadedSource) -> Any:
    """Build the outcome as the run would, without fitting: what would stop the run (an index whose items are all
    empty or constant in the reference group, a function returning the wrong shape, text in a numeric item) makes
    the hypothesis not testable here, so ``oca validate`` says it before anything is estimated (issue 18 item 6)."""
    from .contracts import TestabilityCheck
    from .errors import SpecError

    construction = task.spec.outcome.construction
    try:
        frame = subset_rows(source.frame, task)
        function = import_analysis_function(task.analysis_function) if task.analysis_function else None
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # the check's reliability numbers are discarded
            warnings.simplefilter("ignore", RuntimeWarning)
            build_outcome(frame, construction, file=source.display, function=function, design=task.spec.design,
                          reliability_seed=task.spec.inference.bootstrap.seed,
                          reliability_draws=_CHECK_RELIABILITY_DRAWS)
    except (DataError, SpecError) as exc:
        column = getattr(exc, "column", None)
        where = f" (column '{column}')" if column and f"'{column}'" not in exc.message else ""
        return TestabilityCheck("outcome_constructible", False, True, None,
                                f"the outcome '{task.spec.outcome.name}' cannot be built: {exc.message}{where}")
    return TestabilityCheck("outcome_constructible", True, True, None,
                            f"the outcome '{task.spec.outcome.name}' can be built ({construction.method})")


def require_report_notebook(study: Study) -> None:
    """A run that builds the report needs its notebook: refused before estimating, not after (issue 18 item 6)."""
    from .errors import SpecError

    if study.config.report is None:  # the built-in report
        return
    notebook = study.path / study.config.report
    if not notebook.is_file():
        raise SpecError(f"report notebook '{study.config.report}' not found", file="study.yaml", field="report",
                        fix="correct the path in study.yaml, restore the notebook, or run with --no-report")


def _reader_options(source: Any) -> Any:
    """The source's reader pins from study.yaml; a bad key is a SpecError naming ``sources.<name>.reader.<key>``."""
    return reader_options(dict(source.reader), field=f"sources.{source.name}.reader")


class Study:
    """A study folder: ``study.yaml``, ``hypotheses/``, ``data_contracts/``, ``analysis/``, ``reports/``.

    Loading parses and plans every spec, so a bad spec fails here, before any data is read. ``settings`` are the
    run's side effects (caches, warm-up, progress; ``runtime.RunSettings``), applied while ``run`` runs; None: the
    environment's defaults, read when the run starts.
    """

    def __init__(self, path: Path, config: StudyConfig, specs: tuple[SpecFile, ...], plan: Plan, *,
                 settings: RunSettings | None = None) -> None:
        self.path = path
        self.config = config
        self.specs = specs
        self.plan = plan
        self.settings = settings

    def __repr__(self) -> str:
        return f"Study({self.config.name!r}, hypotheses={[s.spec.id for s in self.specs]})"

    @property
    def hypothesis_ids(self) -> tuple[str, ...]:
        return tuple(s.spec.id for s in self.specs)

    def validate(self, data: Mapping[str, DataInput], *, show_values: bool = False) -> ValidationResult:
        """Read the given sources (any subset of study.yaml's), check columns, contracts and each hypothesis'
        registered testability; estimate nothing."""
        loaded = _load_sources(self.plan, data, require_all=False)
        problems: list[str] = []
        try:  # `oca run` builds the report by default and refuses a missing notebook before estimating
            require_report_notebook(self)
        except OcaError as exc:
            problems.append(str(exc))
        try:
            _preflight_columns(self.plan, loaded)
        except DataError as exc:
            problems.append(str(exc))
        contracts = _run_contracts(self.plan, loaded, show_values=show_values)
        check = _testability_checker(self, loaded, show_values=show_values)
        testability = tuple(
            check(task).to_dict() for task in self.plan.tasks
            if task.source in loaded and contracts[task.source].get("passed")
            and all(name in loaded for name in task.linked_sources)  # a subset of the sources: check what is given
            and {column for column, _ in task.column_fields} <= set(map(str, loaded[task.source].frame.columns)))
        return ValidationResult(study=self.config.name, contracts=tuple(contracts.values()),
                                data={k: v.fingerprint for k, v in loaded.items()}, problems=tuple(problems),
                                testability=testability)

    def run(self, data: Mapping[str, DataInput], *, show_values: bool = False,
            on_inputs_checked: Callable[[], None] | None = None) -> RunResult:
        """Run every hypothesis. Returns a read-only ``RunResult``; writes no output (caches as ``settings`` say).
        ``on_inputs_checked`` is called once the data are read and their contracts have run, before the first
        hypothesis (the api starts the report's kernel there: bad input never gets that far)."""
        with using(self.settings if self.settings is not None else RunSettings.from_environment()) as settings:
            if settings.warmup:
                _start_kernel_warmup(self.plan)
            return self._run(data, show_values=show_values, warmup=settings.warmup,
                             on_inputs_checked=on_inputs_checked)

    def _run(self, data: Mapping[str, DataInput], *, show_values: bool, warmup: bool = False,
             on_inputs_checked: Callable[[], None] | None = None) -> RunResult:
        loaded = _load_sources(self.plan, data)
        if warmup:
            _start_its_precompile(self.plan, loaded)
        _preflight_columns(self.plan, loaded)
        # A source no hypothesis reads is not checked by the run (``oca validate`` checks every source given).
        contracts = _run_contracts(self.plan, loaded, show_values=show_values,
                                   only=_read_sources(self.plan.tasks))
        if on_inputs_checked is not None:
            on_inputs_checked()
        check = _testability_checker(self, loaded, show_values=show_values)
        threshold = self.config.suppression_threshold
        results = [hypothesis_finished(_run_task(hypothesis_started(task), contracts, loaded, testability=check,
                                                 threshold=threshold))
                   for task in self.plan.tasks]  # the command line prints each as it finishes
        # The lock decides what is confirmatory; changed locked specs also run in their registered version.
        results = apply_firewall(self.path, self.config, self.specs, self.plan, results,
                                 run_task=lambda task: _run_task(
                                     task, _contracts_for(task, contracts, self.plan, loaded, show_values=show_values),
                                     loaded, preflight=True, testability=check, threshold=threshold))
        # Multiple testing runs after every hypothesis, on the firewall's families (summarize/_multiple.py).
        adjustments = {task.id: task.spec.inference.adjustment for task in self.plan.tasks}
        return RunResult(study=self.config.name, oca_version=__version__, hypotheses=tuple(results),
                         contracts=_ordered(contracts, self.plan),
                         data={k: v.fingerprint for k, v in loaded.items()},
                         multiple_testing=adjust_families(results, adjustments))


#: Estimators whose campaign forecasts go through the numba-compiled batched filter (estimators/_its_batch.py).
_BATCHED_ITS = frozenset({"staggered_did", "its"})


def _start_its_precompile(plan: Plan, loaded: Mapping[str, LoadedSource]) -> None:
    """On the first large run after an installation, compile the batched ITS filter's loop on the other core
    (a child process; the first batched fit waits for it). Only for a source big enough for the fits to use the
    compiled loop (``compiled_worth_it``): the demo's pages never do, so its cold run compiles nothing here."""
    from ._extras import missing
    from .estimators import compiled_its_worth_it, precompile_its

    if missing("bayes"):  # a core installation has no numba: the numpy recursion serves every size
        return
    if any(task.estimator.name in _BATCHED_ITS and task.source in loaded
           and compiled_its_worth_it(len(loaded[task.source].frame)) for task in plan.tasks):
        precompile_its()


def _start_kernel_warmup(plan: Plan) -> None:
    """On the first run after an installation, compile the Bayesian kernels on the other core meanwhile (a child
    process; a fit that gets there first waits for it). The ITS loop's warm-up waits for the data's size
    (``_start_its_precompile``)."""
    from ._extras import missing
    from .bayes import start_kernel_warmup

    if missing("bayes"):  # a core installation: the Bayesian hypotheses will say which extra to install
        return
    if any(task.estimator.bayesian
           and (task.spec.bayes is None or task.spec.bayes.sampler.backend == "kernel") for task in plan.tasks):
        start_kernel_warmup()


def load_study(path: str | Path, *, settings: RunSettings | None = None) -> Study:
    """Parse and plan a study folder. Raises ``SpecError`` (file and field named) on any bad spec."""
    study_dir = Path(path).resolve()
    config = load_study_config(study_dir)
    specs = load_hypotheses(study_dir)
    plan = make_plan(study_dir, config, specs)
    for source in plan.sources:  # reader pins fail here, before any data is read
        _reader_options(source)
    return Study(study_dir, config, specs, plan, settings=settings)
