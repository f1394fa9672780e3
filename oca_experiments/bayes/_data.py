"""Model inputs: plain numpy arrays prepared from a source's rows, validated before anything is compiled or sampled.

Nothing here imports PyMC. Every ``prepare_*`` function copies what it needs and never mutates the caller's frame.
Each data class exposes ``model_inputs()`` (the arrays a model reads, also hashed for the draws cache) and keeps
the labels and raw pieces needed for reporting and predictive checks.

The survey models use *sufficient statistics*: a Gaussian likelihood for respondents' changes depends on the data
only through each community's count, mean and within sum of squares, and a cumulative-logit model without
respondent terms only through each community x wave's answer counts. Sampling cost is therefore independent of the
number of respondents (see docs/bayesian.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, EstimationError, NotEstimable  # noqa: F401  (NotEstimable re-exported)
from ..outcomes import numeric_column

__all__ = ["DidData", "ItsData", "OrdinalData", "prepare_did", "prepare_its", "prepare_ordinal"]


def _labels(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    codes, uniques = pd.factorize(values.astype("string"), sort=True)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)


def _treatment(frame: pd.DataFrame, column: str, *, file: str) -> np.ndarray:
    values = numeric_column(frame, column, file=file)
    if values.isna().any() or not values.isin([0.0, 1.0]).all():
        raise DataError("treatment must be coded 0/1 on every row", file=file, column=column,
                        fix="recode the treatment column to 0 (comparison) and 1 (treated)")
    return values.to_numpy(dtype=np.float64)


def _constant_within(keys: np.ndarray, values: np.ndarray, what: str, *, file: str, column: str) -> None:
    frame = pd.DataFrame({"k": keys, "v": values})
    varying = int((frame.groupby("k")["v"].nunique() > 1).sum())
    if varying:
        raise DataError(f"{what} changes within {varying} unit(s)", file=file, column=column,
                        fix=f"{what} must be constant within each unit")


# --------------------------------------------------------------------------- DiD on survey waves


@dataclass(frozen=True, eq=False)
class DidData:
    """Respondents observed in both waves, summarised per community (cluster), on the standardised scale.

    ``change`` is endline minus baseline outcome divided by ``scale`` (the baseline SD). Per cluster: ``n``,
    ``mean_change``, ``within_ss`` (sum of squared deviations from the cluster mean), ``treated`` (0/1) and
    ``group`` (index into ``group_labels``; one group when the spec names no group column).
    """

    n: np.ndarray
    mean_change: np.ndarray
    within_ss: np.ndarray
    treated: np.ndarray
    group: np.ndarray
    cluster_labels: tuple[str, ...]
    group_labels: tuple[str, ...]
    scale: float
    baseline_cluster_mean: np.ndarray  # outcome scale, per cluster
    unit_change: np.ndarray  # standardised, per respondent (for predictive checks)
    unit_cluster: np.ndarray
    unit_baseline: np.ndarray  # outcome scale, per respondent
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(self.n.size)

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    @property
    def n_units(self) -> int:
        return int(self.n.sum())

    def treated_weights(self) -> np.ndarray:
        """Each group's share of treated respondents: the weights of the portfolio (sample) effect."""
        weights = np.bincount(self.group, weights=self.n * self.treated, minlength=self.n_groups)
        total = weights.sum()
        return weights / total if total > 0 else np.full(self.n_groups, 1.0 / self.n_groups)

    def model_inputs(self) -> dict[str, np.ndarray]:
        return {"n": self.n, "mean_change": self.mean_change, "within_ss": self.within_ss,
                "treated": self.treated, "group": self.group}


def did_from_units(change: np.ndarray, cluster: np.ndarray, treated_by_cluster: np.ndarray,
                   group_by_cluster: np.ndarray, *, scale: float = 1.0,
                   baseline: np.ndarray | None = None, cluster_labels: tuple[str, ...] | None = None,
                   group_labels: tuple[str, ...] | None = None) -> DidData:
    """Sufficient statistics from unit-level changes (already on the outcome scale) and cluster labels."""
    n_clusters = treated_by_cluster.size
    standardised = np.asarray(change, dtype=np.float64) / scale
    n = np.bincount(cluster, minlength=n_clusters).astype(np.float64)
    if (n == 0).any():
        raise NotEstimable(f"{int((n == 0).sum())} cluster(s) have no respondent observed in both waves")
    sums = np.bincount(cluster, weights=standardised, minlength=n_clusters)
    mean = sums / n
    within = np.bincount(cluster, weights=(standardised - mean[cluster]) ** 2, minlength=n_clusters)
    base = np.zeros_like(standardised) if baseline is None else np.asarray(baseline, dtype=np.float64)
    base_mean = np.bincount(cluster, weights=base, minlength=n_clusters) / n
    n_groups = int(group_by_cluster.max()) + 1
    return DidData(
        n=n, mean_change=mean, within_ss=within, treated=treated_by_cluster.astype(np.float64),
        group=group_by_cluster.astype(np.int64),
        cluster_labels=cluster_labels or tuple(f"c{k}" for k in range(n_clusters)),
        group_labels=group_labels or tuple(f"g{k}" for k in range(n_groups)), scale=float(scale),
        baseline_cluster_mean=base_mean, unit_change=standardised, unit_cluster=np.asarray(cluster, np.int64),
        unit_baseline=base)


def prepare_did(frame: pd.DataFrame, outcome: pd.Series, design: Any, *, file: str) -> DidData:
    """Balanced panel of respondents in the registered pre and post waves, summarised per cluster."""
    if not design.cluster:
        raise NotEstimable("bayes_did needs design.cluster (communities get random intercepts)")
    wave = frame[design.time].astype("string")
    work = pd.DataFrame({
        "y": pd.to_numeric(outcome, errors="coerce").to_numpy(dtype=np.float64),
        "unit": frame[design.unit].astype("string").to_numpy(),
        "wave": wave.to_numpy(),
        "treated": _treatment(frame, design.treatment, file=file),
        "cluster": frame[design.cluster].astype("string").to_numpy(),
        "group": (frame[design.group].astype("string").to_numpy() if design.group else np.full(len(frame), "all")),
    })
    counts = {"rows_in_source": len(work)}
    work = work[work["wave"].isin([design.pre, design.post]).fillna(False).to_numpy(dtype=bool)]
    for column, name in (("unit", design.unit), ("cluster", design.cluster), ("group", design.group)):
        if work[column].isna().any():
            raise DataError(f"{int(work[column].isna().sum())} missing identifiers", file=file, column=name,
                            fix="every row needs a value")
    counts["rows_missing_outcome"] = int(work["y"].isna().sum())
    work = work[work["y"].notna()]
    if work.duplicated(["unit", "wave"]).any():
        raise DataError(f"{int(work.duplicated(['unit', 'wave']).sum())} units appear twice in the same wave",
                        file=file, column=design.unit, fix="remove duplicate interviews")
    wide = work.pivot(index="unit", columns="wave", values="y")
    if design.pre not in wide or design.post not in wide:
        raise NotEstimable(f"no answered outcome in wave '{design.pre if design.pre not in wide else design.post}'")
    keys = work.drop_duplicates("unit").set_index("unit")
    for column, name, what in (("treated", design.treatment, "treatment"), ("cluster", design.cluster, "cluster"),
                               ("group", design.group, "group")):
        _constant_within(work["unit"].to_numpy(), work[column].to_numpy(), what, file=file, column=name or column)
    both = wide.dropna()
    counts["units_not_in_both_waves"] = int(len(wide) - len(both))
    units = keys.loc[both.index]
    cluster_codes, cluster_labels = _labels(units["cluster"])
    per_cluster = pd.DataFrame({"c": cluster_codes, "t": units["treated"].to_numpy(),
                                "g": units["group"].to_numpy()})
    _constant_within(per_cluster["c"].to_numpy(), per_cluster["t"].to_numpy(), "treatment", file=file,
                     column=design.treatment)
    nested = per_cluster.groupby("c")["g"].nunique()
    if (nested > 1).any():
        raise DataError(f"{int((nested > 1).sum())} cluster(s) belong to more than one group", file=file,
                        column=design.group, fix="each community must belong to exactly one group (CSO)")
    first = per_cluster.groupby("c").first()
    group_codes, group_labels = _labels(first["g"])
    treated = first["t"].to_numpy(dtype=np.float64)
    for arm, label in ((1.0, "treated"), (0.0, "comparison")):
        if int((treated == arm).sum()) < 2:
            raise NotEstimable(f"the {label} arm has {int((treated == arm).sum())} cluster(s); the model needs at "
                               "least 2 per arm")
    baseline = both[design.pre].to_numpy(dtype=np.float64)
    scale = float(np.std(baseline, ddof=1)) if baseline.size > 1 else 0.0
    if not scale > 0:
        raise NotEstimable("the baseline outcome does not vary, so it cannot be standardised")
    change = (both[design.post] - both[design.pre]).to_numpy(dtype=np.float64)
    data = did_from_units(change, cluster_codes, treated, group_codes, scale=scale, baseline=baseline,
                          cluster_labels=cluster_labels, group_labels=group_labels)
    counts.update(units=int(len(both)), clusters=data.n_clusters, groups=data.n_groups,
                  clusters_treated=int(treated.sum()), clusters_comparison=int((treated == 0).sum()))
    object.__setattr__(data, "counts", counts)
    return data


# --------------------------------------------------------------------------- ordinal DiD


@dataclass(frozen=True, eq=False)
class OrdinalData:
    """Answer counts per cluster x wave x category (``counts[c, w, k]``; w = 0 pre, 1 post)."""

    counts: np.ndarray
    treated: np.ndarray
    group: np.ndarray
    categories: tuple[int, ...]
    cluster_labels: tuple[str, ...]
    group_labels: tuple[str, ...]
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def n_clusters(self) -> int:
        return int(self.treated.size)

    def model_inputs(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts, "treated": self.treated}


def prepare_ordinal(frame: pd.DataFrame, outcome: pd.Series, design: Any, scale: tuple[float, float] | None, *,
                    file: str, column: str) -> OrdinalData:
    if scale is None:
        raise NotEstimable("ordinal_did needs the item's answer scale: set outcome.construction.scale: [low, high]")
    if not design.cluster:
        raise NotEstimable("ordinal_did needs design.cluster (communities get random intercepts)")
    low, high = scale
    if float(low) != int(low) or float(high) != int(high) or high - low < 2:
        raise NotEstimable("ordinal_did needs an integer scale with at least 3 categories, e.g. [1, 5]")
    categories = tuple(range(int(low), int(high) + 1))
    wave = frame[design.time].astype("string")
    y = pd.to_numeric(outcome, errors="coerce").to_numpy(dtype=np.float64)
    keep = wave.isin([design.pre, design.post]).fillna(False).to_numpy(dtype=bool) & ~np.isnan(y)
    answered = y[keep]
    if answered.size and (np.any(answered != np.round(answered)) or answered.min() < low or answered.max() > high):
        raise DataError(f"answers must be whole numbers within [{low:g}, {high:g}]", file=file, column=column,
                        fix="recode the item or register its scale")
    treated_all = _treatment(frame, design.treatment, file=file)
    clusters = frame[design.cluster].astype("string")
    if clusters[keep].isna().any():
        raise DataError("missing cluster identifiers", file=file, column=design.cluster, fix="every row needs one")
    groups = (frame[design.group].astype("string") if design.group else pd.Series("all", index=frame.index))
    cluster_codes, cluster_labels = _labels(clusters[keep])
    post = (wave[keep] == design.post).to_numpy(dtype=np.int64)
    category = (answered - low).astype(np.int64)
    counts = np.zeros((len(cluster_labels), 2, len(categories)))
    np.add.at(counts, (cluster_codes, post, category), 1.0)
    per_cluster = pd.DataFrame({"c": cluster_codes, "t": treated_all[keep], "g": groups[keep].to_numpy()})
    _constant_within(per_cluster["c"].to_numpy(), per_cluster["t"].to_numpy(), "treatment", file=file,
                     column=design.treatment)
    first = per_cluster.groupby("c").first()
    treated = first["t"].to_numpy(dtype=np.float64)
    group_codes, group_labels = _labels(first["g"])
    for arm, label in ((1.0, "treated"), (0.0, "comparison")):
        if int((treated == arm).sum()) < 2:
            raise NotEstimable(f"the {label} arm has {int((treated == arm).sum())} cluster(s); the model needs at "
                               "least 2 per arm")
    for w, name in ((0, design.pre), (1, design.post)):
        if counts[:, w].sum() == 0:
            raise NotEstimable(f"no answers in wave '{name}'")
    return OrdinalData(counts=counts, treated=treated, group=group_codes, categories=categories,
                       cluster_labels=cluster_labels, group_labels=group_labels,
                       row_counts={"rows_in_source": len(frame), "answers": int(keep.sum()),
                                   "rows_missing_outcome": int(np.isnan(y).sum()),
                                   "clusters": len(cluster_labels)})


# --------------------------------------------------------------------------- interrupted time series


@dataclass(frozen=True, eq=False)
class ItsData:
    """Daily counts of treated units (``units x days``) with each unit's first treated day.

    ``successes[u, t]`` out of ``trials[u, t]`` (e.g. hostile comments out of comments); days without trials carry
    no information. ``regressor[t]`` is the standardised logit share of the comparison units on day t.
    """

    successes: np.ndarray
    trials: np.ndarray
    start_day: np.ndarray
    day_of_week: np.ndarray
    regressor: np.ndarray
    unit_labels: tuple[str, ...]
    group_labels: tuple[str, ...]
    dates: tuple[str, ...]
    level_step_days: int
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.successes.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.successes.shape[1])

    @property
    def n_steps(self) -> int:
        return int(np.ceil(self.n_days / self.level_step_days))

    def pre_mask(self) -> np.ndarray:
        return np.arange(self.n_days)[None, :] < self.start_day[:, None]

    def observed_pre(self) -> dict[str, np.ndarray]:
        """Flat arrays of the pre-period unit-days with at least one trial: what the likelihood sees."""
        mask = self.pre_mask() & (self.trials > 0)
        unit, day = np.nonzero(mask)
        return {"unit": unit.astype(np.int64), "day": day.astype(np.int64),
                "successes": self.successes[mask], "trials": self.trials[mask]}

    def model_inputs(self) -> dict[str, np.ndarray]:
        return {**self.observed_pre(), "start_day": self.start_day, "day_of_week": self.day_of_week,
                "regressor": self.regressor, "step_days": np.array([self.level_step_days])}


def prepare_its(frame: pd.DataFrame, outcome: pd.Series, design: Any, *, denominator: str, file: str,
                level_step_days: int, use_regressor: bool, min_pre_days: int = 14) -> ItsData:
    if denominator not in frame.columns:
        raise DataError("column not found (bayes_its option 'denominator')", file=file, column=denominator,
                        fix="name the column holding each day's number of trials, e.g. comments")
    if not design.adoption:
        raise NotEstimable("bayes_its needs design.adoption (each treated unit's start date)")
    trials = numeric_column(frame, denominator, file=file).fillna(0.0).to_numpy()
    if (trials < 0).any() or np.any(trials != np.round(trials)):
        raise DataError("the denominator must hold whole numbers >= 0", file=file, column=denominator,
                        fix="use a count column")
    share = pd.to_numeric(outcome, errors="coerce").to_numpy(dtype=np.float64)
    successes = np.where(trials > 0, np.nan_to_num(share) * trials, 0.0)
    if np.any(np.abs(successes - np.round(successes)) > 1e-6) or np.any((share < 0) | (share > 1)):
        raise DataError("outcome x denominator is not a count: the outcome must be a share of the denominator",
                        file=file, column=denominator, fix="register a share outcome (successes / trials)")
    dates = pd.to_datetime(frame[design.time].astype("string"), errors="coerce")
    if dates.isna().any():
        raise DataError(f"{int(dates.isna().sum())} dates could not be read", file=file, column=design.time,
                        fix="write dates as YYYY-MM-DD")
    units = frame[design.unit].astype("string")
    treated = _treatment(frame, design.treatment, file=file)
    work = pd.DataFrame({"unit": units.to_numpy(), "date": dates.to_numpy(), "treated": treated,
                         "trials": trials, "successes": np.round(successes),
                         "start": pd.to_datetime(frame[design.adoption].astype("string"), errors="coerce").to_numpy(),
                         "group": (frame[design.group].astype("string").to_numpy() if design.group
                                   else units.to_numpy())})
    if work.duplicated(["unit", "date"]).any():
        raise DataError("a unit appears twice on the same day", file=file, column=design.unit,
                        fix="aggregate to one row per unit and day")
    calendar = pd.date_range(work["date"].min(), work["date"].max(), freq="D")
    treated_units = work.loc[work["treated"] == 1]
    if treated_units["start"].isna().any():
        raise DataError("treated units need a start date", file=file, column=design.adoption,
                        fix="fill the adoption column for every treated unit")
    labels = tuple(sorted(treated_units["unit"].unique()))
    if not labels:
        raise NotEstimable("no treated units")
    day_index = (work["date"] - calendar[0]).dt.days.to_numpy()
    unit_pos = {u: k for k, u in enumerate(labels)}
    succ = np.zeros((len(labels), len(calendar)))
    tri = np.zeros_like(succ)
    rows = work["unit"].map(unit_pos)
    on = rows.notna().to_numpy()
    succ[rows[on].astype(int), day_index[on]] = work.loc[on, "successes"]
    tri[rows[on].astype(int), day_index[on]] = work.loc[on, "trials"]
    first = treated_units.groupby("unit").first()
    start_day = np.array([(first.loc[u, "start"] - calendar[0]).days for u in labels], dtype=np.int64)
    group_labels = tuple(str(first.loc[u, "group"]) for u in labels)
    pre = np.arange(len(calendar))[None, :] < start_day[:, None]
    pre_days = ((tri > 0) & pre).sum(axis=1)
    post_days = ((tri > 0) & ~pre).sum(axis=1)
    if (pre_days < min_pre_days).any():
        bad = [labels[k] for k in np.flatnonzero(pre_days < min_pre_days)]
        raise NotEstimable(f"{len(bad)} treated unit(s) have fewer than {min_pre_days} pre-period days with data")
    if (post_days < 1).any():
        raise NotEstimable(f"{int((post_days < 1).sum())} treated unit(s) have no post-period day with data")
    regressor = np.zeros(len(calendar))
    controls = work.loc[work["treated"] == 0]
    if use_regressor:
        if controls.empty:
            raise NotEstimable("the comparison-series regressor needs comparison units (treatment = 0)")
        by_day = controls.groupby((controls["date"] - calendar[0]).dt.days)[["successes", "trials"]].sum()
        by_day = by_day.reindex(range(len(calendar)), fill_value=0.0)
        logit = np.log((by_day["successes"] + 0.5) / (by_day["trials"] - by_day["successes"] + 0.5)).to_numpy()
        sd = logit.std()
        regressor = (logit - logit.mean()) / sd if sd > 0 else np.zeros_like(logit)
    return ItsData(successes=succ, trials=tri, start_day=start_day,
                   day_of_week=calendar.day_of_week.to_numpy().astype(np.int64), regressor=regressor,
                   unit_labels=labels, group_labels=group_labels,
                   dates=tuple(d.strftime("%Y-%m-%d") for d in calendar), level_step_days=int(level_step_days),
                   row_counts={"rows_in_source": len(frame), "treated_units": len(labels),
                               "comparison_units": int(controls["unit"].nunique()),
                               "pre_unit_days_with_trials": int(pre_days.sum()),
                               "post_unit_days_with_trials": int(post_days.sum())})
