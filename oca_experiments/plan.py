"""Plan stage: specs → a frozen plan of tasks. Pure: reads only the study's files, never data, runs no code.

Every reference a spec makes is resolved here, so that mistakes fail in milliseconds with the file and field named:
the data source, its contract suite, the estimator and its options, the SE type, and ``analysis/`` functions
(checked by parsing the module, not importing it).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, InstanceOf, ValidationError

from ._layout import ANALYSIS_DIR
from .errors import SpecError
from .estimators import REGISTRY, EstimatorRecord
from .spec import STUDY_FILE, HypothesisSpec, SpecFile, StudyConfig, validation_to_spec_error



class _FrozenPlanModel(BaseModel):
    # Plans hold resolved references (paths, estimator registry records, validated option models).
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class AnalysisFunction(_FrozenPlanModel):
    """A function in the study's analysis/ folder, resolved by file and name."""

    reference: str
    file: Path
    name: str


class Task(_FrozenPlanModel):
    """One hypothesis, ready to estimate: the spec, its estimator and every column it reads (with the field)."""

    spec_file: str
    spec: HypothesisSpec
    estimator: InstanceOf[EstimatorRecord]
    options: BaseModel
    column_fields: tuple[tuple[str, str], ...]
    analysis_function: AnalysisFunction | None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def source(self) -> str:
        return self.spec.outcome.source

    @property
    def available(self) -> bool:
        return self.estimator.available

    @property
    def linked_sources(self) -> tuple[str, ...]:
        """Sources read beside the outcome's (e.g. the exposure of an exposure-response estimator)."""
        return self.estimator.linked_sources(self.options)

    @property
    def linked_columns(self) -> tuple[tuple[str, str, str], ...]:
        """(source, column, field) of every column read from a linked source."""
        return tuple((link.source, column, field) for link in self.estimator.links(self.options)
                     for column, field in link.columns)


class SourcePlan(_FrozenPlanModel):
    name: str
    contract: Path
    contract_display: str
    reader: tuple[tuple[str, Any], ...]
    hypotheses: tuple[str, ...]
    #: the source's XLSForm (labels for the report), None when study.yaml registers none
    xlsform: Path | None = None


class Plan(_FrozenPlanModel):
    study_dir: Path
    config: StudyConfig
    tasks: tuple[Task, ...]
    sources: tuple[SourcePlan, ...]

    def task(self, hypothesis_id: str) -> Task:
        for task in self.tasks:
            if task.id == hypothesis_id:
                return task
        raise KeyError(hypothesis_id)

    def source(self, name: str) -> SourcePlan:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def _column_fields(spec: HypothesisSpec, record: EstimatorRecord, options: BaseModel) -> tuple[tuple[str, str], ...]:
    construction = spec.outcome.construction
    pairs: list[tuple[str, str]] = []
    if construction.method in ("mean", "zscore", "icw"):
        pairs += [(c, "outcome.construction.items") for c in construction.items]
    elif construction.method == "column":
        pairs.append((construction.column or "", "outcome.construction.column"))
    else:
        pairs += [(c, "outcome.construction.inputs") for c in construction.inputs]
    design = spec.design
    for name in ("unit", "time", "treatment", "cluster", "group", "adoption", "interview_date"):
        value = getattr(design, name)
        if value:
            pairs.append((value, f"design.{name}"))
    pairs += [(c, "design.subset") for c in design.subset]
    pairs += [(c, "covariates") for c in spec.covariates]
    pairs += [(c, "fixed_effects") for c in spec.fixed_effects]
    pairs += [(c, "disaggregate") for c in spec.disaggregate]
    if spec.inference.randomization is not None and spec.inference.randomization.blocks:
        pairs.append((spec.inference.randomization.blocks, "inference.randomization.blocks"))
    if spec.weights is not None:
        if spec.weights.design_weight:
            pairs.append((spec.weights.design_weight, "weights.design_weight"))
        pairs += [(c, f"weights.margins.{c}") for c in spec.weights.margins]
    pairs += record.option_columns(options)
    seen: dict[str, str] = {}
    for column, field in pairs:
        seen.setdefault(column, field)
    return tuple(seen.items())


def _outside(path: Path, root: Path) -> bool:
    """Whether ``path`` leads out of ``root`` once symlinks are followed."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def study_file(study_dir: Path, relative: str, *, file: str, field: str, what: str) -> Path:
    """A path a study file names, refused unless it stays inside the study folder.

    Absolute paths, ``..`` parts and symlinks that lead out would let a spec read (or run) files that are not part
    of the study, so that its manifest and lock could not pin them.
    """
    parts = Path(relative).parts
    if Path(relative).is_absolute() or ".." in parts or (parts and parts[0].endswith(":")):
        raise SpecError(f"{what} '{relative}' lies outside the study folder", file=file, field=field,
                        fix="keep it inside the study folder and name it relative to it (no absolute path, no '..')")
    path = study_dir / relative
    if _outside(path, study_dir):
        raise SpecError(f"{what} '{relative}' is a symlink that leads outside the study folder", file=file,
                        field=field, fix="copy the file into the study folder instead of linking to it")
    return path


def _resolve_function(study_dir: Path, reference: str, *, spec_file: str) -> AnalysisFunction:
    """``analysis.<module>[.<sub>]:<function>`` as a file inside the study's analysis/ package, never outside it."""
    module, _, name = reference.partition(":")
    parts = module.split(".")
    if parts[0] == ANALYSIS_DIR:
        parts = parts[1:]
    field = "outcome.construction.function"
    shape_fix = "write it as 'analysis.<module>:<function>', with a module of the study's analysis/ folder"
    if not parts or not all(part.isidentifier() for part in parts) or not name.isidentifier():
        raise SpecError(f"'{reference}' is not a module of the study's {ANALYSIS_DIR}/ package and a function name",
                        file=spec_file, field=field, fix=shape_fix)
    analysis_dir = study_dir / ANALYSIS_DIR
    path = analysis_dir / Path(*parts).with_suffix(".py")
    if not path.is_file():
        raise SpecError(f"analysis module '{module}' not found (looked for {ANALYSIS_DIR}/{'/'.join(parts)}.py)",
                        file=spec_file, field=field, fix=shape_fix)
    if _outside(analysis_dir, study_dir) or _outside(path, analysis_dir):
        raise SpecError(f"analysis module '{module}' is a symlink that leads outside the study's {ANALYSIS_DIR}/ "
                        "folder", file=spec_file, field=field,
                        fix=f"copy the code into {ANALYSIS_DIR}/ instead of linking to it")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise SpecError(f"{ANALYSIS_DIR}/{'/'.join(parts)}.py is not valid UTF-8 Python"
                        + (f" (line {line})" if line else ""), file=spec_file, field=field,
                        fix="correct the module so that it imports") from None
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if name not in defined:
        raise SpecError(f"function '{name}' is not defined in {ANALYSIS_DIR}/{'/'.join(parts)}.py", file=spec_file,
                        field=field, fix=f"define it or use one of: {', '.join(sorted(defined)) or 'none defined'}")
    return AnalysisFunction(reference=reference, file=path, name=name)


def _offering(capability: str) -> str:
    names = sorted(name for name, record in REGISTRY.items() if capability in record.capabilities)
    return ", ".join(names) or "none registered"


def _check_bayes(spec: HypothesisSpec, info: EstimatorRecord, where: str) -> None:
    """A ``bayes`` section belongs to Bayesian estimators only, and names only priors the model has."""
    if spec.bayes is None:
        return
    if info.priors is None:
        raise SpecError(f"estimator {info.name} is not Bayesian; the 'bayes' section does not apply", file=where,
                        field="bayes", fix=f"remove the section or use {_offering('bayesian')}")
    chains = getattr(getattr(spec.bayes, "sampler", None), "chains", 4)
    if spec.type == "confirmatory" and chains < 2:
        raise SpecError(f"a confirmatory hypothesis is sampled with {chains} chain: R-hat compares chains, so one "
                        "chain cannot show convergence", file=where, field="bayes.sampler.chains",
                        fix="use at least 2 chains (4 is the default), or register the hypothesis as exploratory")
    known = info.priors
    unknown = sorted(set(spec.bayes.priors) - set(known))
    if unknown:
        raise SpecError(f"unknown prior '{unknown[0]}' for {info.name}", file=where, field=f"bayes.priors.{unknown[0]}",
                        fix=f"use one of: {', '.join(known)}")


def _check_survey_inference(spec: HypothesisSpec, config: StudyConfig, where: str) -> None:
    """The survey-effects settings that can be checked without data (issue 5)."""
    if (spec.inference.se == "wild" or spec.inference.randomization is not None) and not spec.design.cluster:
        field = "inference.se" if spec.inference.se == "wild" else "inference.randomization"
        raise SpecError("the wild cluster bootstrap and randomization inference need a cluster column", file=where,
                        field=field, fix="name the column of the unit of assignment in design.cluster")
    if spec.outcome.construction.method in ("zscore", "icw") and spec.design.pre is None:
        raise SpecError(f"index method '{spec.outcome.construction.method}' standardizes against the comparison "
                        "arm at the pre wave", file=where, field="design.pre",
                        fix="name the baseline wave label, e.g. pre: baseline, or use method: mean")
    registered = set(config.sources[spec.outcome.source].post_treatment)
    for position, column in enumerate(spec.covariates):
        if column in registered:
            raise SpecError(f"covariate '{column}' is registered as measured after treatment (study.yaml "
                            f"sources.{spec.outcome.source}.post_treatment) and could absorb part of the effect",
                            file=where, field=f"covariates[{position}]",
                            fix="use a baseline measurement of it or drop it from covariates")


def _check_linked_sources(spec: HypothesisSpec, info: EstimatorRecord, options: BaseModel, config: StudyConfig,
                          where: str) -> None:
    """Sources an estimator links to must be declared; what the spec alone shows wrong fails here (no data read)."""
    for link in info.links(options):
        if link.source not in config.sources:
            raise SpecError(f"unknown data source '{link.source}'", file=where, field=link.field,
                            fix=f"use one of the sources declared in {STUDY_FILE}: {', '.join(config.sources)}")
    if info.spec_check is not None:
        problem = info.spec_check(spec, options)
        if problem is not None:
            field, message, fix = problem
            raise SpecError(message, file=where, field=field, fix=fix)


def _check_capabilities(spec: HypothesisSpec, info: EstimatorRecord, options: BaseModel, where: str) -> None:
    """What a spec asks beyond the estimate must be something the estimator does (its registry record says)."""
    # A registered fixed effect or disaggregation the estimator would ignore must fail here, not vanish.
    if spec.covariates and not info.covariates:
        # A registered covariate the estimator would ignore must fail here, not vanish from the analysis.
        raise SpecError(f"estimator {info.name} does not adjust for covariates", file=where, field="covariates",
                        fix="remove them from the spec")
    if spec.fixed_effects and (info.fixed_effects is None or not info.fixed_effects(options)):
        form = " with the registered estimator.options" if info.fixed_effects is not None else ""
        raise SpecError(f"estimator {info.name} does not absorb additional fixed effects{form}", file=where,
                        field="fixed_effects", fix="remove them (the design's own fixed effects are implied) or "
                        f"use an estimator that takes them: {_offering('fixed_effects')}")
    if spec.weights is not None:
        _check_weights(spec, info, where)
    if spec.disaggregate and info.disaggregation is None:
        raise SpecError(f"estimator {info.name} does not re-estimate by subgroup", file=where, field="disaggregate",
                        fix=f"remove disaggregate or use one of: {_offering('disaggregation')}")


def _check_weights(spec: HypothesisSpec, info: EstimatorRecord, where: str) -> None:
    """Registered survey weights: an estimator that uses them, and nothing registered beside them that the
    weighted estimate would silently drop."""
    if not info.survey_weights:
        raise SpecError(f"estimator {info.name} does not use survey weights", file=where, field="weights",
                        fix=f"remove weights or use one of: {_offering('survey_weights')}")
    if spec.disaggregate:
        raise SpecError("disaggregate re-estimates on each level's rows, which would re-rake every subgroup to the "
                        "whole population's margins (domain estimation with raked weights is not implemented)",
                        file=where, field="disaggregate",
                        fix="remove disaggregate from the weighted spec (register the subgroup contrast with "
                        "estimator.options.by, or disaggregate an unweighted twin of the hypothesis)")
    if spec.inference.randomization is not None or spec.inference.se == "wild":
        field = "inference.randomization" if spec.inference.randomization is not None else "inference.se"
        raise SpecError("randomization inference and the wild cluster bootstrap treat the weights as fixed; with "
                        "survey weights the inference is the linearized variance with the raking adjustment",
                        file=where, field=field, fix=f"remove {field} from the weighted spec (or register the "
                        "hypothesis without weights)")
    for position, column in enumerate(spec.covariates):
        if column == spec.weights.design_weight:  # type: ignore[union-attr]
            raise SpecError(f"covariate '{column}' is the design weight column", file=where,
                            field=f"covariates[{position}]", fix="drop it from covariates")


def _check_families(tasks: tuple[Task, ...]) -> None:
    """All hypotheses of a multiple-testing family register the same adjustment method."""
    methods: dict[str, tuple[str, str]] = {}
    for task in tasks:
        family, method = task.spec.inference.family, task.spec.inference.adjustment
        if family is None:
            continue
        first = methods.setdefault(family, (method, task.spec_file))
        if first[0] != method:
            raise SpecError(f"family '{family}' registers adjustment '{method}' here but '{first[0]}' in "
                            f"{first[1]}", file=task.spec_file, field="inference.adjustment",
                            fix="register one multiple-testing adjustment per family")


def _plan_task(study_dir: Path, config: StudyConfig, spec_file: SpecFile) -> Task:
    spec, where = spec_file.spec, spec_file.path
    if spec.outcome.source not in config.sources:
        raise SpecError(f"unknown data source '{spec.outcome.source}'", file=where, field="outcome.source",
                        fix=f"use one of the sources declared in {STUDY_FILE}: {', '.join(config.sources)}")
    info = REGISTRY.get(spec.estimator.name)
    if info is None:
        raise SpecError(f"unknown estimator '{spec.estimator.name}'", file=where, field="estimator.name",
                        fix=f"use one of: {', '.join(sorted(REGISTRY))}")
    try:
        options = info.options_model.model_validate(spec.estimator.options)
    except ValidationError as exc:
        error = validation_to_spec_error(exc, display=where, model=info.options_model)
        raise SpecError(error.message, file=where, field=f"estimator.options.{error.field}", fix=error.fix) from None
    for name in info.design_fields:
        if getattr(spec.design, name) is None:
            raise SpecError(f"estimator {info.name} needs design.{name}", file=where, field=f"design.{name}",
                            fix={"pre": "name the baseline wave label, e.g. pre: baseline",
                                 "post": "name the endline wave label, e.g. post: endline",
                                 "adoption": "name the column holding each unit's treatment start date"}[name])
    if spec.inference.se not in info.se_types:
        raise SpecError(f"SE type '{spec.inference.se}' is not offered by {info.name}", file=where,
                        field="inference.se", fix=f"use one of: {', '.join(info.se_types)}")
    if spec.inference.se.startswith("CR") and not spec.design.cluster:
        raise SpecError(f"SE type {spec.inference.se} needs a cluster column", file=where, field="design.cluster",
                        fix="name the column of the unit of assignment, or use se: HC1")
    _check_survey_inference(spec, config, where)
    _check_linked_sources(spec, info, options, config, where)
    _check_bayes(spec, info, where)
    _check_capabilities(spec, info, options, where)
    function = None
    if spec.outcome.construction.method == "function":
        function = _resolve_function(study_dir, spec.outcome.construction.function or "", spec_file=where)
    return Task(spec_file=where, spec=spec, estimator=info, options=options,
                column_fields=_column_fields(spec, info, options), analysis_function=function)


def make_plan(study_dir: Path, config: StudyConfig, spec_files: tuple[SpecFile, ...]) -> Plan:
    """Resolve every spec against the study config and the estimator catalogue. Same inputs, same plan."""
    tasks = tuple(_plan_task(study_dir, config, sf) for sf in spec_files)
    _check_families(tasks)
    sources = []
    if config.report is not None:  # None: the built-in report
        study_file(study_dir, config.report, file=STUDY_FILE, field="report", what="report notebook")
    for name, source in config.sources.items():
        contract = study_file(study_dir, source.contract, file=STUDY_FILE, field=f"sources.{name}.contract",
                              what="contract suite")
        display = source.contract
        if not contract.is_file():
            raise SpecError(f"contract suite '{display}' not found", file=STUDY_FILE,
                            field=f"sources.{name}.contract",
                            fix="create the Great Expectations suite or correct the path")
        users = tuple(t.id for t in tasks if t.source == name or name in t.linked_sources)
        form = None
        if source.xlsform is not None:
            form = study_file(study_dir, source.xlsform, file=STUDY_FILE, field=f"sources.{name}.xlsform",
                              what="XLSForm")
            if not form.is_file():
                raise SpecError(f"XLSForm '{source.xlsform}' not found", file=STUDY_FILE,
                                field=f"sources.{name}.xlsform",
                                fix="put the form (.xlsx) in the study folder or correct the path")
        sources.append(SourcePlan(name=name, contract=contract, contract_display=display,
                                  reader=tuple(sorted(source.reader.items())), hypotheses=users, xlsform=form))
    return Plan(study_dir=study_dir, config=config, tasks=tasks, sources=tuple(sources))
