"""Results show themselves: tidy() names the inference behind its numbers, summary() returns a value, _repr_html_
renders a compact table, plot() returns a figure; the command line prints one line per hypothesis with the
inference and one p-value format (issue 17: "every output shows the inference that produced its numbers")."""

from __future__ import annotations

import pandas as pd
import pytest

from oca_experiments.cli import summary_line
from oca_experiments.results import EstimateResult, HypothesisResult, RunResult

WILD = {"primary": "wild_webb", "registered_se": "CR1",
        "rule": {"name": "few_clusters", "threshold": 30, "method": "wild_webb", "n_clusters": 24,
                 "registered_se": "CR1", "fired": True},
        "alternatives": {"CR1": {"std_error": 0.0614, "df": 23.0, "ci_low": 0.1996, "ci_high": 0.4535,
                                 "p_value": 2.1e-05},
                         "wild_webb": {"p_value": 3e-4, "ci_low": 0.1972, "ci_high": 0.4564, "draws": 9999,
                                       "enumerated": False}}}


def _few_clusters() -> HypothesisResult:
    estimate = EstimateResult(estimate=0.3265, std_error=0.0614, ci_low=0.1972, ci_high=0.4564, ci_level=0.95,
                              p_value=3e-4, p_value_two_sided=3e-4, df=None, n=2100, n_clusters=24,
                              se_type="wild_webb", extras={"inference": WILD})
    return HypothesisResult(id="h1", title="Campaigns raise horizontal trust", type="confirmatory",
                            direction="increase", estimator="survey_did", outcome="trust", source="survey",
                            spec_file="hypotheses/h1.yaml", status="estimated", verdict="supported", result=estimate,
                            sesoi=0.1)


def _bayes() -> HypothesisResult:
    estimate = EstimateResult(estimate=-0.0388, std_error=0.0138, ci_low=-0.065, ci_high=-0.0123, ci_level=0.95,
                              p_value=float("nan"), p_value_two_sided=float("nan"), df=None, n=934, n_clusters=6,
                              se_type="posterior_sd",
                              extras={"bayesian": True, "decision_rule": {"probability": 0.95, "against": "sesoi"},
                                      "posterior": {"p_gt_0": 0.002, "p_lt_0": 0.998, "p_gt_sesoi": 0.0,
                                                    "p_lt_minus_sesoi": 0.934, "interval": "hdi"}})
    return HypothesisResult(id="h7d", title="Hostile share (Bayesian ITS)", type="confirmatory",
                            direction="decrease", estimator="bayes_its", outcome="hostile_share", source="engagement",
                            spec_file="hypotheses/h7d.yaml", status="estimated", verdict="inconclusive",
                            result=estimate, sesoi=0.02)


def _run() -> RunResult:
    missing = HypothesisResult(id="h9", title="Later", type="exploratory", direction="any", estimator="its",
                               outcome="x", source="engagement", spec_file="h9.yaml", status="not_testable",
                               verdict=None, reason="not testable: too few pages")
    return RunResult(study="Demo", oca_version="0", hypotheses=(_few_clusters(), _bayes(), missing), contracts=(),
                     data={})


def test_tidy_says_which_standard_error_and_which_inference() -> None:
    tidy = _run().tidy()
    row = tidy.iloc[0]
    assert row["se_type"] == "CR1"  # the std_error beside it is the CR1 SE that studentizes the bootstrap
    assert row["inference"] == "wild_webb"  # the interval and p-value come from the wild bootstrap
    assert tidy.iloc[1]["inference"] == "posterior_sd" and pd.isna(tidy.iloc[2]["inference"])


def test_summary_returns_values_and_repr_html_renders() -> None:
    run = _run()
    summary = run.summary()
    assert isinstance(summary, pd.DataFrame) and list(summary["id"]) == ["h1", "h7d", "h9"]
    assert summary.loc[0, "p_value"] == "p < 0.001" and summary.loc[0, "std_error_type"] == "CR1"
    assert summary.loc[0, "inference"].startswith("wild cluster bootstrap (Webb weights), 9,999 draws, replacing "
                                                  "the registered CR1 (24 clusters < 30)")
    assert summary.loc[1, "p_value"] == "no p-value (posterior)"
    for obj in (run, run["h1"], run["h1"].result, run["h9"]):
        page = obj._repr_html_()
        assert page.startswith('<table class="oca-result"><caption>') and "<th scope=\"col\">" in page
    assert "p = 0" not in run._repr_html_()
    assert isinstance(run["h1"].summary(), pd.DataFrame) and isinstance(run["h1"].result.summary(), pd.DataFrame)


def test_plot_returns_a_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    run = _run()
    for fig in (run.plot(), run["h1"].plot(), run["h1"].result.plot()):
        assert isinstance(fig, Figure)
        assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    assert len([ax for ax in run.plot().axes if ax.get_visible()]) == 2  # one panel per estimate, own scales
    with pytest.raises(ValueError, match="no estimate"):
        run["h9"].plot()


def test_command_line_shows_the_inference_and_the_registered_claim() -> None:
    line = summary_line(_few_clusters())
    assert line == ("h1: supported (estimate 0.327, 95% CI [0.197, 0.456], p < 0.001; inference: wild cluster "
                    "bootstrap (Webb weights), 9,999 draws, replacing the registered CR1 (24 clusters < 30))")
    bayes = summary_line(_bayes())
    assert "P(effect < -0.02) = 0.934 (needed: 0.95)" in bayes and "P(effect > 0)" not in bayes
    assert bayes.endswith("inference: posterior)")


def test_progress_goes_to_stderr_only_on_a_terminal(monkeypatch, capsys) -> None:
    import io
    import sys
    from types import SimpleNamespace

    from oca_experiments._cli_common import _progress_line

    task = SimpleNamespace(id="h7a", estimator=SimpleNamespace(name="bayes_did"))
    _progress_line(task)
    assert capsys.readouterr() == ("", "")  # pytest's capture is not a terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _progress_line(task)
    assert terminal.getvalue() == "running h7a (bayes_did)…\n"
    assert capsys.readouterr().out == ""  # never on stdout


def test_each_hypothesis_is_announced_as_it_finishes() -> None:
    from oca_experiments._progress import hypothesis_finished, hypothesis_started, listening

    seen: list[str] = []
    with listening(lambda h: seen.append(f"done {h}"), lambda t: seen.append(f"start {t}")):
        for task in ("a", "b"):
            hypothesis_finished(hypothesis_started(task))
    assert seen == ["start a", "done a", "start b", "done b"]
    assert hypothesis_finished("c") == "c" and seen[-1] == "done b"  # no listener outside the block
