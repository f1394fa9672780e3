"""Random-effects meta-analysis against R metafor 3.8 (tests/reference/make_metafor_reference.R) to 1e-6."""

import json
from pathlib import Path

import pytest

from oca_experiments.errors import EstimationError
from oca_experiments.summarize.meta import random_effects

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "metafor_reference.json").read_text())
CASES = [(name, fit) for name in REFERENCE["datasets"] for fit in REFERENCE["datasets"][name]["fits"]]
FIELDS = {"tau2": "tau2", "mu": "estimate", "se": "std_error", "ci_low": "ci_low", "ci_high": "ci_high",
          "pval": "p_value", "pi_low": "pi_low", "pi_high": "pi_high", "I2": "i2", "H2": "h2", "Q": "q",
          "Q_p": "q_p_value"}


@pytest.mark.parametrize(("dataset", "fit"), CASES)
def test_agrees_with_metafor(dataset, fit):
    data = REFERENCE["datasets"][dataset]
    method, test = fit.split("_")
    ours = random_effects(data["yi"], data["vi"], method=method, interval={"knha": "hksj", "adhoc": "hksj_floored", "z": "z"}[test])
    ref = data["fits"][fit]
    for theirs, mine in FIELDS.items():
        assert getattr(ours, mine) == pytest.approx(ref[theirs], abs=1e-6, rel=1e-6), (dataset, fit, theirs)
    assert ours.k == ref["k"]


def test_bcg_reml_matches_viechtbauer_2010_published_value():
    data = REFERENCE["datasets"]["bcg"]
    fit = random_effects(data["yi"], data["vi"], method="REML", interval="z")
    assert fit.tau2 == pytest.approx(0.3132, abs=5e-5)  # Viechtbauer (2010, J Stat Softw 36(3)), section 3.2
    assert fit.estimate == pytest.approx(-0.7145, abs=5e-5)


def test_rejects_one_estimate_and_nonpositive_variance():
    with pytest.raises(EstimationError, match="at least 2"):
        random_effects([0.1], [0.01])
    with pytest.raises(EstimationError, match="positive"):
        random_effects([0.1, 0.2], [0.01, 0.0])


def test_identical_estimates_do_not_divide_by_zero():
    fit = random_effects([0.2, 0.2, 0.2], [0.01, 0.02, 0.03], interval="hksj")
    assert fit.tau2 == 0.0 and fit.std_error == 0.0 and fit.p_value == 0.0 and fit.estimate == pytest.approx(0.2)


def test_floored_hksj_is_never_narrower_than_wald_with_t_quantiles():
    """Homogeneous estimates: the unfloored HKSJ scale q is ~0.003, so its interval is far narrower than the
    fixed-effect one; the Knapp-Hartung floor max(1, q) restores it (metafor test="adhoc" values above)."""
    data = REFERENCE["datasets"]["homogeneous"]
    raw = random_effects(data["yi"], data["vi"], interval="hksj")
    floored = random_effects(data["yi"], data["vi"], interval="hksj_floored")
    wald = random_effects(data["yi"], data["vi"], interval="z")
    assert raw.ci_high - raw.ci_low < 0.2 * (wald.ci_high - wald.ci_low)
    assert floored.std_error == pytest.approx(wald.std_error, rel=1e-12)
    assert floored.interval == "hksj_floored"
