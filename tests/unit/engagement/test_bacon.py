"""Goodman-Bacon decomposition: the TWFE coefficient and every 2x2 coefficient agree with pyfixest's feols to 1e-8,
the weights equal the paper's closed forms (Goodman-Bacon 2021, eq. 10a-10c), sum to one and recompose TWFE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._bacon import bacon_decomposition

pyfixest = pytest.importorskip("pyfixest")

T = 12
COHORTS = np.array([3] * 6 + [6] * 8 + [9] * 5 + [99] * 11)  # three timing groups and never-treated units


def _panel(seed: int = 1, cohort: np.ndarray = COHORTS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    periods = np.arange(T)
    y = rng.normal(size=(cohort.size, T)) + 0.2 * periods + rng.normal(size=(cohort.size, 1))
    since = periods[None, :] - cohort[:, None]
    return y + (since >= 0) * (1.0 + 0.3 * since.clip(0))  # effects that grow with time since adoption


def _feols(y: np.ndarray, cohort: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    frame = pd.DataFrame([{"unit": int(i), "period": int(t), "y": y[i, t],
                           "d": float(cohort[i] < T and t >= cohort[i])} for i in rows for t in cols])
    return float(pyfixest.feols("y ~ d | unit + period", data=frame).coef()["d"])


def test_twfe_and_each_2x2_agree_with_pyfixest() -> None:
    y = _panel()
    decomposition = bacon_decomposition(y, COHORTS)
    assert decomposition.twfe == pytest.approx(_feols(y, COHORTS, np.arange(COHORTS.size), np.arange(T)), abs=1e-8)
    for c in decomposition.comparisons:
        groups = [c.treated] + ([c.control] if c.control is not None else [])
        rows = np.flatnonzero(np.isin(COHORTS, groups) | ((c.control is None) & (COHORTS >= T)))
        cols = {"treated_vs_never": np.arange(T), "earlier_vs_later": np.arange(c.control or 0),
                "later_vs_earlier": np.arange(c.control or 0, T)}[c.kind]
        assert c.estimate == pytest.approx(_feols(y, COHORTS, rows, cols), abs=1e-8), c


def test_weights_equal_the_papers_closed_forms_and_recompose_twfe() -> None:
    decomposition = bacon_decomposition(_panel(), COHORTS)
    n = COHORTS.size
    share = {int(g): float(np.mean(COHORTS == g)) for g in np.unique(COHORTS)}
    treated_share = {g: (T - g) / T for g in share if g < T}  # D-bar_k: share of periods treated
    n_never = share[99]
    d = (np.arange(T)[None, :] >= COHORTS[:, None]).astype(float)
    tilde = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    v_d = float(np.sum(tilde**2) / (n * T))
    for c in decomposition.comparisons:
        if c.kind == "treated_vs_never":
            nk = share[c.treated]
            nku = nk / (nk + n_never)
            dk = treated_share[c.treated]
            expected = (nk + n_never) ** 2 * nku * (1 - nku) * dk * (1 - dk) / v_d
        else:
            k, l_ = (c.treated, c.control) if c.kind == "earlier_vs_later" else (c.control, c.treated)
            nk, nl = share[k], share[l_]
            nkl = nk / (nk + nl)
            dk, dl = treated_share[k], treated_share[l_]
            if c.kind == "earlier_vs_later":
                expected = (((nk + nl) * (1 - dl)) ** 2 * nkl * (1 - nkl) * (dk - dl) / (1 - dl)
                            * (1 - dk) / (1 - dl) / v_d)
            else:
                expected = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * dl / dk * (dk - dl) / dk / v_d
        assert c.weight == pytest.approx(expected, rel=1e-10), c
    assert sum(c.weight for c in decomposition.comparisons) == pytest.approx(1.0, abs=1e-12)
    assert sum(c.weight * c.estimate for c in decomposition.comparisons) == pytest.approx(decomposition.twfe,
                                                                                           abs=1e-10)
    kinds = decomposition.by_kind()
    # Effects that grow with time: the later-vs-earlier comparisons subtract the early group's growing effect.
    assert kinds["later_vs_earlier"]["estimate"] < kinds["treated_vs_never"]["estimate"]
    assert len(decomposition.table()) == 3 + 2 * 3


def test_always_treated_units_enter_only_as_controls() -> None:
    cohort = COHORTS.copy()
    cohort[:6] = 0
    decomposition = bacon_decomposition(_panel(cohort=cohort), cohort)
    assert all(c.treated != 0 for c in decomposition.comparisons)
    assert any(c.control == 0 for c in decomposition.comparisons)
    assert decomposition.twfe == pytest.approx(
        _feols(_panel(cohort=cohort), cohort, np.arange(cohort.size), np.arange(T)), abs=1e-8)
