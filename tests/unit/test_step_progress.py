"""Long steps report on a terminal's stderr through the CLI's listener, never when piped, never into results."""
import io

import numpy as np

from oca_experiments._progress import showing_steps, step
from oca_experiments.estimators._cluster_inference import bootstrap_weights


class _FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_step_lines_on_a_terminal():
    stream = _FakeTty()
    with showing_steps(stream), step("wild bootstrap", 20) as progress:
        for _ in range(20):
            progress.advance()
    text = stream.getvalue()
    assert "wild bootstrap: 0/20" in text and "wild bootstrap: 20/20\n" in text
    assert text.count("\r") <= 12  # a line per tenth, not per draw


def test_no_output_when_piped_or_not_listening():
    piped = io.StringIO()
    with showing_steps(piped), step("wild bootstrap", 5) as progress:
        progress.advance(5)
    assert piped.getvalue() == ""
    with step("outside any listener", 3) as progress:  # the library alone never prints
        progress.advance(3)


def test_randomization_inference_reports_and_numbers_unchanged():
    from oca_experiments.estimators._cluster_inference import randomization_test

    rng = np.random.default_rng(1)
    n_clusters, per = 8, 5
    cluster = np.repeat(np.arange(n_clusters), per)
    assignment = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=float)
    base = np.zeros((n_clusters * per, n_clusters))
    base[np.arange(n_clusters * per), cluster] = 1.0
    y = base @ assignment * 0.5 + rng.normal(size=n_clusters * per)
    y, base = y - y.mean(), base - base.mean(axis=0)
    kwargs = dict(target=0, blocks=None, blocks_label=None, draws=1000, seed=3, tails="two", direction="increase",
                  observed=0.5)
    quiet = randomization_test(y, np.empty((y.size, 0)), [base], assignment, **kwargs)
    stream = _FakeTty()
    with showing_steps(stream):
        loud = randomization_test(y, np.empty((y.size, 0)), [base], assignment, **kwargs)
    assert "randomization inference" in stream.getvalue()
    assert loud.record() == quiet.record()
    assert bootstrap_weights(["a", "b"], 4, "rademacher", 1).shape == (4, 2)
