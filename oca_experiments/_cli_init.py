"""``oca init DIR``: a new study folder with commented study.yaml, example specs, a contract draft and a README.

Registered in ``cli.py``. Without data the files name the conventional columns (respondent_id, wave, treated,
community_id, cso_id, participant, h_trust_1..4, know_01..10), listed in the study's README; with
``--from-data survey=FILE`` they name the columns recognised in the file, and the contract is drafted from it.

Exit codes: 0 written; 2 bad input (a file that would be overwritten, unreadable data). Every target is checked
before the first file is written, so a refused init leaves the folder as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ._cli_common import _guarded, _parse_data
from .errors import DataError

CONTRACT = "data_contracts/survey.json"
EXAMPLES_DIR = "hypotheses/examples"


@dataclass(frozen=True)
class Columns:
    """The columns the generated specs name."""

    unit: str = "respondent_id"
    time: str = "wave"
    pre: str = "baseline"
    post: str = "endline"
    treatment: str = "treated"
    cluster: str = "community_id"
    group: str | None = "cso_id"
    participant: str | None = "participant"
    likert: tuple[str, ...] = ("h_trust_1", "h_trust_2", "h_trust_3", "h_trust_4")
    likert_scale: tuple[int, int] = (1, 5)
    knowledge: tuple[str, ...] = tuple(f"know_{i:02d}" for i in range(1, 11))
    from_file: str | None = None
    missing: tuple[str, ...] = ()  # roles not recognised in the data (left at their conventional names)


def _columns_from(frame: Any, file_name: str) -> Columns:
    from .contracts import guess_roles

    roles = guess_roles(frame)
    default = Columns()
    missing = [role for role in ("unit", "time", "treatment", "cluster") if getattr(roles, role) is None]
    pre, post = default.pre, default.post
    if len(roles.time_values) == 2:
        known = [v for v in ("baseline", "endline") if v in roles.time_values]
        pre, post = ("baseline", "endline") if len(known) == 2 else roles.time_values
    elif roles.time is not None:
        missing.append("pre/post waves")
    likert_prefix = next(iter(roles.likert), None)
    knowledge_prefix = next(iter(roles.binary_items), None)
    if likert_prefix is None:
        missing.append("Likert items")
    if knowledge_prefix is None:
        missing.append("knowledge items")
    return Columns(
        unit=roles.unit or default.unit, time=roles.time or default.time, pre=pre, post=post,
        treatment=roles.treatment or default.treatment, cluster=roles.cluster or default.cluster,
        group=roles.group, participant=roles.participant,
        likert=roles.likert[likert_prefix] if likert_prefix else default.likert,
        likert_scale=roles.likert_scale[likert_prefix] if likert_prefix else default.likert_scale,
        knowledge=roles.binary_items[knowledge_prefix] if knowledge_prefix else default.knowledge,
        from_file=file_name, missing=tuple(missing))


def _flow(items: tuple[str, ...] | list[Any]) -> str:
    return yaml.safe_dump(list(items), default_flow_style=True, width=10_000).strip()


def _study_yaml(name: str, cols: Columns, pins: dict[str, Any]) -> str:
    reader = _flow_map(pins)
    return f"""# study.yaml: what the study is and where its data come from. Written by `oca init`; edit freely.
name: {json.dumps(name, ensure_ascii=False)}
description: >
  [Two or three sentences: the intervention, who is treated, what is measured, when.]
sources:
  survey:
    contract: {CONTRACT}          # the data contract (`oca contract draft --data survey=FILE` writes it)
    default_file: survey.csv
    description: Panel survey, one row per respondent and wave.
    # xlsform: forms/survey.xlsx   the Kobo/ODK form: its item and choice labels are shown in the report
    # Reader pins for the files the field team sends; anything unset is detected. Examples:
    #   label_row: true              Kobo/ODK exports with a row of question labels under the header
    #   group_prefixes: kobo         strip 'group/' (Kobo) or 'group-' (odk_central) from the header (default: auto)
    #   encoding: cp1251             only for old Excel CSVs; cp1251 cannot hold ү, ө, ң (docs/data.md)
    #   time_zone: Asia/Bishkek      timestamps as local time (default UTC)
    #   date_columns: [interview_date]
    reader: {reader}
    testability:                   # checked before estimation; a miss makes a hypothesis "not testable"
      min_units_per_arm_wave: 10   # respondents per arm in each wave (also the small-cell threshold)
      min_clusters_per_arm: 4      # {cols.cluster} values per arm in each wave
      max_attrition: 0.3           # share of {cols.pre} respondents missing at {cols.post}
      max_differential_attrition: 0.1
  # Page-level engagement series: uncomment, draft its contract (oca contract draft --data engagement=FILE) and
  # move hypotheses/examples/h3_engagement_series.yaml into hypotheses/.
  # engagement:
  #   contract: data_contracts/engagement.json
  #   default_file: engagement.csv
  #   description: Daily metrics per page.
suppression_threshold: 10          # cells with fewer units are never shown in reports
testability:
  no_treatment_reversal: true      # assignment constant within each unit and cluster
# report: reports/report.ipynb     # a custom report notebook; by default the built-in report is used
"""


def _flow_map(pins: dict[str, Any]) -> str:
    return yaml.safe_dump(pins, default_flow_style=True, width=10_000, allow_unicode=True).strip() if pins else "{}"


def _design_block(cols: Columns, *, subset: str = "") -> str:
    group = f"\n  group: {cols.group}" if cols.group else ""
    return f"""design:
  unit: {cols.unit}
  time: {cols.time}
  pre: {json.dumps(str(cols.pre))}
  post: {json.dumps(str(cols.post))}
  treatment: {cols.treatment}            # 0/1 assignment of the respondent's {cols.cluster}
  cluster: {cols.cluster}{group}
  waves:
    - {{label: {json.dumps(str(cols.pre))}, description: before the intervention}}
    - {{label: {json.dumps(str(cols.post))}, description: after the intervention}}
  treatment_definition: >
    [What being treated means, and how {cols.cluster} values were assigned (lottery, blocks).]{subset}"""


def _did_spec(cols: Columns) -> str:
    low, high = cols.likert_scale
    return f"""# Panel survey difference-in-differences on an index of Likert items. Written by `oca init`: replace every
# [bracketed] text, check the items and the SESOI, then `oca prereg lock` BEFORE anyone sees outcome data.
id: h1_index_did
title: "[The intervention raises the outcome index]"
hypothesis: >
  [Among respondents in treated {cols.cluster} values, the index rises from {cols.pre} to {cols.post} by more than
  in comparison ones.]
type: confirmatory
direction: increase
outcome:
  source: survey
  name: outcome_index
  label: "[Outcome index] (KLK index, SD units of the comparison arm at {cols.pre})"
  construction:
    method: zscore           # Kling-Liebman-Katz: items as z-scores against the comparison arm at {cols.pre}
    items: {_flow(cols.likert)}
    reverse: []              # items where agreeing means less of the outcome
    scale: [{low}, {high}]
    min_items: {max(1, len(cols.likert) - 1)}
    reliability_threshold: 0.7
{_design_block(cols)}
estimator:
  name: survey_did
  options:
    panel: true
inference:
  alpha: 0.05
  tails: two
  se: CR1                    # cluster-robust by {cols.cluster}
  sesoi: 0.1                 # smallest effect of interest, SD units of the index
  family: main
  adjustment: holm
  few_clusters: {{threshold: 30, method: wild_webb}}   # under 30 clusters the wild cluster bootstrap is primary
  bootstrap: {{draws: 9999, weights: webb, seed: 20260101}}
version: 1
status: draft
estimand: >
  ATT on the index: the {cols.pre}-to-{cols.post} change among respondents of treated clusters minus the change in
  comparison clusters (2x2 DiD, respondent fixed effects and a wave dummy).
"""


def _gain_spec(cols: Columns) -> str:
    subset = f"\n  subset:\n    {cols.participant}: [1]" if cols.participant else ""
    return f"""# Knowledge gain among training participants (pre/post, no comparison arm). Written by `oca init`.
id: h2_knowledge_gain
title: "[Training raises participants' knowledge]"
hypothesis: >
  [Among training participants, the mean score on the knowledge test rises from {cols.pre} to {cols.post}.]
type: confirmatory
direction: increase
outcome:
  source: survey
  name: knowledge_score
  label: Knowledge test score (share of items correct)
  construction:
    method: mean
    items: {_flow(cols.knowledge)}
    scale: [0, 1]
    min_items: {max(1, (len(cols.knowledge) * 4) // 5)}
{_design_block(cols, subset=subset)}
testability:
  arms: pooled               # a pre/post gain among participants: few live in comparison clusters
estimator:
  name: knowledge_gain
inference:
  alpha: 0.05
  tails: one
  se: CR1
  sesoi: 0.1
  family: knowledge
version: 1
status: draft
"""


ENGAGEMENT_EXAMPLE = """# Engagement series (staggered campaign starts, page-day panel). Not loaded from this folder: move it into
# hypotheses/ once study.yaml declares the engagement source and its contract.
id: h3_engagement_series
title: "[Campaign launch raises daily engagement]"
hypothesis: >
  [After a page launches its campaign, its daily reactions rise relative to comparison pages and to pages whose
  campaign has not started yet.]
type: confirmatory
direction: increase
outcome:
  source: engagement
  name: reactions
  label: Daily reactions
  construction:
    method: column
    column: reactions
design:
  unit: page_id
  time: date
  adoption: campaign_start   # each page's campaign start date; empty for comparison pages
  treatment: treated
  cluster: page_id
estimator:
  name: staggered_did
  options:
    period: week
    control_group: never_treated
    aggregation: simple
    bootstrap_draws: 999
    seed: 20260101
inference:
  alpha: 0.05
  tails: two
  se: CR1
  sesoi: 0.5
  family: engagement
version: 1
status: draft
"""


def _placeholder_contract(cols: Columns) -> dict[str, Any]:
    columns = [cols.unit, cols.time, cols.treatment, cols.cluster, *(c for c in (cols.group, cols.participant) if c),
               *cols.likert, *cols.knowledge]
    return {"name": "survey", "id": None, "expectations": [
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": columns, "exact_match": False},
         "meta": {}, "severity": "critical"},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {},
         "severity": "critical"}],
        "meta": {"oca": {"source": "survey", "sensitive_columns": [cols.unit], "placeholder": True,
                         "description": "Placeholder written by `oca init`: replace it with "
                                        "`oca contract draft --data survey=FILE`, review, commit."}},
        "notes": None}


def _readme(name: str, cols: Columns, *, drafted: bool) -> str:
    data_note = (f"The specs name the columns recognised in `{cols.from_file}`."
                 + (f" Not recognised (conventional names used, edit the specs): {', '.join(cols.missing)}."
                    if cols.missing else "")) if cols.from_file else (
        "The specs name these columns; rename them in the specs or in the data so that they match:")
    columns = "\n".join(f"| `{c}` | {what} |" for c, what in (
        (cols.unit, "respondent ID, the same in every wave (sensitive: never shown)"),
        (cols.time, f"wave label: `{cols.pre}` or `{cols.post}`"),
        (cols.treatment, "0/1: the respondent's cluster was assigned to the intervention"),
        (cols.cluster, "cluster (unit of assignment) ID"),
        *(((cols.group, "implementing group, e.g. the CSO"),) if cols.group else ()),
        *(((cols.participant, "0/1: took part in the training"),) if cols.participant else ()),
        (", ".join(cols.likert), f"Likert items, {cols.likert_scale[0]}-{cols.likert_scale[1]}, may be empty"),
        (", ".join(cols.knowledge), "knowledge test items, 0/1, may be empty for non-participants"),
    ))
    contract_step = ("2. Review `data_contracts/survey.json` (drafted from your file), then commit it."
                     if drafted else
                     "2. Draft the data contract from the file, review it, commit it:\n\n"
                     "       oca contract draft --data survey=survey.csv          # add --form form.xlsx for an "
                     "XLSForm")
    return f"""# {name}

A study folder for [oca](https://pypi.org/project/oca-experiments/), written by `oca init`.

| file | what it is |
| --- | --- |
| `study.yaml` | the study and its data sources (reader pins for Kobo/ODK exports are explained inside) |
| `hypotheses/*.yaml` | one spec per hypothesis: outcome, design, estimator, inference (edit the [bracketed] text) |
| `hypotheses/examples/` | more designs to copy into `hypotheses/` (engagement series) |
| `data_contracts/survey.json` | what the survey file must look like (Great Expectations suite) |

## Data

{data_note}

| column | content |
| --- | --- |
{columns}

## Next commands

1. Put the survey export in this folder as `survey.csv` (or .xlsx/.parquet; Kobo and ODK Central group prefixes
   such as `trust/h_trust_1` are stripped automatically).
{contract_step}
3. Check everything before any estimate: `oca validate . --data survey=survey.csv`
4. Lock the plan before anyone sees outcome data: `oca prereg lock .` (then commit `hypotheses/registry.lock.json`)
5. Run and build the report: `oca report build . --data survey=survey.csv --out build/run`
   (`oca run` does the same with its summary on the terminal; the report is the built-in one unless study.yaml
   names `report:`)
6. First time only: record the results the checks compare against:
   `oca check . --data survey=survey.csv --update-expected`, commit `expected_results.json`;
   from then on `oca check . --data survey=survey.csv` (e.g. in CI) fails when a result drifts.

The study guide (`docs/study-guide.md` in the oca repository) walks through every step.
"""


def init(
    directory: Annotated[Path, typer.Argument(help="Study folder to create (may exist, e.g. holding the data).")]
    = Path("."),
    from_data: Annotated[list[str] | None, typer.Option(
        "--from-data", help="survey=FILE: name the columns seen in this file and draft the contract from it.")]
    = None,
    reader: Annotated[list[str] | None, typer.Option(
        "--reader", help="Reader pin KEY=VALUE for --from-data, written into study.yaml (repeatable).")] = None,
    name: Annotated[str | None, typer.Option(help="Study name (default: the folder's name).")] = None,
) -> None:
    """Start a study: study.yaml with commented fields, one example spec per common design (panel survey DiD,
    knowledge gain, engagement series), a data contract draft and a README listing the next commands."""

    def body() -> int:
        from ._atomic import atomic_write_text
        from ._cli_data import _parse_pins

        folder = directory.resolve()
        data = _parse_data(from_data)
        unknown = sorted(set(data) - {"survey"})
        if unknown:
            raise DataError(f"--from-data names source '{unknown[0]}'; oca init drafts the survey source",
                            fix="write --from-data survey=FILE")
        pins = _parse_pins(reader)
        study_name = name or re.sub(r"[_-]+", " ", folder.name).strip() or "New study"
        suite: dict[str, Any] | None = None
        if "survey" in data:
            from .contracts import draft_suite
            from .io import read_table, reader_options

            frame = read_table(data["survey"], reader_options(pins, field="--reader"))
            cols = _columns_from(frame, data["survey"].name)
            suite = draft_suite(frame, source="survey", file_name=data["survey"].name)
        else:
            cols = Columns()
        files = {
            "study.yaml": _study_yaml(study_name, cols, pins),
            "hypotheses/h1_index_did.yaml": _did_spec(cols),
            "hypotheses/h2_knowledge_gain.yaml": _gain_spec(cols),
            f"{EXAMPLES_DIR}/h3_engagement_series.yaml": ENGAGEMENT_EXAMPLE,
            CONTRACT: json.dumps(suite or _placeholder_contract(cols), indent=2, ensure_ascii=False) + "\n",
            "README.md": _readme(study_name, cols, drafted=suite is not None),
        }
        existing = [relative for relative in files if (folder / relative).exists()]
        if existing:
            raise DataError(f"{folder / existing[0]} already exists; oca init never overwrites a study's files",
                            fix="choose an empty folder (or one holding only data), or remove the file")
        for relative, text in files.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(target, text)
        typer.echo(f"wrote a new study in {folder}: " + ", ".join(files))
        if cols.missing:
            typer.echo(f"note: not recognised in {cols.from_file}: {', '.join(cols.missing)}; the specs use "
                       "conventional names there: edit them")
        typer.echo(f"next: see {folder / 'README.md'}")
        return 0

    _guarded(body)
