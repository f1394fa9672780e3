"""Survey-DiD inputs covering every identifier path of ``fit_survey_did`` (panel, repeated cross-sections, subgroup
contrast, absorbed fixed effects, randomization blocks with a missing block, text covariates, survey weights) and
the disaggregation tables; shared by the golden generator (old code) and the equality tests (issue 21)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from oca_experiments.estimators import fit_survey_did
from oca_experiments.estimators._catalog import SurveyDiDOptions
from oca_experiments.spec import HypothesisSpec


def frame(seed: int = 11, clusters: int = 12, per_cluster: int = 18) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        arm = int(g % 3 == 0 or g % 3 == 2)
        shock = rng.normal(0, 0.4)
        for i in range(per_cluster + int(rng.integers(-5, 6))):
            person = rng.normal()
            sex = "female" if rng.random() < 0.5 else "male" if rng.random() < 0.95 else None  # (missing) level
            age = str(rng.choice(["young", "middle", "old"]))
            district = f"d{g % 4}"
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < (0.08 if arm else 0.18):
                    continue
                post = wave == "post"
                y = shock + person + 0.2 * post + 0.35 * arm * post + rng.standard_t(4) * 0.6
                rows.append({"pid": f"p{g:02d}-{i:03d}", "village": f"v{(7 * g) % clusters:02d}",
                             "block": f"b{g // 3}", "round": wave, "arm": arm, "y": y, "sex": sex, "age": age,
                             "district": district, "interviewer": f"int{int(rng.integers(0, 5))}",
                             "dw": float(rng.uniform(0.5, 2.0)), "score": float(rng.normal())})
    out = pd.DataFrame(rows)
    out.loc[out.sample(frac=0.05, random_state=1).index, "y"] = np.nan  # unanswered outcomes
    out.loc[out["pid"].str.startswith("p05") & (out["round"] == "pre"), "round"] = "pre "  # outside the waves
    return out.astype({c: "str" for c in ("pid", "village", "block", "round", "age", "district", "interviewer")})


def spec(**overrides: Any) -> HypothesisSpec:
    raw: dict[str, Any] = {
        "id": "h_coded", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "s", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "pid", "time": "round", "pre": "pre", "post": "post", "treatment": "arm",
                   "cluster": "village"},
        "estimator": {"name": "survey_did"},
        "inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "bootstrap": {"draws": 199, "seed": 5}},
    }
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    return HypothesisSpec.model_validate(raw)


RANDOMIZED = {"inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "bootstrap": {"draws": 199, "seed": 5},
                            "randomization": {"draws": 99, "blocks": "block"}}}
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "panel_wild_randomization": (RANDOMIZED, {}),
    "panel_cr2": ({"inference": {"se": "CR2", "few_clusters": {"threshold": 0}}}, {}),
    "panel_by_sex": ({}, {"by": {"column": "sex", "level": "female", "reference": "male"}}),
    "panel_fixed_effects": ({"fixed_effects": ["interviewer"],
                             "inference": {"se": "CR1", "few_clusters": {"threshold": 0}}}, {}),
    "cross_sections_covariates": ({"covariates": ["age", "score"]}, {"panel": False}),
    "cross_sections_by": ({}, {"panel": False, "by": {"column": "district", "level": "d1", "reference": "d0"}}),
    "panel_weights": ({"weights": {"design_weight": "dw", "margins": {"age": {"young": 0.3, "middle": 0.4, "old": 0.3}}}},
                      {}),
    "unclustered_hc1": ({"design": {"unit": "pid", "time": "round", "pre": "pre", "post": "post",
                                    "treatment": "arm", "cluster": None}, "inference": {"se": "HC1"}}, {}),
}
DISAGGREGATED = {"sex_district_age_village": (["sex", "district", "age", "village"], RANDOMIZED),  # village: one arm
                 "cross_sections": (["sex", "district"], {"estimator": {"name": "survey_did",
                                                                        "options": {"panel": False}}})}


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return None  # null draws: compared through the summaries
    return value


def fitted(data: pd.DataFrame, name: str) -> dict[str, Any]:
    overrides, options = CASES[name]
    result = fit_survey_did(data, data["y"], spec(**overrides), SurveyDiDOptions(**options), file="f.csv")
    fields = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "p_value_two_sided", "df", "n", "n_clusters",
              "se_type", "counts")
    return {**{f: _plain(getattr(result, f)) for f in fields}, "extras": _plain(dict(result.extras))}


def run_case(name: str) -> dict[str, Any]:
    return fitted(frame(), name)


def run_subgroups(name: str) -> list[dict[str, Any]]:
    from oca_experiments._secondary_estimates import subgroup_tables

    columns, overrides = DISAGGREGATED[name]
    data = frame()
    the_spec = spec(disaggregate=columns, **overrides)
    options = SurveyDiDOptions(**the_spec.estimator.options)
    primary = fit_survey_did(data, data["y"], the_spec, options, file="f.csv")
    tables = subgroup_tables(data, data["y"], the_spec, options, fit_survey_did, primary, file="f.csv")
    return [_plain(table) for table in tables]
