"""``prepare_did`` works on integer codes; the pivot-based implementation it replaced is kept here as the reference.

The sufficient statistics must be the same numbers in the same order (so the draws are unchanged for the same seed),
and every refusal the same error with the same message, on panels off the demo: unbalanced, shuffled rows, numeric
identifiers that sort differently as text, no group column, waves not in the data, duplicates, varying keys.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from bayes_helpers import panel_frame

from oca_experiments.bayes import prepare_did
from oca_experiments.bayes._data import DidData, _constant_within, _labels, _treatment, did_from_units
from oca_experiments.errors import DataError, NotEstimable

DESIGN = SimpleNamespace(unit="rid", time="wave", pre="baseline", post="endline", treatment="treated",
                         cluster="community", group="cso", adoption=None)


def reference_prepare_did(frame: pd.DataFrame, outcome: pd.Series, design: Any, *, file: str) -> DidData:
    """The pivot-based implementation (before issue 21), verbatim."""
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


def _unbalanced(seed: int) -> pd.DataFrame:
    """Shuffled rows, integer respondent ids (text order 10 < 9), 10% single-wave units, missing outcomes, a third
    wave the model ignores, uneven cluster sizes."""
    rng = np.random.default_rng(seed)
    frame = panel_frame(n_per_cluster=15, groups=4, seed=seed)
    frame["rid"] = frame["rid"].str[1:].astype(int) * 7 % 1000
    frame = frame.drop(index=rng.choice(frame.index, size=len(frame) // 10, replace=False))
    frame.loc[rng.choice(frame.index, size=9, replace=False), "y"] = np.nan
    extra = frame[frame["wave"] == "endline"].head(25).assign(wave="followup")
    frame = pd.concat([frame, extra]).sample(frac=1.0, random_state=seed)
    frame["community"] = frame["community"].map(lambda c: c if c != "C00" else "c00")  # lower case sorts last
    return frame.reset_index(drop=True)


def _same(new: DidData, old: DidData) -> None:
    for name in ("n", "mean_change", "within_ss", "treated", "group", "baseline_cluster_mean", "unit_change",
                 "unit_cluster", "unit_baseline"):
        # same operations on the same numbers in the same order: equal to the last bit (one numpy path)
        np.testing.assert_array_equal(getattr(new, name), getattr(old, name), err_msg=name)
    assert new.scale == old.scale
    assert new.cluster_labels == old.cluster_labels and new.group_labels == old.group_labels
    assert new.counts == old.counts


@pytest.mark.parametrize("make, design", [
    (lambda: panel_frame(), DESIGN),
    (lambda: _unbalanced(1), DESIGN),
    (lambda: _unbalanced(2), DESIGN),
    (lambda: _unbalanced(3).drop(columns="cso"), SimpleNamespace(**{**vars(DESIGN), "group": None})),
    (lambda: _unbalanced(4).assign(wave=lambda f: f["wave"].map({"baseline": 0, "endline": 1, "followup": 2})),
     SimpleNamespace(**{**vars(DESIGN), "pre": "0", "post": "1"})),
])
def test_integer_code_preparation_equals_the_pivot_reference(make, design) -> None:
    frame = make()
    before = frame.copy(deep=True)
    _same(prepare_did(frame, frame["y"], design, file="x.csv"),
          reference_prepare_did(frame, frame["y"], design, file="x.csv"))
    pd.testing.assert_frame_equal(frame, before)


def _set(frame: pd.DataFrame, mask: pd.Series, column: str, value: Any) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[mask, column] = value
    return frame


@pytest.mark.parametrize("mutation", [
    lambda f: pd.concat([f, f.head(3)]),  # duplicate interviews
    lambda f: _set(f, f.index < 4, "community", None),  # missing identifiers
    lambda f: _set(f, f.index < 2, "rid", None),
    lambda f: _set(f, (f["rid"] == f["rid"].iloc[0]) & (f["wave"] == "endline"), "community", "C99"),
    lambda f: _set(f, (f["rid"] == f["rid"].iloc[0]) & (f["wave"] == "endline"), "cso", "G9"),
    lambda f: _set(f, (f["rid"] == f["rid"].iloc[0]) & (f["wave"] == "endline"), "treated", 1 - f["treated"].iloc[0]),
    lambda f: _set(f, f["rid"] == f["rid"].iloc[0], "treated", 1 - f["treated"].iloc[0]),  # varies in a cluster
    lambda f: _set(f, f["rid"] == f["rid"].iloc[0], "cso", "G9"),  # a cluster in two groups
    lambda f: f[f["wave"] != "endline"],
    lambda f: f[f["wave"] != "baseline"],
    lambda f: f[(f["treated"] == 0) | (f["community"] == "C31")],  # one treated cluster
    lambda f: f.assign(y=3.0),
    lambda f: f.assign(treated=f["treated"] * 2),
])
def test_refusals_equal_the_pivot_reference(mutation) -> None:
    frame = mutation(_unbalanced(5))
    with pytest.raises((DataError, NotEstimable)) as expected:
        reference_prepare_did(frame, frame["y"], DESIGN, file="x.csv")
    with pytest.raises(type(expected.value)) as seen:
        prepare_did(frame, frame["y"], DESIGN, file="x.csv")
    assert str(seen.value) == str(expected.value)


def test_same_inputs_so_same_draws_key_and_draws() -> None:
    """The draws cache key hashes every model input: equal keys mean the sampler sees the same numbers, so the
    posterior draws (and the demo's Bayesian numbers) do not move."""
    from oca_experiments.bayes import SamplerSettings, did_model_data, draws_key, prior_scales

    frame = _unbalanced(6)
    priors = prior_scales("bayes_did")
    keys = [draws_key("bayes_did", {"centered": False}, did_model_data(f(frame, frame["y"], DESIGN, file="x"), priors),
                      SamplerSettings()) for f in (prepare_did, reference_prepare_did)]
    assert keys[0] == keys[1]
