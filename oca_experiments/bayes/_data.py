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


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the values read as strings, numbered in the strings' sorted order (-1: missing), and the
    labels. Factorises the raw column once and converts only its distinct values to strings: the same codes as
    factorising ``values.astype("string")`` with ``sort=True``, at a fraction of the cost on 10^5+ rows."""
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if isinstance(uniques, np.ndarray) and uniques.dtype.kind in "iu":
        # Integer identifiers (the common export): distinct integers have distinct decimal strings, so the codes
        # are the ranks of those strings; numpy sorts them without pandas' string machinery (about 0.1-0.3 s of
        # a first call on 10^5 respondents, issue 21's Bayesian benchmark). Same codes and labels as below.
        text = uniques.astype(np.str_)
        order = np.argsort(text, kind="stable")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size, dtype=np.int64)
        return np.append(rank, -1)[raw_codes], np.asarray(text[order].tolist(), dtype=object)
    as_text = pd.Series(uniques, dtype=object).astype("string")
    text_codes, labels = pd.factorize(as_text, sort=True)  # distinct raw values may read as the same string
    lookup = np.append(text_codes.astype(np.int64), -1)  # raw code -1 (missing) stays -1
    return lookup[raw_codes], np.asarray(labels, dtype=object)


def _varying_per_key(keys: np.ndarray, values: np.ndarray, n_keys: int) -> int:
    """How many keys see more than one distinct value: those with a value unlike one of their rows'."""
    reference = values[_row_per_key(keys, n_keys)[keys]]
    return int(np.count_nonzero(np.bincount(keys[values != reference], minlength=n_keys)))


def _row_per_key(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """The position of one row of each key (0 for keys without rows). Callers only read values that are constant
    within a key (or check that they are), so which row does not matter."""
    row = np.zeros(n_keys, dtype=np.int64)
    row[keys] = np.arange(keys.size, dtype=np.int64)
    return row


def prepare_did(frame: pd.DataFrame, outcome: pd.Series, design: Any, *, file: str) -> DidData:
    """Balanced panel of respondents in the registered pre and post waves, summarised per cluster.

    Works on integer codes of the identifiers (each column factorised once) rather than pivoting string columns:
    the same sufficient statistics, in the same order, as the pivot of the respondents sorted by identifier, at
    about 1/20 of the cost for 10^5 respondents (``tests/unit/bayes/test_bayes_data.py`` compares with the
    pivot-based reference).
    """
    if not design.cluster:
        raise NotEstimable("bayes_did needs design.cluster (communities get random intercepts)")
    y = pd.to_numeric(outcome, errors="coerce").to_numpy(dtype=np.float64)
    treated_rows = _treatment(frame, design.treatment, file=file)
    wave_codes, wave_labels = _sorted_codes(frame[design.time])
    wave_of = {str(label): k for k, label in enumerate(wave_labels)}
    pre_code, post_code = wave_of.get(str(design.pre), -2), wave_of.get(str(design.post), -2)
    counts = {"rows_in_source": len(frame)}
    in_waves = (wave_codes == pre_code) | (wave_codes == post_code)
    identifiers = {}
    for column, name in (("unit", design.unit), ("cluster", design.cluster), ("group", design.group)):
        if name:
            codes, labels = _sorted_codes(frame[name])
        else:
            codes, labels = np.zeros(len(frame), dtype=np.int64), np.array(["all"], dtype=object)
        missing = int((codes[in_waves] < 0).sum())
        if missing:
            raise DataError(f"{missing} missing identifiers", file=file, column=name, fix="every row needs a value")
        identifiers[column] = (codes, labels)
    counts["rows_missing_outcome"] = int(np.isnan(y[in_waves]).sum())
    rows = np.flatnonzero(in_waves & ~np.isnan(y))
    unit = identifiers["unit"][0][rows]
    n_unit_codes = len(identifiers["unit"][1])
    post = wave_codes[rows] == post_code
    slots = np.bincount(unit * 2 + post, minlength=2 * n_unit_codes)
    if (slots > 1).any():
        raise DataError(f"{int((slots[slots > 1] - 1).sum())} units appear twice in the same wave",
                        file=file, column=design.unit, fix="remove duplicate interviews")
    for wave_name, present in ((design.pre, (~post).any()), (design.post, post.any())):
        if not present:
            raise NotEstimable(f"no answered outcome in wave '{wave_name}'")
    treated = treated_rows[rows]
    cluster = identifiers["cluster"][0][rows]
    group = identifiers["group"][0][rows]
    for values, what, name in ((treated.astype(np.int64), "treatment", design.treatment),
                               (cluster, "cluster", design.cluster), (group, "group", design.group or "group")):
        varying = _varying_per_key(unit, values, n_unit_codes)
        if varying:
            raise DataError(f"{what} changes within {varying} unit(s)", file=file, column=name,
                            fix=f"{what} must be constant within each unit")
    pre_row = np.full(n_unit_codes, -1, dtype=np.int64)
    post_row = np.full(n_unit_codes, -1, dtype=np.int64)
    pre_row[unit[~post]] = np.flatnonzero(~post)
    post_row[unit[post]] = np.flatnonzero(post)
    complete = (pre_row >= 0) & (post_row >= 0)  # in unit-code order = the units' sorted identifiers
    counts["units_not_in_both_waves"] = int(((pre_row >= 0) | (post_row >= 0)).sum() - complete.sum())
    unit_pre, unit_post = pre_row[complete], post_row[complete]
    present_clusters, cluster_codes = np.unique(cluster[unit_pre], return_inverse=True)
    cluster_codes = cluster_codes.astype(np.int64)
    n_clusters = present_clusters.size
    cluster_labels = tuple(str(v) for v in identifiers["cluster"][1][present_clusters])
    unit_treated = treated[unit_pre].astype(np.int64)
    varying = _varying_per_key(cluster_codes, unit_treated, n_clusters)
    if varying:
        raise DataError(f"treatment changes within {varying} unit(s)", file=file, column=design.treatment,
                        fix="treatment must be constant within each unit")
    unit_group = group[unit_pre]
    nested = _varying_per_key(cluster_codes, unit_group, n_clusters)
    if nested:
        raise DataError(f"{nested} cluster(s) belong to more than one group", file=file, column=design.group,
                        fix="each community must belong to exactly one group (CSO)")
    first = _row_per_key(cluster_codes, n_clusters)  # treatment and group are constant within a cluster
    present_groups, group_codes = np.unique(unit_group[first], return_inverse=True)
    group_labels = tuple(str(v) for v in identifiers["group"][1][present_groups])
    treated_clusters = unit_treated[first].astype(np.float64)
    for arm, label in ((1.0, "treated"), (0.0, "comparison")):
        if int((treated_clusters == arm).sum()) < 2:
            raise NotEstimable(f"the {label} arm has {int((treated_clusters == arm).sum())} cluster(s); the model "
                               "needs at least 2 per arm")
    baseline = y[rows[unit_pre]]
    scale = float(np.std(baseline, ddof=1)) if baseline.size > 1 else 0.0
    if not scale > 0:
        raise NotEstimable("the baseline outcome does not vary, so it cannot be standardised")
    change = y[rows[unit_post]] - baseline
    data = did_from_units(change, cluster_codes, treated_clusters, group_codes.astype(np.int64), scale=scale,
                          baseline=baseline, cluster_labels=cluster_labels, group_labels=group_labels)
    counts.update(units=int(complete.sum()), clusters=data.n_clusters, groups=data.n_groups,
                  clusters_treated=int(treated_clusters.sum()), clusters_comparison=int((treated_clusters == 0).sum()))
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
