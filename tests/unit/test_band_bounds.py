"""Counterfactual bands are drawn within the outcome's bounds, and a cut level-scale band is said on the plot."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from oca_experiments._display import bounded_band, plot_counterfactual  # noqa: E402
from oca_experiments.estimators._engagement import outcome_bounds  # noqa: E402


def _result(lower, upper, bounds):
    n = len(lower)
    path = {"dates": [str(i) for i in range(2 * n)], "observed": [0.2] * (2 * n),
            "counterfactual": [0.2] * (2 * n), "start_index": n, "lower": lower, "upper": upper,
            "bounds": bounds, "scale": "level"}
    return {"extras": {"by_campaign": [{"group": "g", "unit": "u", "average_effect": 0.1, "path": path}]}}


def test_level_band_below_zero_is_cut_and_said():
    low, high, note = bounded_band({"lower": [-0.5, 0.1], "upper": [0.5, 1.4], "bounds": [0.0, 1.0]})
    assert np.nanmin(low) == 0.0 and np.nanmax(high) == 1.0
    assert note is not None and "0 and 1" in note


def test_band_within_bounds_is_untouched():
    low, high, note = bounded_band({"lower": [0.1, 0.2], "upper": [0.3, 0.4], "bounds": [0.0, None]})
    assert list(low) == [0.1, 0.2] and list(high) == [0.3, 0.4] and note is None


def test_plot_draws_band_inside_bounds_with_note():
    fig = plot_counterfactual(_result([-3.0, -1.0, 0.1], [2.0, 3.0, 4.0], [0.0, None]))
    ax = fig.axes[0]
    polys = [c for c in ax.collections if hasattr(c, "get_paths")]
    ys = np.concatenate([p.vertices[:, 1] for c in polys for p in c.get_paths()])
    assert ys.min() >= 0.0
    assert any("band cut at 0" in t.get_text() for t in ax.texts)


def test_outcome_bounds_from_data_and_scale():
    assert outcome_bounds(np.array([0.0, 3.0, 7.0]), "level") == (0.0, None)       # counts
    assert outcome_bounds(np.array([0.1, 0.35, 0.9]), "level") == (0.0, 1.0)       # shares
    assert outcome_bounds(np.array([-1.0, 2.0]), "level") == (None, None)
    assert outcome_bounds(np.array([0.2, 0.4]), "logit") == (0.0, 1.0)
