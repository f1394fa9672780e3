"""Pure model builders: prepared data and prior scales -> ``pm.Model``. No sampling, no I/O.

Every array a model reads is a named ``pm.Data`` container (see ``*_model_data``), including the prior scales, so
that a compiled model can be reused with new data or wider/narrower priors (``CompiledModel.with_data``) without
recompiling: that is what makes prior-sensitivity reruns and simulation-based calibration cheap.

Models
------
``build_did_model`` - hierarchical DiD on respondents' changes (balanced panel, standardised by the baseline SD)::

    change_i = trend + effect_g(c) * treated_c + u_c + e_i,   u_c ~ N(0, cluster_sd),  e_i ~ N(0, noise_sd)
    effect_g = effect + group_sd * z_g  (non-centred; ``centered=True`` gives the textbook centred form)

  Differencing removes respondent (and community) intercepts; ``u_c`` are community random intercepts on the
  change, i.e. community x wave shocks, which is what makes outcomes within a community correlated in a DiD. They
  are integrated out analytically, and the respondents enter only through sufficient statistics: per community,
  mean change ~ N(mu_c, sqrt(cluster_sd^2 + noise_sd^2 / n_c)) and within sum of squares
  ~ noise_sd^2 * chi^2(n_c - 1). This is the exact likelihood of the respondent-level model.

``build_ordinal_model`` - cumulative-logit DiD for one Likert item, on answer counts per community x wave::

    P(Y <= k) = logistic(cut_k - eta_cw),
    eta_cw = arm * treated_c + a_c + trend * post_w + effect * treated_c * post_w + sqrt(2) * (post_w - 1/2) * s_c

  with community intercepts ``a_c`` and one within-community wave shock ``s_c ~ N(0, shock_sd)`` (both
  non-centred). Two cells per community carry exactly two latent terms: an intercept and a wave contrast whose
  change has SD sqrt(2) * shock_sd, as independent per-wave shocks would; per-wave shocks on top of ``a_c`` were
  redundant (three latents for two cells, the split pinned only by the priors). Waves are treated as
  repeated cross-sections (no respondent terms), which is conservative for a panel.

``build_its_model`` - Bayesian structural time series for a daily share (successes out of trials) per treated
unit, fitted on the pre-period only::

    successes_ut ~ BetaBinomial(trials_ut, p_ut * kappa, (1 - p_ut) * kappa)
    logit p_ut = level_u + walk_u[step(t)] + weekday[dow(t)] + beta * x_t

  a local level that moves as a random walk in steps of ``step_days`` days (weekly by default), day-of-week
  seasonality (zero-sum) and a regression on the comparison units' standardised logit share ``x_t``. The walk's
  steps after the start date have no data: their posterior is the forecast, so the counterfactual for the
  post-period comes straight out of the posterior (see ``_effects.its_effects``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._data import DidData, ItsData, OrdinalData

#: SD of the standard logistic distribution: ordinal priors are given in these latent SDs.
LATENT_SD = float(np.pi / np.sqrt(3.0))

__all__ = ["LATENT_SD", "build_did_model", "build_its_model", "build_ordinal_model", "did_model_data",
           "its_model_data", "ordinal_model_data"]


def _prior_data(priors: Mapping[str, float]) -> dict[str, np.ndarray]:
    return {f"prior_{name}": np.asarray(float(scale)) for name, scale in sorted(priors.items())}


# --------------------------------------------------------------------------- DiD


def did_model_data(data: DidData, priors: Mapping[str, float]) -> dict[str, np.ndarray]:
    has_spread = data.n >= 2
    return {
        "n": data.n, "mean_change": data.mean_change, "treated": data.treated, "group_index": data.group,
        "ss_dof": data.n[has_spread] - 1.0, "within_ss": data.within_ss[has_spread],
        **_prior_data(priors),
    }


def build_did_model(data: DidData, priors: Mapping[str, float], *, centered: bool = False):
    import pymc as pm
    import pytensor.tensor as pt

    values = did_model_data(data, priors)
    hierarchical = data.n_groups > 1
    coords = {"cluster": list(data.cluster_labels), "group": list(data.group_labels),
              "cluster_with_spread": [c for c, n in zip(data.cluster_labels, data.n, strict=True) if n >= 2]}
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in values.items()}
        trend = pm.Normal("trend", 0.0, d["prior_trend"])
        effect = pm.Normal("effect", 0.0, d["prior_effect"])
        if hierarchical:
            group_sd = pm.HalfNormal("group_sd", d["prior_group_sd"])
            if centered:
                group_effect = pm.Normal("group_effect", effect, group_sd, dims="group")
            else:
                group_z = pm.Normal("group_z", 0.0, 1.0, dims="group")
                group_effect = pm.Deterministic("group_effect", effect + group_sd * group_z, dims="group")
        else:
            group_effect = pm.Deterministic("group_effect", pt.stack([effect]), dims="group")
        cluster_sd = pm.HalfNormal("cluster_sd", d["prior_cluster_sd"])
        noise_sd = pm.HalfNormal("noise_sd", d["prior_noise_sd"])
        mu = trend + group_effect[d["group_index"]] * d["treated"]
        pm.Normal("mean_change_obs", mu, pt.sqrt(cluster_sd**2 + noise_sd**2 / d["n"]),
                  observed=d["mean_change"], dims="cluster")
        # within SS / noise_sd^2 ~ chi^2(n - 1), i.e. Gamma(shape (n-1)/2, rate 1 / (2 noise_sd^2))
        pm.Gamma("within_ss_obs", alpha=d["ss_dof"] / 2.0, beta=1.0 / (2.0 * noise_sd**2),
                 observed=d["within_ss"], dims="cluster_with_spread")
    return model


# --------------------------------------------------------------------------- ordinal


def ordinal_model_data(data: OrdinalData, priors: Mapping[str, float]) -> dict[str, np.ndarray]:
    return {"counts": data.counts, "treated": data.treated, **_prior_data(priors)}


def _even_cutpoints(n_categories: int) -> np.ndarray:
    """Logistic quantiles that split the latent scale into equally likely categories."""
    k = np.arange(1, n_categories)
    return np.log(k / (n_categories - k))


def build_ordinal_model(data: OrdinalData, priors: Mapping[str, float]):
    import pymc as pm
    import pytensor.tensor as pt

    values = ordinal_model_data(data, priors)
    k = data.n_categories
    coords = {"cluster": list(data.cluster_labels), "wave": ["pre", "post"],
              "category": [str(c) for c in data.categories], "cut": [f"{a}|{b}" for a, b in
                                                                     zip(data.categories[:-1], data.categories[1:],
                                                                         strict=True)],
              "gap": list(range(1, k - 1))}
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in values.items()}
        # Ordered by construction (first cutpoint plus positive gaps), so that prior predictive draws and
        # simulation-based calibration see the same ordered prior as the sampler.
        centre = _even_cutpoints(k)
        first_cut = pm.Normal("first_cutpoint", centre[0], d["prior_cutpoints"] * LATENT_SD)
        gaps = pm.LogNormal("cutpoint_gaps", np.log(np.diff(centre)), d["prior_cutpoints"] / 2.0, dims="gap")
        cutpoints = pm.Deterministic("cutpoints", pt.concatenate([first_cut[None], first_cut + pt.cumsum(gaps)]),
                                     dims="cut")
        arm = pm.Normal("arm", 0.0, d["prior_arm"] * LATENT_SD)
        trend = pm.Normal("trend", 0.0, d["prior_trend"] * LATENT_SD)
        effect = pm.Normal("effect", 0.0, d["prior_effect"] * LATENT_SD)
        cluster_sd = pm.HalfNormal("cluster_sd", d["prior_cluster_sd"] * LATENT_SD)
        cluster_z = pm.Normal("cluster_z", 0.0, 1.0, dims="cluster")
        shock_sd = pm.HalfNormal("shock_sd", d["prior_shock_sd"] * LATENT_SD)
        shock_z = pm.Normal("shock_z", 0.0, 1.0, dims="cluster")
        treated = d["treated"][:, None]
        post = pt.as_tensor(np.array([0.0, 1.0]))[None, :]
        eta = (arm * treated + cluster_sd * cluster_z[:, None] + trend * post + effect * treated * post
               + shock_sd * shock_z[:, None] * (np.sqrt(2.0) * (post - 0.5)))
        below = pm.math.sigmoid(cutpoints[None, None, :] - eta[:, :, None])
        probs = pt.concatenate([below[..., :1], below[..., 1:] - below[..., :-1], 1.0 - below[..., -1:]], axis=-1)
        pm.Multinomial("counts_obs", n=d["counts"].sum(axis=-1), p=probs, observed=d["counts"],
                       dims=("cluster", "wave", "category"))
    return model


# --------------------------------------------------------------------------- ITS


def its_model_data(data: ItsData, priors: Mapping[str, float]) -> dict[str, np.ndarray]:
    obs = data.observed_pre()
    pooled = (obs["successes"].sum() + 0.5) / (obs["trials"].sum() + 1.0)
    return {
        "obs_unit": obs["unit"], "obs_day": obs["day"], "successes": obs["successes"], "trials": obs["trials"],
        "step_of_day": np.arange(data.n_days) // data.level_step_days, "day_of_week": data.day_of_week,
        "regressor": data.regressor, "level_centre": np.asarray(np.log(pooled / (1.0 - pooled))),
        **_prior_data(priors),
    }


def build_its_model(data: ItsData, priors: Mapping[str, float]):
    import pymc as pm
    import pytensor.tensor as pt

    values = its_model_data(data, priors)
    coords = {"unit": list(data.unit_labels), "step": list(range(1, data.n_steps)),
              "weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in values.items()}
        level = pm.Normal("level", d["level_centre"], d["prior_level"], dims="unit")
        step_sd = pm.HalfNormal("level_step_sd", d["prior_level_step_sd"])
        step_z = pm.Normal("level_step_z", 0.0, 1.0, dims=("unit", "step"))
        walk = pt.concatenate([pt.zeros((data.n_units, 1)), pt.cumsum(step_sd * step_z, axis=1)], axis=1)
        weekday = pm.ZeroSumNormal("weekday_effect", sigma=d["prior_season_sd"], dims="weekday")
        beta = pm.Normal("regressor_coef", 0.0, d["prior_regressor"])
        overdispersion = pm.HalfNormal("overdispersion", d["prior_overdispersion"])
        concentration = 1.0 / overdispersion**2
        day = d["obs_day"]
        eta = (level[d["obs_unit"]] + walk[d["obs_unit"], d["step_of_day"][day]] + weekday[d["day_of_week"][day]]
               + beta * d["regressor"][day])
        p = pm.math.sigmoid(eta)
        pm.BetaBinomial("successes_obs", n=d["trials"], alpha=p * concentration, beta=(1.0 - p) * concentration,
                        observed=d["successes"])
    return model
