"""The DiD kernel's collapsed likelihood is the respondent-level model's, exactly (issue 21).

The model for respondent i in community c: change_ci = mu_c + u_c + e_ci, u_c ~ N(0, cluster_sd), e_ci ~ N(0, noise_sd).
Integrating u_c out, community c's changes are jointly normal with covariance noise_sd^2 I + cluster_sd^2 J. That
density depends on the data only through the count, the mean and the within sum of squares, which is all the kernel
reads (so one gradient costs the same for 2,000 or 200,000 rows). Here the row-level log density (scipy's
multivariate normal, one community at a time) plus the priors must differ from the kernel's log density by a
constant that does not depend on the parameters: then the two posteriors are identical, not just close.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from oca_experiments.bayes import did_from_units, did_model_data, prior_scales
from oca_experiments.bayes._density import density_for

pytestmark = pytest.mark.bayes


def _data(seed: int):
    rng = np.random.default_rng(seed)
    sizes = np.array([1, 2, 3, 5, 8, 4, 1, 6, 7, 2])  # singletons carry no within sum of squares
    cluster = np.repeat(np.arange(sizes.size), sizes)
    treated = np.array([1, 0] * 5, dtype=float)
    group = np.arange(sizes.size) % 3
    change = rng.normal(0.2, 1.0, cluster.size) + rng.normal(0, 0.5, sizes.size)[cluster] + 0.4 * treated[cluster]
    return did_from_units(change, cluster, treated, group)


def _row_level_log_density(data, x: np.ndarray, scales: dict[str, float]) -> float:
    """Priors (with the log-scale Jacobians) plus the respondent-level marginal likelihood."""
    g = data.n_groups
    trend, effect, log_group_sd = x[0], x[1], x[2]
    z = x[3:3 + g]
    log_cluster_sd, log_noise_sd = x[3 + g], x[4 + g]
    lp = stats.norm.logpdf(trend, 0, scales["trend"]) + stats.norm.logpdf(effect, 0, scales["effect"])
    for log_sd, name in ((log_group_sd, "group_sd"), (log_cluster_sd, "cluster_sd"), (log_noise_sd, "noise_sd")):
        lp += stats.halfnorm.logpdf(math.exp(log_sd), scale=scales[name]) + log_sd
    lp += stats.norm.logpdf(z).sum()
    group_effect = effect + math.exp(log_group_sd) * z
    cluster_var, noise_var = math.exp(2 * log_cluster_sd), math.exp(2 * log_noise_sd)
    for c in range(data.n_clusters):
        y = data.unit_change[data.unit_cluster == c]
        mu = trend + group_effect[data.group[c]] * data.treated[c]
        cov = noise_var * np.eye(y.size) + cluster_var * np.ones((y.size, y.size))
        lp += stats.multivariate_normal.logpdf(y, mean=np.full(y.size, mu), cov=cov)
    return float(lp)


@pytest.mark.parametrize("seed", [0, 1])
def test_collapsed_kernel_equals_the_row_level_model_up_to_a_constant(seed: int) -> None:
    data = _data(seed)
    scales = prior_scales("bayes_did")
    density = density_for("bayes_did", {"centered": False, "hierarchical": True}, did_model_data(data, scales))
    rng = np.random.default_rng(seed + 10)
    gaps = []
    for _ in range(12):
        x = rng.normal(0.0, 0.7, density.n_dim)
        kernel, _grad = density.logp(x)
        gaps.append(kernel - _row_level_log_density(data, x, scales))
    # the constant is a data-only term (the within sum of squares' own density against the rows'); 1e-8 is far
    # below what any parameter-dependent difference moves (a missing degree of freedom moves it by ~0.1-10)
    assert np.ptp(gaps) < 1e-8, gaps
