"""The Bayesian fitters end to end with sampling replaced by synthetic draws (fast; no PyMC compilation).

The synthetic posterior has the model's variable names and shapes; what is tested is everything around the
sampler: validation, derived effects, the gate, decision outputs, predictive checks, plots, NetCDF, the result
cache and the runner's verdict and artifacts.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from bayes_helpers import PANEL_DID_SPEC as SPEC, panel_frame

from oca_experiments.bayes._sampling import FitOutput
from oca_experiments.estimators import _bayes
from oca_experiments.estimators._catalog import BayesDiDOptions, BayesITSOptions, OrdinalDiDOptions
from oca_experiments.spec import HypothesisSpec
from oca_experiments.summarize import bayesian_verdict

RNG = np.random.default_rng(3)


def _tree(shapes: dict[str, tuple[int, ...]], prior_predictive: dict[str, tuple[int, ...]], *, chains=4, draws=500,
          centre: dict[str, float] | None = None, positive=(), divergent: int = 0) -> xr.DataTree:
    centre = centre or {}

    def draw(name, shape, c, d):
        values = RNG.normal(centre.get(name, 0.0), 0.05 if name in centre else 1.0, (c, d, *shape))
        return np.abs(values) if name in positive else values

    def dataset(specs, c, d):
        return xr.Dataset({k: (("chain", "draw", *[f"{k}_{i}" for i in range(len(s))]), draw(k, s, c, d))
                           for k, s in specs.items()})

    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergent] = True
    return xr.DataTree.from_dict({
        "posterior": dataset(shapes, chains, draws),
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging),
                                    "energy": (("chain", "draw"), RNG.normal(size=(chains, draws)))}),
        "prior": dataset(shapes, 1, 100),
        "prior_predictive": dataset(prior_predictive, 1, 100),
    })


def _rename_dims(tree: xr.DataTree, name: str, dims: tuple[str, ...]) -> None:
    for group in ("posterior", "prior"):
        ds = tree[group].to_dataset()
        old = [d for d in ds[name].dims if d not in ("chain", "draw")]
        tree[group] = xr.DataTree(ds.rename({o: n for o, n in zip(old, dims, strict=True)}))



@pytest.fixture()
def fake_sampler(monkeypatch):
    calls = []

    def install(tree_for):
        def sample(kind, structure, inputs, build, settings, *, density=None, use_cache=True, with_prior=True):
            calls.append((kind, dict(inputs)))
            return FitOutput(tree_for(inputs), f"key-{len(calls)}", False)

        monkeypatch.setattr(_bayes, "sample_model", sample)
        return calls

    return install


def _did_tree(inputs, divergent=0):
    groups, clusters = 3, inputs["n"].size
    tree = _tree({"trend": (), "effect": (), "group_z": (groups,), "group_sd": (), "cluster_sd": (),
                  "noise_sd": ()}, {"mean_change_obs": (clusters,)},
                 centre={"effect": 0.5, "noise_sd": 0.6, "cluster_sd": 0.1, "group_sd": 0.05, "trend": 0.05},
                 positive=("group_sd", "cluster_sd", "noise_sd"), divergent=divergent)
    post = tree["posterior"].to_dataset()
    post["group_effect"] = post["effect"] + post["group_sd"] * post["group_z"]
    tree["posterior"] = xr.DataTree(post.rename({"group_z_0": "group"}))
    prior_pred = tree["prior_predictive"].to_dataset()
    tree["prior_predictive"] = xr.DataTree(prior_pred * 0.2)
    return tree


def test_bayes_did_fitter_outputs(fake_sampler) -> None:
    calls = fake_sampler(_did_tree)
    frame = panel_frame()
    before = frame.copy(deep=True)
    spec = HypothesisSpec.model_validate(SPEC)
    result = _bayes.fit_bayes_did(frame, frame["y"], spec, BayesDiDOptions(), file="s.csv")
    assert frame.equals(before)
    assert [c[0] for c in calls] == ["bayes_did"] * 3  # main fit + two prior-sensitivity reruns
    np.testing.assert_allclose(calls[1][1]["prior_effect"], 0.25)  # the narrower prior: every scale halved
    e = result.extras
    scale = e["standardisation"]["baseline_sd"]
    assert result.estimate == pytest.approx(0.5 * scale, rel=0.05) and np.isnan(result.p_value)
    assert result.se_type == "posterior_sd" and result.n == 2 * 240 and result.n_clusters == 12
    assert set(e["group_effects"]) == {"G0", "G1", "G2"}
    assert {"p_gt_0", "p_gt_sesoi", "rope_decision", "median"} <= set(e["posterior"])
    assert e["diagnostics"]["passed"] and len(e["prior_sensitivity"]) == 2
    assert e["prior_predictive"]["passed"] and e["prior_predictive"]["share_on_scale"] > 0.99
    paths = e["artifacts"]
    assert set(result.artifacts) == set(paths.values())
    assert result.artifacts[paths["ppc_plot"]][:8] == b"\x89PNG\r\n\x1a\n"
    tree = xr.open_datatree(io.BytesIO(result.artifacts[paths["inference_data"]]), engine="h5netcdf")
    assert {"posterior", "sample_stats", "prior", "prior_predictive", "posterior_predictive",
            "observed_data"} <= {g.strip("/") for g in tree.groups}
    assert "portfolio_effect" in tree["posterior"]
    verdict = bayesian_verdict(posterior=e["posterior"], diagnostics=e["diagnostics"], direction="increase",
                               sesoi=0.1)
    assert verdict.verdict == "supported"
    # The same inputs again: the stored result, no new sampling.
    again = _bayes.fit_bayes_did(frame, frame["y"], spec, BayesDiDOptions(), file="s.csv")
    assert len(calls) == 3 and again.estimate == result.estimate and again.artifacts == result.artifacts


def test_divergences_make_the_verdict_unreliable_but_keep_the_numbers(fake_sampler) -> None:
    fake_sampler(lambda inputs: _did_tree(inputs, divergent=5))
    frame = panel_frame()
    spec = HypothesisSpec.model_validate({**SPEC, "bayes": {}})
    result = _bayes.fit_bayes_did(frame, frame["y"], spec, BayesDiDOptions(target="weakest_group"), file="s")
    e = result.extras
    verdict = bayesian_verdict(posterior=e["posterior"], diagnostics=e["diagnostics"], direction="increase",
                               sesoi=0.1)
    assert verdict.verdict == "unreliable: diagnostics failed (5 divergent transitions > 0)"
    assert np.isfinite(result.estimate) and e["target"] == "weakest_group"


def test_covariates_are_refused_before_sampling(fake_sampler) -> None:
    calls = fake_sampler(_did_tree)
    frame = panel_frame()
    spec = HypothesisSpec.model_validate({**SPEC, "covariates": ["cso"]})
    with pytest.raises(Exception, match="covariates"):
        _bayes.fit_bayes_did(frame, frame["y"], spec, BayesDiDOptions(), file="s.csv")
    assert calls == []


def _ordinal_tree(inputs):
    clusters = inputs["counts"].shape[0]
    tree = _tree({"first_cutpoint": (), "cutpoint_gaps": (3,), "arm": (), "trend": (), "effect": (),
                  "cluster_sd": (), "cluster_z": (clusters,), "shock_sd": (), "shock_z": (clusters,)},
                 {"counts_obs": inputs["counts"].shape},
                 centre={"first_cutpoint": -1.5, "cutpoint_gaps": 1.0, "effect": 0.4, "cluster_sd": 0.2,
                         "shock_sd": 0.1, "arm": 0.0, "trend": 0.0}, positive=("cluster_sd", "shock_sd"))
    for group in ("posterior", "prior"):
        ds = tree[group].to_dataset()
        ds["cutpoints"] = xr.concat([ds["first_cutpoint"].expand_dims(cut=[0]),
                                     (ds["first_cutpoint"] + ds["cutpoint_gaps"].cumsum("cutpoint_gaps_0"))
                                     .rename({"cutpoint_gaps_0": "cut"}).assign_coords(cut=[1, 2, 3])], "cut")
        tree[group] = xr.DataTree(ds.rename({"cluster_z_0": "cluster", "shock_z_0": "cluster_s"}))
    pp = tree["prior_predictive"].to_dataset()
    tree["prior_predictive"] = xr.DataTree(np.abs(pp).round())
    return tree


def test_ordinal_fitter_reports_category_changes(fake_sampler) -> None:
    fake_sampler(_ordinal_tree)
    frame = panel_frame()
    frame["item"] = np.round(frame["y"]).astype(int)
    spec = HypothesisSpec.model_validate({**SPEC, "outcome": {**SPEC["outcome"], "construction": {
        "method": "column", "column": "item", "scale": [1, 5]}}, "estimator": {"name": "ordinal_did"},
        "inference": {"se": "posterior", "sesoi": 0.03}, "bayes": {}})
    result = _bayes.fit_ordinal_did(frame, frame["item"], spec, OrdinalDiDOptions(top_from=4), file="s")
    e = result.extras
    changes = {k: v["mean"] for k, v in e["category_probability_change"].items()}
    assert set(changes) == {"1", "2", "3", "4", "5"} and sum(changes.values()) == pytest.approx(0, abs=1e-9)
    assert result.estimate == pytest.approx(changes["4"] + changes["5"], abs=1e-9) and result.estimate > 0
    assert "points in the share of answers >= 4" in e["statement"]
    assert e["latent_effect_logit"]["mean"] == pytest.approx(0.4, abs=0.01)


def _its_tree(inputs):
    units = int(inputs["obs_unit"].max()) + 1
    steps = int(inputs["step_of_day"].max())
    return _tree({"level": (units,), "level_step_sd": (), "level_step_z": (units, steps),
                  "weekday_effect": (7,), "regressor_coef": (), "overdispersion": ()}, {"successes_obs": (10,)},
                 centre={"level": -2.0, "level_step_sd": 0.02, "weekday_effect": 0.0, "regressor_coef": 0.0,
                         "overdispersion": 0.1}, positive=("level_step_sd", "overdispersion"))


def test_its_fitter_reports_counterfactual_effects(fake_sampler) -> None:
    from test_bayes_data import ITS_DESIGN, engagement_frame

    fake_sampler(_its_tree)
    frame = engagement_frame()
    spec = HypothesisSpec.model_validate({
        **SPEC, "direction": "decrease", "outcome": {"source": "engagement", "name": "share", "construction": {
            "method": "column", "column": "share"}},
        "design": {"unit": "page", "time": "date", "treatment": "treated", "adoption": "start"},
        "estimator": {"name": "bayes_its"}, "inference": {"se": "posterior", "sesoi": 0.02}, "bayes": {}})
    del ITS_DESIGN  # the spec above carries the same design
    result = _bayes.fit_bayes_its(frame, frame["share"], spec, BayesITSOptions(denominator="comments"), file="e")
    e = result.extras
    assert set(e["unit_effects"]) == {"P1", "P2"}
    assert {"p_cumulative_effect_gt_0", "p_cumulative_effect_lt_0"} <= set(e)
    assert abs(result.estimate) < 0.05  # no effect in these data
    assert e["pointwise_effect_by_day"]["dates"][0] == "2026-03-31"


def test_runner_writes_artifacts_and_uses_the_bayesian_verdict(tmp_path, monkeypatch) -> None:
    from oca_experiments.results import EstimateResult
    from oca_experiments.api import ARTIFACTS_DIR, _write_artifacts

    result = EstimateResult(estimate=1.0, std_error=0.1, ci_low=0.8, ci_high=1.2, ci_level=0.95, p_value=np.nan,
                            p_value_two_sided=np.nan, df=None, n=10, n_clusters=2, se_type="posterior_sd",
                            artifacts={f"{ARTIFACTS_DIR}/h/inference_data.nc": b"abc"})
    run = SimpleNamespace(hypotheses=[SimpleNamespace(result=result), SimpleNamespace(result=None)])
    _write_artifacts(run, tmp_path)
    assert (tmp_path / ARTIFACTS_DIR / "h" / "inference_data.nc").read_bytes() == b"abc"
    assert "artifacts" not in result.to_dict()
    bad = EstimateResult(**{**result.__dict__, "artifacts": {"../evil": b"x"}})
    with pytest.raises(ValueError, match="must lie under"):
        _write_artifacts(SimpleNamespace(hypotheses=[SimpleNamespace(result=bad)]), tmp_path)


def test_a_changed_model_code_version_invalidates_stored_results(monkeypatch) -> None:
    """The result cache sat above the draws cache and ignored MODEL_CODE_VERSION, so after the ordinal model was
    reparametrised (issue 15) a run still returned the old model's stored h7c result."""
    from oca_experiments import bayes

    frame = panel_frame()
    spec = HypothesisSpec.model_validate(SPEC)
    before = _bayes._result_key("bayes_did", frame, frame["y"], spec, BayesDiDOptions())
    monkeypatch.setattr(bayes, "MODEL_CODE_VERSION", bayes.MODEL_CODE_VERSION + "-next")
    assert _bayes._result_key("bayes_did", frame, frame["y"], spec, BayesDiDOptions()) != before
