"""Resolve the design parameters of one hypothesis: options > pilot data > spec ``power:`` > spec SESOI > defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..plan import Task
from ._parameters import DEFAULTS, PARAMETER_NAMES, DesignInputError, DesignParameters, LikertScale
from ._pilot import PilotEstimates

#: Item noise of the Likert model when pilot data do not give one, in scale points.
DEFAULT_LIKERT_ITEM_NOISE_SD = 0.75

#: Where each parameter may sit in the spec's ``power:`` section (first match wins).
POWER_SECTION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "clusters": ("clusters", "planned_clusters", "n_clusters"),
    "respondents": ("respondents", "planned_respondents", "n_respondents"),
    "icc": ("icc",),
    "effect": ("mde", "effect"),
    "attrition": ("attrition", "expected_attrition"),
    "target_power": ("power", "target_power"),
}


def power_section(task: Task) -> dict[str, tuple[Any, str]]:
    """Values the spec's ``power:`` section registers, as ``name -> (value, 'power.field')``."""
    section = getattr(task.spec, "power", None)
    if section is None:
        return {}
    raw = section.model_dump() if hasattr(section, "model_dump") else dict(section)
    found: dict[str, tuple[Any, str]] = {}
    for name, candidates in POWER_SECTION_FIELDS.items():
        for key in candidates:
            if raw.get(key) is not None:
                found[name] = (raw[key], f"power.{key}")
                break
    per_cluster = raw.get("respondents_per_cluster")
    if "respondents" not in found and per_cluster is not None and "clusters" in found:
        found["respondents"] = (int(per_cluster) * int(found["clusters"][0]), "power.respondents_per_cluster")
    return found


def resolve_parameters(task: Task, *, options: Mapping[str, Any] | None = None,
                       pilot: PilotEstimates | None = None, likert: bool = False) -> DesignParameters:
    spec = task.spec
    options = {k: v for k, v in (options or {}).items() if v is not None}
    unknown = sorted(set(options) - set(PARAMETER_NAMES))
    if unknown:
        raise DesignInputError(f"unknown design parameter '{unknown[0]}'", option=unknown[0],
                               fix=f"use one of: {', '.join(PARAMETER_NAMES)}")
    clustered = spec.design.cluster is not None
    if not clustered and "clusters" in options:
        raise DesignInputError(f"{task.spec_file} registers no cluster column (design.cluster)",
                               option="--clusters", fix="drop --clusters, or register design.cluster in the spec")
    registered = power_section(task)
    pilot_values = dict(pilot.values) if pilot else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def take(name: str) -> None:
        if name in options:
            values[name], sources[name] = options[name], "option"
        elif name in pilot_values:
            values[name], sources[name] = pilot_values[name], f"data ({pilot.file})"  # type: ignore[union-attr]
        elif name in registered:
            values[name], sources[name] = registered[name][0], f"spec {registered[name][1]}"
        elif name == "effect" and spec.inference.sesoi:
            signed = -spec.inference.sesoi if spec.direction == "decrease" else spec.inference.sesoi
            values[name], sources[name] = signed, "spec inference.sesoi"
        elif name == "outcome_mean" and likert and spec.outcome.construction.scale:
            values[name], sources[name] = sum(spec.outcome.construction.scale) / 2, "default (scale midpoint)"
        elif name in DEFAULTS:
            values[name], sources[name] = DEFAULTS[name], "default"

    for name in PARAMETER_NAMES:
        if name == "likert" or (name == "clusters" and not clustered):
            continue
        if name == "icc" and not clustered:
            values[name], sources[name] = options.get("icc", 0.0), "no clusters in the design"
            continue
        take(name)

    for name, ways in (("respondents", "--n TOTAL, power.respondents in the spec"),
                       ("clusters", "--clusters G, power.clusters in the spec"),
                       ("effect", "--effect E, power.mde or inference.sesoi in the spec")):
        if name == "clusters" and not clustered:
            continue
        if name not in values:
            raise DesignInputError(f"no value for the planned {name}", option=f"--{name}",
                                   fix=f"give one of: {ways}, or pilot data with --data SOURCE=PATH")

    scale = None
    if likert:
        construction = spec.outcome.construction
        if construction.method != "mean" or construction.scale is None:
            raise DesignInputError(f"{task.spec_file} does not build its outcome as the mean of items on a scale "
                                   f"(method {construction.method})", option="--likert",
                                   fix="drop --likert: the Likert model simulates a mean index of whole answers")
        noise = pilot_values.get("likert_item_noise_sd")
        sources["likert"] = f"spec outcome.construction; item noise from data ({pilot.file})" if (
            noise is not None and pilot) else "spec outcome.construction; item noise default"
        noise = DEFAULT_LIKERT_ITEM_NOISE_SD if noise is None else noise
        scale = LikertScale(items=len(construction.items), low=float(construction.scale[0]),
                            high=float(construction.scale[1]), item_noise_sd=float(noise))
        _latent_from_index(values, sources, scale)

    try:
        return DesignParameters(
            clusters=int(values["clusters"]) if clustered else None,
            respondents=int(values["respondents"]),
            icc=float(values["icc"]), effect=float(values["effect"]), attrition=float(values["attrition"]),
            outcome_sd=float(values["outcome_sd"]), outcome_mean=float(values["outcome_mean"]),
            individual_autocorrelation=float(values["individual_autocorrelation"]),
            cluster_autocorrelation=float(values["cluster_autocorrelation"]),
            treated_share=float(values["treated_share"]), target_power=float(values["target_power"]),
            likert=scale, sources=sources)
    except (TypeError, ValueError) as exc:
        raise DesignInputError(f"a design parameter is not a number ({exc})", option="design parameters",
                               fix="give numbers for --n, --clusters, --icc, --effect and --attrition") from None


def _latent_from_index(values: dict[str, Any], sources: dict[str, str], scale: LikertScale) -> None:
    """Pilot SD and ICC describe the observed index; the Likert model needs them for the latent score."""
    if not sources.get("outcome_sd", "").startswith("data"):
        return
    index_var = values["outcome_sd"] ** 2
    # Averaging k noisy, rounded answers adds (noise^2 + 1/12) / k to the latent score's variance.
    item_var = (scale.item_noise_sd**2 + 1 / 12) / scale.items
    latent_var = max(index_var - item_var, 0.25 * index_var)
    values["outcome_sd"] = latent_var**0.5
    sources["outcome_sd"] += ", latent score"
    if sources.get("icc", "").startswith("data"):
        # The between-cluster variance is the same on both scales; only the total changes.
        values["icc"] = min(values["icc"] * index_var / latent_var, 0.99)
        sources["icc"] += ", latent score"
