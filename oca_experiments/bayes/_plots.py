"""Prior predictive and posterior predictive check plots, returned as PNG bytes (nothing is shown or written).

PNG bytes depend only on the inputs (no software or time metadata), so a rerun gives identical files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

__all__ = ["did_ppc_png", "did_prior_png", "its_ppc_png", "its_prior_png", "ordinal_ppc_png",
           "ordinal_prior_png"]

BLUE, GREY, ORANGE, RED = "#1f4e79", "#9aa5b1", "#d08c00", "#b2182b"


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _tidy(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def did_ppc_png(observed_unit: np.ndarray, replicated_unit: np.ndarray, observed_cluster: np.ndarray,
                replicated_cluster: np.ndarray, cluster_labels: Sequence[str], outcome_label: str) -> bytes:
    fig, axes = _figure(9.5, 3.4, ncols=2)
    ax = axes[0, 0]
    bins = np.histogram_bin_edges(np.concatenate([observed_unit, replicated_unit.ravel()]), bins=40)
    replicated = np.stack([np.histogram(row, bins=bins, density=True)[0] for row in replicated_unit])
    low, high = np.quantile(replicated, [0.025, 0.975], axis=0)
    ax.fill_between(bins[:-1], low, high, step="post", color=GREY, alpha=0.6, linewidth=0)
    ax.stairs(np.histogram(observed_unit, bins=bins, density=True)[0], bins, color=BLUE, linewidth=2.0)
    ax.set_xlabel(f"respondent's change in {outcome_label}")
    ax.set_ylabel("density")
    ax.set_title("respondents: observed (blue) vs 95% replicated band (grey)", fontsize=9)
    _tidy(ax)
    ax = axes[0, 1]
    order = np.argsort(observed_cluster)
    low, high = np.quantile(replicated_cluster, [0.025, 0.975], axis=0)
    x = np.arange(order.size)
    ax.vlines(x, low[order], high[order], color=GREY, linewidth=3, label="95% replicated")
    ax.plot(x, observed_cluster[order], "o", color=BLUE, markersize=4, label="observed")
    ax.set_xticks(x, [cluster_labels[i] for i in order], rotation=90, fontsize=6)
    ax.set_ylabel("community mean change")
    ax.set_title("communities: observed vs 95% posterior predictive", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    _tidy(ax)
    return _png(fig)


def did_prior_png(implied_means: np.ndarray, scale: tuple[float, float] | None, outcome_label: str) -> bytes:
    fig, axes = _figure(5.5, 3.0)
    ax = axes[0, 0]
    ax.hist(implied_means.ravel(), bins=60, color=GREY, density=True)
    if scale is not None:
        for bound in scale:
            ax.axvline(bound, color=RED, linestyle="--", linewidth=1)
    ax.set_xlabel(f"implied endline community mean of {outcome_label} (prior predictive)")
    ax.set_ylabel("density")
    _tidy(ax)
    return _png(fig)


def ordinal_ppc_png(observed: np.ndarray, replicated: np.ndarray, treated: np.ndarray,
                    categories: Sequence[int]) -> bytes:
    """observed (cluster, wave, K) counts; replicated (draw, cluster, wave, K)."""
    fig, axes = _figure(9.5, 3.2, ncols=4)
    x = np.arange(len(categories))
    panels = [(1.0, 0, "treated, pre"), (1.0, 1, "treated, post"), (0.0, 0, "comparison, pre"),
              (0.0, 1, "comparison, post")]
    for ax, (arm, wave, title) in zip(axes[0], panels, strict=True):
        rows = treated == arm
        obs = observed[rows, wave].sum(axis=0)
        rep = replicated[:, rows, wave].sum(axis=1)
        obs_share = obs / max(obs.sum(), 1.0)
        rep_share = rep / np.maximum(rep.sum(axis=-1, keepdims=True), 1.0)
        low, high = np.quantile(rep_share, [0.025, 0.975], axis=0)
        ax.bar(x, obs_share, color=BLUE, alpha=0.75, width=0.6)
        ax.vlines(x, low, high, color=ORANGE, linewidth=3)
        ax.set_xticks(x, [str(c) for c in categories])
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, max(0.6, float(high.max()) * 1.1))
        _tidy(ax)
    axes[0, 0].set_ylabel("share of answers")
    fig.suptitle("answers: observed (bars) vs 95% posterior predictive (orange)", fontsize=9)
    return _png(fig)


def ordinal_prior_png(prior_counts: np.ndarray, categories: Sequence[int]) -> bytes:
    """prior_counts (draw, cluster, wave, K): distribution of implied category shares across prior draws."""
    shares = prior_counts.sum(axis=(1, 2))
    shares = shares / np.maximum(shares.sum(axis=-1, keepdims=True), 1.0)
    fig, axes = _figure(5.5, 3.0)
    ax = axes[0, 0]
    ax.boxplot([shares[:, k] for k in range(shares.shape[1])], showfliers=False)
    ax.set_xticks(np.arange(1, len(categories) + 1), [str(c) for c in categories])
    ax.set_xlabel("answer category (prior predictive)")
    ax.set_ylabel("share of answers")
    _tidy(ax)
    return _png(fig)


def its_ppc_png(observed_share: np.ndarray, expected_share: np.ndarray, start_day: np.ndarray,
                unit_labels: Sequence[str], step_days: int = 7, replicated_share: np.ndarray | None = None) -> bytes:
    """Per unit: observed share (weekly means) and the model's expected share (95% band): fitted before the
    start (a posterior predictive check) and the counterfactual after it."""
    n_units, n_days = observed_share.shape
    ncols = min(3, n_units)
    nrows = int(np.ceil(n_units / ncols))
    fig, axes = _figure(3.4 * ncols, 2.4 * nrows, ncols=ncols, nrows=nrows)
    weeks = np.arange(n_days) // step_days
    n_weeks = int(weeks.max()) + 1
    for unit in range(nrows * ncols):
        ax = axes.flat[unit]
        if unit >= n_units:
            ax.set_visible(False)
            continue
        obs = observed_share[unit]
        weekly = np.array([np.nanmean(obs[weeks == w]) if np.any(~np.isnan(obs[weeks == w])) else np.nan
                           for w in range(n_weeks)])
        band = np.stack([expected_share[:, unit, weeks == w].mean(axis=-1) for w in range(n_weeks)], axis=-1)
        low, mid, high = np.quantile(band, [0.025, 0.5, 0.975], axis=0)
        centre = np.arange(n_weeks) * step_days + step_days / 2
        if replicated_share is not None:  # posterior predictive of the plotted statistic (with day-level noise)
            seen = ~np.isnan(obs)
            rep = np.stack([np.nanmean(np.where(seen[weeks == w], replicated_share[:, unit, weeks == w], np.nan),
                                       axis=-1) if seen[weeks == w].any() else np.full(replicated_share.shape[0],
                                                                                       np.nan)
                            for w in range(n_weeks)], axis=-1)
            r_low, r_high = np.nanquantile(rep, [0.025, 0.975], axis=0)
            ax.fill_between(centre, r_low, r_high, color=GREY, alpha=0.25, linewidth=0)
        ax.fill_between(centre, low, high, color=GREY, alpha=0.6, linewidth=0)
        ax.plot(centre, mid, color="#555555", linewidth=1)
        ax.plot(centre, weekly, "o-", color=BLUE, markersize=2.5, linewidth=0.8)
        ax.axvline(start_day[unit], color=RED, linestyle="--", linewidth=1)
        ax.set_title(str(unit_labels[unit]), fontsize=9)
        _tidy(ax)
    fig.suptitle("weekly share: observed (blue); model 95% bands of the expected share (dark) and of replicated data "
                 "(light): fit before the start (red line), counterfactual after", fontsize=8)
    return _png(fig)


def its_prior_png(prior_share: np.ndarray) -> bytes:
    fig, axes = _figure(5.5, 3.0)
    ax = axes[0, 0]
    ax.hist(prior_share.ravel(), bins=50, range=(0, 1), color=GREY, density=True)
    ax.set_xlabel("implied pre-period share per unit (prior predictive)")
    ax.set_ylabel("density")
    _tidy(ax)
    return _png(fig)
