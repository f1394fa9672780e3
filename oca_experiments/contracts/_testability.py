"""Per-hypothesis testability: can this data test this hypothesis as registered? Checked before estimation.

The suites check each source on its own; these checks need the hypothesis' design (arms, waves, units, clusters,
implementing groups, adoption dates), so they run per hypothesis. A miss gives the status "not testable" with every
failing reason; the other hypotheses still run. Requirements are registered (``testability:`` in a spec, with
defaults per source and per study in ``study.yaml``); oca's own defaults below only refuse what no estimate could
survive (an empty arm or wave, a unit whose treatment flips).

What each rule means:

- ``min_units_per_arm_wave``: distinct units (``design.unit``) in each arm in each registered wave (``design.pre``,
  ``design.post``); per arm for time series. With ``arms: pooled`` (a pre/post design without a comparison arm) every
  rule counts both arms together.
- ``min_clusters_per_arm``: distinct clusters (``design.cluster``) in each arm, in each registered wave.
- ``max_attrition`` / ``max_differential_attrition``: panels only (units followed across waves): the share of pre-wave
  units absent at the post wave, overall and as the difference between the arms.
- ``min_pre_period_days``: time series with ``design.adoption``: days each adopting unit is observed before its
  adoption date.
- ``no_treatment_reversal``: the treatment (and adoption date) is constant within each unit and each cluster.
- ``balanced_panel``: every unit observed in every registered wave (every period for time series); when unset,
  required only if the estimator declares ``needs_balanced_panel``.
- ``complete_groups``: every implementing group (``design.group``, e.g. the CSO) present in the data is observed in
  every arm in every registered wave. This is the registered sample frame: when the endline survey of one CSO is
  missing, every hypothesis that registers the CSO as its group is not testable, while hypotheses on other sources
  still run. (A group absent from the whole file is a matter for the suite, e.g.
  ``expect_column_distinct_values_to_contain_set``.)

Messages carry counts, column names and the wave labels the spec registered, never data values; implementing-group
labels are named only with ``show_values`` and when the group column is not sensitive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..errors import DataError
from ..io import SPACING_WORD, holds_whole_numbers, native_spacing, period_codes, read_time, spacing_problem

__all__ = ["Requirements", "TestabilityCheck", "TestabilityResult", "assess_task", "assess_testability",
           "resolve_requirements"]

ARMS = ((1, "treated"), (0, "comparison"))
_MAX_NAMED = 5


@dataclass(frozen=True)
class Requirements:
    """Concrete requirements after the spec > source > study > default resolution."""

    min_units_per_arm_wave: int = 1
    min_clusters_per_arm: int | None = None
    max_attrition: float | None = None
    max_differential_attrition: float | None = None
    min_pre_period_days: int | None = None
    no_treatment_reversal: bool = True
    balanced_panel: bool | None = None
    complete_groups: bool = False
    fieldwork_windows: str = "note"
    arms: str = "both"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def resolve_requirements(*layers: Any) -> Requirements:
    """The first layer (most specific first) that sets a field decides it; ``None`` layers are skipped."""
    values: dict[str, Any] = {}
    for f in fields(Requirements):
        for layer in layers:
            value = getattr(layer, f.name, None) if layer is not None else None
            if value is not None:
                values[f.name] = value
                break
    return Requirements(**values)


@dataclass(frozen=True)
class TestabilityCheck:
    __test__ = False  # not a pytest test class, despite its name

    rule: str
    passed: bool
    required: Any
    observed: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "required": self.required, "observed": self.observed,
                "message": self.message}


@dataclass(frozen=True)
class TestabilityResult:
    """Every check of one hypothesis; ``counts`` are the rows each registered rule excluded."""

    __test__ = False  # not a pytest test class, despite its name

    hypothesis_id: str
    source: str
    checks: tuple[TestabilityCheck, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    requirements: Requirements = Requirements()

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))

    @property
    def testable(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[TestabilityCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)

    @property
    def reason(self) -> str | None:
        if self.testable:
            return None
        return "; ".join(f"{check.message} (testability.{check.rule})" for check in self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {"hypothesis": self.hypothesis_id, "source": self.source, "testable": self.testable,
                "reason": self.reason, "checks": [check.to_dict() for check in self.checks],
                "counts": dict(self.counts), "requirements": self.requirements.to_dict()}


def subset_mask(frame: pd.DataFrame, subset: Mapping[str, Any]) -> pd.Series:
    """Rows a spec's ``design.subset`` keeps (values compared as text, the runner's rule)."""
    keep = pd.Series(True, index=frame.index)
    for column, allowed in subset.items():
        allowed_text = {str(v) for v in allowed}
        keep &= frame[column].astype("string").isin(allowed_text).fillna(False)
    return keep


def assess_testability(frame: pd.DataFrame, spec: Any, requirements: Requirements, *, panel: bool | None = None,
                       needs_balanced_panel: bool = False, show_values: bool = False,
                       sensitive_columns: frozenset[str] = frozenset(),
                       periods: tuple[str, ...] = (), scale: str | None = None,
                       regressors: tuple[str, ...] = ()) -> TestabilityResult:
    """Check ``spec``'s registered requirements on ``frame`` (the whole source; the spec's subset is applied here).

    ``panel`` says whether the estimator follows units across waves (``None``: infer from the data). ``periods``
    are the time periods a series/panel estimator works in (e.g. ``("day",)``): the time column's spacing and the
    adoption column are checked against each, so that ``oca validate`` refuses what ``oca run`` would. ``scale``
    (a structural time-series model's scale, e.g. ``logit``) and ``regressors`` (time-varying covariates a forecast
    needs wherever the outcome is observed) are checked on an outcome read straight from a column.
    """
    return _Assessment(frame, spec, requirements, panel=panel, needs_balanced_panel=needs_balanced_panel,
                       show_values=show_values, sensitive_columns=sensitive_columns, periods=periods, scale=scale,
                       regressors=regressors).run()


class _Assessment:
    def __init__(self, frame: pd.DataFrame, spec: Any, requirements: Requirements, *, panel: bool | None,
                 needs_balanced_panel: bool, show_values: bool, sensitive_columns: frozenset[str],
                 periods: tuple[str, ...] = (), scale: str | None = None,
                 regressors: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.periods = tuple(dict.fromkeys(periods))
        self.scale = scale
        self.regressors = regressors
        self.design = spec.design
        self.requirements = requirements
        self.panel = panel
        self.needs_balanced_panel = needs_balanced_panel
        self.show_values = show_values
        self.sensitive = sensitive_columns
        self.checks: list[TestabilityCheck] = []
        self.counts: dict[str, int] = {"rows_in_source": len(frame)}
        self.row_numbers = pd.Series(range(len(frame)), index=frame.index)  # rows of the file, from 0
        keep = subset_mask(frame, self.design.subset)
        self.counts["rows_excluded_by_subset"] = int((~keep).sum())
        self.data = frame.loc[keep]
        self.waves = (self.design.pre, self.design.post) if self.design.pre and self.design.post else None

    # ------------------------------------------------------------------ driver

    def run(self) -> TestabilityResult:
        self._prepare()
        for period in self.periods:
            self._period(period)
        if self.scale is not None or self.regressors:
            self._series_values()
        if self.requirements.no_treatment_reversal:
            self._no_reversal()
        self._min_units()
        if self.requirements.min_clusters_per_arm is not None and self.design.cluster:
            self._min_clusters()
        if self.requirements.complete_groups and self.design.group:
            self._complete_groups()
        if self.waves and (self.requirements.max_attrition is not None
                           or self.requirements.max_differential_attrition is not None):
            self._attrition()
        balanced = self.requirements.balanced_panel
        if balanced if balanced is not None else self.needs_balanced_panel:
            self._balanced_panel()
        if self.requirements.min_pre_period_days is not None and self.design.adoption:
            self._pre_period()
        if self.design.interview_date and any(w.start or w.end for w in self.design.waves):
            self._fieldwork_windows()
        return TestabilityResult(self.spec.id, self.spec.outcome.source, tuple(self.checks), dict(self.counts),
                                 self.requirements)

    def _add(self, rule: str, passed: bool, required: Any, observed: Any, message: str) -> None:
        self.checks.append(TestabilityCheck(rule, bool(passed), required, observed, message))

    def _prepare(self) -> None:
        """Arms from the 0/1 treatment column and, for wave designs, the rows in the registered waves."""
        design = self.design
        treatment = pd.to_numeric(self.data[design.treatment], errors="coerce")
        coded = treatment.isin([0, 1])
        invalid = int((~coded).sum())
        self.counts["rows_with_treatment_not_0_or_1"] = invalid
        self._add("treatment_coded", invalid == 0, "0 or 1", invalid,
                  f"{invalid} row(s) have a treatment value ('{design.treatment}') other than 0 or 1"
                  if invalid else f"treatment '{design.treatment}' is coded 0/1 in every row")
        self.data = self.data.loc[coded]
        self.arm = treatment[coded].astype(int)
        if self.waves:
            wave = self.data[design.time].astype("string")
            self._waves_present(wave)
            in_waves = wave.isin(list(self.waves)).fillna(False)
            self.counts["rows_outside_registered_waves"] = int((~in_waves).sum())
            self.wave_data = self.data.loc[in_waves]
            self.wave = wave[in_waves]
            self.wave_arm = self.arm[in_waves]
        else:
            self.wave_data, self.wave, self.wave_arm = self.data, None, self.arm

    def _waves_present(self, wave: pd.Series) -> None:
        """A registered wave label the time column does not hold is a spelling mismatch, said as such (not as
        'baseline × treated has 0' further down)."""
        column = self.design.time
        present = sorted(set(wave.dropna()))
        absent = [label for label in self.waves if label not in present]  # type: ignore[union-attr]
        if not absent:
            self._add("waves_present", True, list(self.waves), len(present),  # type: ignore[arg-type]
                      f"column '{column}' holds both registered waves")
            return
        if column in self.sensitive:
            values = f"{len(present)} distinct values"
        else:
            values = ", ".join(present[:10]) + (f", … ({len(present) - 10} more)" if len(present) > 10 else "")
        labels = " or ".join(f"'{label}'" for label in absent)
        field = " and ".join(f"design.{name}" for name, label in (("pre", self.design.pre),
                                                                  ("post", self.design.post)) if label in absent)
        self._add("waves_present", False, list(self.waves), len(present),  # type: ignore[arg-type]
                  f"column '{column}' has no value {labels} (values: {values}); correct {field} to the label the "
                  "data use")

    def _cells(self) -> list[tuple[int | None, str, str | None]]:
        """(arm, arm label, wave label) for every registered cell; arm ``None`` pools both arms."""
        arms = ARMS if self.requirements.arms == "both" else ((None, "both arms"),)
        if self.waves:
            return [(arm, label, wave) for wave in self.waves for arm, label in arms]
        return [(arm, label, None) for arm, label in arms]

    def _cell_mask(self, arm: int | None, wave: str | None) -> pd.Series:
        mask = self.wave_arm == arm if arm is not None else pd.Series(True, index=self.wave_arm.index)
        if wave is not None and self.wave is not None:
            mask &= (self.wave == wave).fillna(False)
        return mask

    @staticmethod
    def _cell_name(label: str, wave: str | None) -> str:
        return f"{wave} × {label}" if wave is not None else label

    # ------------------------------------------------------------------ rules

    def _fieldwork_windows(self) -> None:
        """Rows dated outside their wave's registered fieldwork window (``design.waves``): a note, or not testable
        when the spec registers ``fieldwork_windows: refuse``. Counts and row numbers only, never the dates."""
        design, mode = self.design, self.requirements.fieldwork_windows
        column = design.interview_date
        dates = _as_dates(self.data[column])
        labels = self.data[design.time].astype("string")
        positions = self.row_numbers
        outside_total, parts, examples, not_dates = 0, [], [], 0
        for wave in design.waves:
            if wave.start is None and wave.end is None:
                continue
            rows = (labels == wave.label).fillna(False)
            in_wave = dates[rows]
            not_dates += int((self.data.loc[rows, column].notna() & in_wave.isna()).sum())
            outside = in_wave.notna() & False
            if wave.start is not None:
                outside |= in_wave < pd.Timestamp(wave.start)
            if wave.end is not None:
                outside |= in_wave > pd.Timestamp(wave.end)
            count = int(outside.sum())
            if count:
                outside_total += count
                parts.append(f"{count} of {int(rows.sum())} rows of wave '{wave.label}' "
                             f"(window {_window_text(wave.start, wave.end)})")
                examples += [int(positions[i]) for i in outside[outside].index[:3]]
        self.counts["rows_outside_fieldwork_windows"] = outside_total
        if not outside_total:
            detail = f"; {not_dates} value(s) are not dates" if not_dates else ""
            self._add("fieldwork_windows", True, mode, 0,
                      f"every dated row of '{column}' lies in its wave's fieldwork window{detail}")
            return
        message = (f"{'; '.join(parts)} are dated outside their wave's fieldwork window (column '{column}', "
                   f"e.g. rows {', '.join(map(str, examples[:5]))})")
        if mode == "refuse":
            self._add("fieldwork_windows", False, mode, outside_total,
                      message + "; correct the dates or the registered windows")
        else:
            self._add("fieldwork_windows", True, mode, outside_total, "note: " + message)

    def _no_reversal(self) -> None:
        design = self.design
        problems = []
        if self.periods and not design.adoption:
            self._absorbing_indicator()
            return
        per_unit = self.arm.groupby(self.data[design.unit]).nunique()
        flips = int((per_unit > 1).sum())
        if flips:
            problems.append(f"treatment '{design.treatment}' changes within {flips} unit(s) of '{design.unit}'")
        if design.cluster and design.cluster != design.unit:
            per_cluster = self.arm.groupby(self.data[design.cluster]).nunique()
            mixed = int((per_cluster > 1).sum())
            if mixed:
                problems.append(f"treatment '{design.treatment}' differs within {mixed} cluster(s) of "
                                f"'{design.cluster}', the unit of assignment")
        if design.adoption:
            starts = self.data[design.adoption].astype("string").groupby(self.data[design.unit]).nunique()
            moved = int((starts > 1).sum())
            if moved:
                problems.append(f"adoption date '{design.adoption}' changes within {moved} unit(s)")
        self._add("no_treatment_reversal", not problems, True, flips,
                  "; ".join(problems) if problems else "treatment is constant within every unit and cluster")

    def _absorbing_indicator(self) -> None:
        """Without ``design.adoption`` the treatment column of a panel estimator is a treated-and-post indicator:
        each unit's 0/1 values may switch on once, in time order, and never off (adoption is derived from it)."""
        design = self.design
        try:
            times = read_time(self.data[design.time], self.periods[0], file="<data>", column=design.time,
                              allow_missing=True)
        except DataError:
            return  # the period check has already said why
        codes = pd.Series(period_codes(times.dropna(), self.periods[0]), index=times.dropna().index)
        frame = pd.DataFrame({"unit": self.data[design.unit], "t": codes, "d": self.arm}).dropna()
        frame = frame.sort_values(["unit", "t"], kind="stable")
        switched_off = frame.groupby("unit")["d"].apply(lambda d: bool(((d.cummax() == 1) & (d == 0)).any()))
        reverting = int(switched_off.sum())
        treated_units = int(frame.groupby("unit")["d"].max().sum())
        self._add("no_treatment_reversal", reverting == 0, True, reverting,
                  f"the treated-and-post indicator '{design.treatment}' switches back to 0 in {reverting} unit(s) "
                  f"of '{design.unit}'; treatment must stay on once it starts" if reverting else
                  f"'{design.treatment}' is read as a treated-and-post indicator: {treated_units} unit(s) switch "
                  "on once and stay on (adoption derived from it)")

    def _series_values(self) -> None:
        """An outcome read from a column (the only one known before estimation) lies in the registered scale's
        domain, and every registered regressor is present wherever the outcome is observed."""
        construction = self.spec.outcome.construction
        if construction.method != "column" or construction.column not in self.data.columns:
            return
        y = pd.to_numeric(self.data[construction.column], errors="coerce")
        domain = {"log": (y <= 0, "values <= 0 (scale log needs y > 0; log1p takes zeros)"),
                  "log1p": (y < 0, "negative values (scale log1p needs y >= 0)"),
                  "logit": ((y <= 0) | (y >= 1), "values not strictly between 0 and 1 (scale logit needs shares in "
                                                 "(0, 1))")}.get(self.scale or "")
        problems = []
        if domain is not None:
            outside, words = domain
            if int(outside.sum()):
                problems.append(f"outcome '{construction.column}' has {int(outside.sum())} {words}")
        for name in self.regressors:
            values = pd.to_numeric(self.data[name], errors="coerce") if name in self.data.columns else None
            if values is None:
                continue
            gaps = int((values.isna() & y.notna()).sum())
            if gaps:
                problems.append(f"regressor '{name}' is missing in {gaps} row(s) where the outcome is observed (a "
                                "forecast needs it in every observed period)")
        self._add("series_values", not problems, self.scale or "level", len(problems),
                  "; ".join(problems) if problems else "the outcome fits the registered scale and every regressor "
                  "is present where the outcome is observed")

    def _period(self, period: str) -> None:
        """The time column's spacing fits the estimator's period, and time and adoption are readable in it."""
        design = self.design
        problems = []
        problem = spacing_problem(self.data[design.time], period, column=design.time)
        if problem:
            problems.append(problem)
        else:
            for column, allow_missing in ((design.time, False), (design.adoption, True)):
                if not column:
                    continue
                try:
                    read_time(self.data[column], period, file="<data>", column=column, allow_missing=allow_missing)
                except DataError as exc:
                    problems.append(f"column '{column}': {exc.message} ({exc.fix})" if exc.fix else
                                    f"column '{column}': {exc.message}")
        spacing = native_spacing(self.data[design.time])
        self._add("period_spacing", not problems, period, spacing,
                  "; ".join(problems) if problems else
                  f"'{design.time}' is {SPACING_WORD.get(spacing or '', 'a single period')}, readable in the "
                  f"estimator's period ({period})")

    def _pre_period_integer(self, required: int) -> None:
        """Integer time: the pre-period is counted in periods (adoption minus the unit's first period)."""
        design = self.design
        frame = pd.DataFrame({"unit": self.data[design.unit], "time": _whole(self.data[design.time]),
                              "adoption": _whole(self.data[design.adoption])})
        adopting = frame.dropna(subset=["adoption"]).groupby("unit").agg(first=("time", "min"),
                                                                          adoption=("adoption", "min"))
        if adopting.empty:
            self._add("min_pre_period_days", False, required, None,
                      f"no unit has an adoption period in '{design.adoption}'")
            return
        periods = (adopting["adoption"] - adopting["first"]).astype(int)
        short, fewest = int((periods < required).sum()), int(periods.min())
        self._add("min_pre_period_days", short == 0, required, {"units": len(periods), "fewest_periods": fewest},
                  f"{short} of {len(periods)} adopting units have fewer than {required} periods of data before their "
                  f"adoption period (fewest {fewest})" if short else
                  f"every adopting unit has at least {required} pre-periods (fewest {fewest})")

    def _min_units(self) -> None:
        required = self.requirements.min_units_per_arm_wave
        observed = {}
        for arm, label, wave in self._cells():
            units = self.wave_data.loc[self._cell_mask(arm, wave), self.design.unit].nunique()
            observed[self._cell_name(label, wave)] = int(units)
        short = {cell: n for cell, n in observed.items() if n < required}
        per = "arm and wave" if self.waves else "arm"
        if short:
            listing = ", ".join(f"{cell} has {n}" for cell, n in short.items())
            message = f"too few units ('{self.design.unit}') per {per}: {listing}; at least {required} registered"
        else:
            message = f"every {per} has at least {required} units (fewest {min(observed.values())})"
        self._add("min_units_per_arm_wave", not short, required, observed, message)

    def _min_clusters(self) -> None:
        required = self.requirements.min_clusters_per_arm
        observed = {}
        for arm, label, wave in self._cells():
            clusters = self.wave_data.loc[self._cell_mask(arm, wave), self.design.cluster].nunique()
            observed[self._cell_name(label, wave)] = int(clusters)
        short = {cell: n for cell, n in observed.items() if n < required}
        if short:
            listing = ", ".join(f"{cell} has {n}" for cell, n in short.items())
            message = (f"too few clusters ('{self.design.cluster}') per arm: {listing}; at least {required} "
                       "registered")
        else:
            message = f"every arm has at least {required} clusters (fewest {min(observed.values())})"
        self._add("min_clusters_per_arm", not short, required, observed, message)

    def _complete_groups(self) -> None:
        column = self.design.group
        groups = self.wave_data[column]
        present = sorted(groups.dropna().astype(str).unique())
        missing: dict[str, list[str]] = {}
        for arm, label, wave in self._cells():
            seen = set(groups[self._cell_mask(arm, wave)].dropna().astype(str))
            for group in present:
                if group not in seen:
                    missing.setdefault(group, []).append(self._cell_name(label, wave))
        if not missing:
            self._add("complete_groups", True, True, {"groups": len(present), "incomplete": 0},
                      f"all {len(present)} groups ('{column}') are observed in every arm"
                      + (" and wave" if self.waves else ""))
            return
        name_groups = self.show_values and column not in self.sensitive
        patterns: dict[tuple[str, ...], list[str]] = {}
        for group, cells in missing.items():
            patterns.setdefault(tuple(cells), []).append(group)
        parts = []
        for cells, members in patterns.items():
            who = (", ".join(members[:_MAX_NAMED]) + ("…" if len(members) > _MAX_NAMED else "")) if name_groups \
                else f"{len(members)} group(s)"
            parts.append(f"{who} with no rows in {', '.join(cells)}")
        hint = "" if name_groups else " (rerun with --show-values to name them)"
        cells = ("arm" if self.requirements.arms == "both" else "") + (" and wave" if self.waves else "")
        message = (f"{len(missing)} of {len(present)} implementing groups ('{column}') are not observed in every "
                   f"{cells.strip().removeprefix('and ')}: {'; '.join(parts)}{hint}; the registered sample frame "
                   "needs each group in all of them")
        self._add("complete_groups", False, True, {"groups": len(present), "incomplete": len(missing)}, message)

    def _followed_units(self) -> tuple[pd.Series, pd.Series]:
        pre, post = self.waves  # type: ignore[misc]
        unit = self.wave_data[self.design.unit]
        pre_rows = (self.wave == pre).fillna(False)
        post_units = set(unit[(self.wave == post).fillna(False)].dropna())
        baseline = pd.DataFrame({"unit": unit[pre_rows], "arm": self.wave_arm[pre_rows]}).dropna()
        baseline = baseline.drop_duplicates("unit")
        return baseline["arm"], baseline["unit"].isin(post_units)

    def _attrition(self) -> None:
        arm, stayed = self._followed_units()
        followed = self.panel if self.panel is not None else bool(stayed.any())
        if not followed or arm.empty:
            return  # repeated cross-sections: nobody is followed, so nobody attrits
        overall = 1.0 - float(stayed.mean())
        by_arm = {label: 1.0 - float(stayed[arm == value].mean()) if (arm == value).any() else None
                  for value, label in ARMS}
        observed = {"overall": round(overall, 6), **{k: None if v is None else round(v, 6) for k, v in by_arm.items()}}
        limit = self.requirements.max_attrition
        if limit is not None:
            ok = overall <= limit
            self._add("max_attrition", ok, limit, observed,
                      f"attrition {100 * overall:.1f}% of pre-wave units {'is within' if ok else 'exceeds'} the "
                      f"registered maximum {100 * limit:.1f}%")
        limit = self.requirements.max_differential_attrition
        if limit is not None and None not in by_arm.values() and self.requirements.arms == "both":
            gap = abs(by_arm["treated"] - by_arm["comparison"])  # type: ignore[operator]
            ok = gap <= limit
            self._add("max_differential_attrition", ok, limit, observed,
                      f"differential attrition {100 * gap:.1f} points (treated {100 * by_arm['treated']:.1f}%, "
                      f"comparison {100 * by_arm['comparison']:.1f}%) {'is within' if ok else 'exceeds'} the "
                      f"registered maximum {100 * limit:.1f} points")

    def _balanced_panel(self) -> None:
        unit = self.wave_data[self.design.unit]
        periods = self.wave if self.wave is not None else self.wave_data[self.design.time].astype("string")
        n_periods = periods.nunique()
        per_unit = periods.groupby(unit).nunique()
        incomplete = int((per_unit < n_periods).sum())
        self._add("balanced_panel", incomplete == 0, True, incomplete,
                  f"{incomplete} of {len(per_unit)} units are not observed in all {n_periods} periods"
                  if incomplete else f"all {len(per_unit)} units are observed in all {n_periods} periods")

    def _pre_period(self) -> None:
        design, required = self.design, self.requirements.min_pre_period_days
        if holds_whole_numbers(self.data[design.time]):
            self._pre_period_integer(required)
            return
        time = _as_dates(self.data[design.time])
        adoption = _as_dates(self.data[design.adoption])
        bad_time = int((self.data[design.time].notna() & time.isna()).sum())
        bad_adoption = int((self.data[design.adoption].notna() & adoption.isna()).sum())
        if bad_time or bad_adoption:
            self._add("min_pre_period_days", False, required, None,
                      f"{bad_time} value(s) of '{design.time}' and {bad_adoption} of '{design.adoption}' are not "
                      "dates, so the pre-period cannot be measured")
            return
        frame = pd.DataFrame({"unit": self.data[design.unit], "time": time, "adoption": adoption})
        adopting = frame.dropna(subset=["adoption"]).groupby("unit").agg(first=("time", "min"),
                                                                          adoption=("adoption", "min"))
        if adopting.empty:
            self._add("min_pre_period_days", False, required, None,
                      f"no unit has an adoption date in '{design.adoption}'")
            return
        days = (adopting["adoption"] - adopting["first"]).dt.days
        short = int((days < required).sum())
        fewest = int(days.min())
        columns = f"(adoption dates in '{design.adoption}', days in '{design.time}')"
        self._add("min_pre_period_days", short == 0, required, {"units": len(days), "fewest_days": fewest},
                  f"{short} of {len(days)} adopting units have fewer than {required} days of data before their "
                  f"adoption date (fewest {fewest}) {columns}" if short else
                  f"every adopting unit has at least {required} pre-period days (fewest {fewest}) {columns}")


def _whole(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce")


def _window_text(start: Any, end: Any) -> str:
    return f"{start or 'open'} to {end or 'open'}"


def _as_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
    return pd.to_datetime(values.astype("string"), format="ISO8601", errors="coerce")


def assess_task(task: Any, frame: pd.DataFrame, config: Any, *, show_values: bool = False,
                sensitive_columns: frozenset[str] = frozenset()) -> TestabilityResult:
    """Testability of a planned task: requirements from its spec, its source and the study (in that order)."""
    source = config.sources.get(task.source)
    requirements = resolve_requirements(getattr(task.spec, "testability", None),
                                        getattr(source, "testability", None), getattr(config, "testability", None))
    return assess_testability(frame, task.spec, requirements, panel=getattr(task.options, "panel", None),
                              needs_balanced_panel=bool(getattr(task.estimator, "needs_balanced_panel", False)),
                              show_values=show_values, sensitive_columns=sensitive_columns,
                              periods=registered_periods(task), scale=getattr(task.options, "model_scale", None),
                              regressors=tuple(task.spec.covariates) if hasattr(task.options, "model_scale")
                              else ())


def registered_periods(task: Any) -> tuple[str, ...]:
    """Every period the task's estimator works in: its ``period`` option, those of nested robustness options
    (e.g. its' ``staggered_did``), or the estimator's fixed period (``EstimatorInfo.period``)."""
    found: list[str] = []

    def walk(options: Any) -> None:
        if options is None or not hasattr(options, "model_fields"):
            return
        period = getattr(options, "period", None)
        if isinstance(period, str):
            found.append(period)
        for name in type(options).model_fields:
            value = getattr(options, name, None)
            if hasattr(value, "model_fields"):
                walk(value)

    walk(task.options)
    fixed = getattr(task.estimator, "period", None)
    if not found and fixed:
        found.append(fixed)
    return tuple(dict.fromkeys(found))
