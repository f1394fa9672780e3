"""The baseline/endline panel survey and its true effects (h1, h2, h3, h6).

Latent trust of respondent i in community c at wave w (0 = baseline, 1 = endline), per dimension
(horizontal, vertical)::

    eta = mean + demographic shift + u_i + v_c + s_cw + d_iw + trend * w + tau_i * treated_c * w

with var(v_c) : var(u_i) : var(d_iw) = 0.05 : 0.60 : 0.35 (ICC 0.05 on the latent scale; u_i and v_c correlate
0.4 across the two dimensions), small community-wave shocks s_cw and a common trend. Each item answer is ``1 + #(cutpoints below loading * eta + intercept + e)``
with independent item noise e; ``h_trust_3`` is stored reversed (6 - answer), as the questionnaire asks it
negatively. The true effects are sample ATTs on the registered Kling-Liebman-Katz index (SD units of the comparison
arm at baseline, constants from the sample as the analysis computes them) from both potential outcomes of each
treated endline respondent with the same noise draws and the same missing items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _design as d

H_ITEMS: tuple[str, ...] = ("h_trust_1", "h_trust_2", "h_trust_3", "h_trust_4")
H_REVERSED_POSITION = 2  # h_trust_3: "you cannot be too careful with people"
V_ITEMS: tuple[str, ...] = ("v_trust_lsg", "v_trust_police", "v_trust_courts", "v_trust_parliament")
KNOW_ITEMS: tuple[str, ...] = tuple(f"know_{k:02d}" for k in range(1, 11))
SURVEY_COLUMNS: tuple[str, ...] = (
    "respondent_id", "phone", "comment", "wave", "interview_date", "site", "district", "community_id", "cso_id",
    "treated", "sex", "age_band", "role", "participant", *H_ITEMS, *V_ITEMS, *KNOW_ITEMS,
)
WAVES: tuple[str, str] = ("baseline", "endline")
#: The registered trust indices need at least 3 of 4 answered items (hypotheses/h1, h2, h6).
MIN_TRUST_ITEMS = 3

AGE_BANDS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")
AGE_SHARES = np.array([0.30, 0.32, 0.24, 0.14])
ROLES: tuple[str, ...] = ("local_self_government", "cso", "religious_leader", "youth", "other")
#: Role shares per age band (rows) over ROLES (columns): youth activists are young, elders lead more often.
ROLE_SHARES_BY_AGE = np.array([
    [0.04, 0.12, 0.01, 0.55, 0.28],
    [0.12, 0.15, 0.04, 0.15, 0.54],
    [0.16, 0.12, 0.07, 0.00, 0.65],
    [0.12, 0.06, 0.12, 0.00, 0.70],
])
FEMALE_SHARE = 0.52
FEMALE_RELIGIOUS_LEADER_FACTOR = 0.1  # religious leaders are almost all men; the rest moves to "other"
#: Probability of taking the CSO training in treated communities, by role (about 30% overall).
PARTICIPATION_BY_ROLE = np.array([0.45, 0.55, 0.25, 0.35, 0.22])
COMPARISON_PARTICIPATION = 0.01  # a few people travel to a neighbouring community's training

LATENT_MEAN = {"horizontal": 0.25, "vertical": -0.05}
SHIFT_BY_AGE = {"horizontal": np.array([-0.05, 0.0, 0.08, 0.15]), "vertical": np.array([-0.15, 0.0, 0.10, 0.20])}
SHIFT_BY_ROLE = {"horizontal": np.array([0.05, 0.15, 0.20, 0.0, 0.0]),
                 "vertical": np.array([0.35, 0.05, 0.10, -0.10, 0.0])}
H_LOADINGS = np.array([1.0, 0.9, 0.8, 1.1])
H_INTERCEPTS = np.array([0.2, 0.0, -0.1, -0.2])
V_LOADINGS = np.array([1.0, 1.0, 1.0, 1.0])
V_INTERCEPTS = np.array([0.3, -0.1, -0.5, -0.3])  # courts and parliament are trusted least
CUTPOINTS = np.array([-1.5, -0.5, 0.5, 1.5])

COMMENT_RATE = 0.15
COMMENTS: tuple[str, ...] = (
    "Хотелось бы больше встреч с молодёжью.",
    "Проблемы с водой для полива обсуждаем всем селом.",
    "Не доверяю судам, слишком много коррупции.",
    "Спасибо за опрос, надеюсь, будут перемены.",
    "Мало информации о проектах в нашем селе.",
    "Всё хорошо, но дороги плохие.",
    "Жаштар үчүн көбүрөөк иш-чаралар керек.",
    "Айыл өкмөтү менен байланыш жакшырды.",
    "Коңшулар менен ынтымак бар.",
    "Соттарга ишенбейм.",
    "Сурамжылоо үчүн рахмат.",
    "Суу маселеси чечилбей жатат.",
)
#: Kyrgyz mobile operator prefixes (all 7xx, as the survey's phone format requires).
PHONE_PREFIXES = np.array([*range(700, 710), *range(770, 780), 755])


@dataclass(frozen=True)
class SurveySimulation:
    frame: pd.DataFrame
    truth: dict[str, Any]


@dataclass(frozen=True)
class _Respondents:
    community: np.ndarray
    treated: np.ndarray
    female: np.ndarray
    age: np.ndarray
    role: np.ndarray
    participant: np.ndarray


def simulate_survey(rng: np.random.Generator, design: d.Design, n_respondents: int) -> SurveySimulation:
    people = _draw_respondents(rng, design, n_respondents)
    stays = rng.random(n_respondents) >= np.where(
        people.treated == 1, d.ATTRITION_RATE["treated"], d.ATTRITION_RATE["comparison"])

    # One correlated draw for both dimensions: a person's (and a community's) horizontal and vertical trust
    # are related.
    person_effects = _correlated_normal(rng, n_respondents, d.RESPONDENT_VARIANCE)
    community_effects = _correlated_normal(rng, d.N_COMMUNITIES, d.COMMUNITY_VARIANCE)
    h_observed, h_untreated, h_treated = _trust_answers(
        rng, design, people, "horizontal", person_effects[:, 0], community_effects[:, 0])
    v_observed, v_untreated, v_treated = _trust_answers(
        rng, design, people, "vertical", person_effects[:, 1], community_effects[:, 1])
    # The registered KLK indices standardize against the comparison arm at baseline, as observed (latent order,
    # i.e. after the analysis reverse-codes h_trust_3); the truth uses the same constants.
    reference = people.treated == 0
    h_scale = klk_scale(h_observed[0], reference)
    v_scale = klk_scale(v_observed[0], reference)
    # Reverse h_trust_3 in the stored answers only; the potential-outcome indices below use the latent order.
    h_observed[..., H_REVERSED_POSITION] = 6 - h_observed[..., H_REVERSED_POSITION]
    knowledge = _knowledge_answers(rng, people.participant)

    frame = _build_frame(rng, design, people, stays, h_observed, v_observed, knowledge)
    truth = _survey_truth(design, people, stays, h_untreated, h_treated, v_untreated, v_treated, h_scale, v_scale)
    # No random draw below: the weighted truth is a function of what is drawn above (demo files unchanged).
    truth.update(_weighted_truth(people, stays, h_observed, h_untreated, h_treated, h_scale))
    return SurveySimulation(frame, truth)


#: Population margins h10 registers (hypotheses/h10_horizontal_trust_weighted.yaml must equal them; a test checks):
#: adults of the study area by sex and age band (older and more male than the sample) and by site (Osh and Jalal-Abad
#: larger than their share of the sampled communities). Site, not district: both are constant within communities
#: (the clusters), and raking to a category that holds one community would remove its variation from the variance;
#: every site holds 3 or 4 communities, a district 1 or 2 (oca refuses a single-cluster category).
POPULATION_MARGINS: dict[str, dict[str, float]] = {
    "sex": {"female": 0.49, "male": 0.51},
    "age_band": {"18-29": 0.24, "30-44": 0.29, "45-59": 0.27, "60+": 0.20},
    "site": {"Alamedin": 0.10, "Sokuluk": 0.12, "Osh": 0.24, "Uzgen": 0.14, "Jalal-Abad": 0.22, "Batken": 0.08,
             "Razzakov": 0.10},
}
#: h1's registered min_items: a respondent's index needs this many answered items.
_MIN_ITEMS = 3


def _rake(columns: dict[str, np.ndarray], margins: dict[str, dict[str, float]], *, sweeps: int = 10_000,
          tolerance: float = 1e-12) -> np.ndarray:
    """Raking weights (iterative proportional fitting from 1) of one sample to population shares, written here
    independently of oca's estimators (the demo may not import them)."""
    n = next(iter(columns.values())).size
    weights = np.ones(n)
    for _ in range(sweeps):
        for name, shares in margins.items():
            for category, share in shares.items():
                cell = columns[name] == category
                weights[cell] *= share * n / weights[cell].sum()
        if all(abs(weights[columns[name] == c].sum() / n - share) < tolerance
               for name, shares in margins.items() for c, share in shares.items()):
            break
    return weights


def _weighted_truth(people: _Respondents, stays: np.ndarray, h_observed: np.ndarray, h_untreated: np.ndarray,
                    h_treated: np.ndarray, h_scale: KlkScale) -> dict[str, Any]:
    """h10's estimand: h1's ATT with the treated respondents weighted as the analysis weights them, i.e. the
    panel estimation sample (index answered at both waves) raked to POPULATION_MARGINS."""
    answered = (~np.isnan(h_observed)).sum(axis=2) >= _MIN_ITEMS  # (2, n): index built at baseline / endline
    sample = answered[0] & answered[1] & stays
    site = np.array([name for name, _ in d.DISTRICTS])[np.array(d.COMMUNITY_DISTRICT)[people.community]]
    columns = {"sex": np.where(people.female, "female", "male")[sample],
               "age_band": np.array(AGE_BANDS)[people.age][sample], "site": site[sample]}
    weights = np.zeros(people.community.size)
    weights[sample] = _rake(columns, POPULATION_MARGINS)
    effect = klk_index(h_treated, h_scale) - klk_index(h_untreated, h_scale)
    treated = sample & (people.treated == 1) & ~np.isnan(effect)
    return {"h10_horizontal_trust_weighted": float(np.average(effect[treated], weights=weights[treated])),
            "h10_kish_effective_n": float(weights[sample].sum() ** 2 / (weights[sample] ** 2).sum()),
            "h10_panel_units": int(sample.sum())}


def _draw_respondents(rng: np.random.Generator, design: d.Design, n: int) -> _Respondents:
    sizes = np.full(d.N_COMMUNITIES, n // d.N_COMMUNITIES)
    sizes[: n % d.N_COMMUNITIES] += 1
    community = np.repeat(np.arange(d.N_COMMUNITIES), sizes)
    treated = design.community_treated[community]
    female = rng.random(n) < FEMALE_SHARE
    age = _categorical(rng, np.broadcast_to(AGE_SHARES, (n, AGE_SHARES.size)))
    role_shares = ROLE_SHARES_BY_AGE[age].copy()
    religious = ROLES.index("religious_leader")
    moved = role_shares[:, religious] * np.where(female, 1.0 - FEMALE_RELIGIOUS_LEADER_FACTOR, 0.0)
    role_shares[:, religious] -= moved
    role_shares[:, ROLES.index("other")] += moved
    role = _categorical(rng, role_shares)
    participation = np.where(treated == 1, PARTICIPATION_BY_ROLE[role], COMPARISON_PARTICIPATION)
    participant = (rng.random(n) < participation).astype(np.int64)
    return _Respondents(community, treated, female, age, role, participant)


def _categorical(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One category per row of ``probabilities`` (rows sum to 1)."""
    cumulative = np.cumsum(probabilities, axis=1)
    draws = rng.random(probabilities.shape[0]) * cumulative[:, -1]
    return (draws[:, None] >= cumulative).sum(axis=1)


def _correlated_normal(rng: np.random.Generator, n: int, variance: float) -> np.ndarray:
    """(n, 2) normal draws with the given variance and correlation TRUST_DIMENSION_CORRELATION."""
    rho = d.TRUST_DIMENSION_CORRELATION
    independent = rng.normal(0.0, 1.0, (n, 2))
    second = rho * independent[:, 0] + np.sqrt(1.0 - rho**2) * independent[:, 1]
    return np.sqrt(variance) * np.column_stack([independent[:, 0], second])


def _trust_answers(rng: np.random.Generator, design: d.Design, people: _Respondents, dimension: str,
                   person: np.ndarray, community: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed answers (2, n, 4) as float with NaN for nonresponse, and the endline potential outcomes.

    The potential outcomes are in latent order (no reverse coding) and share noise and missingness, so their
    difference is the effect of treatment alone.
    """
    n = people.community.size
    loadings, intercepts = (H_LOADINGS, H_INTERCEPTS) if dimension == "horizontal" else (V_LOADINGS, V_INTERCEPTS)
    shocks = rng.normal(0.0, d.COMMUNITY_WAVE_SHOCK_SD, (2, d.N_COMMUNITIES))
    person_wave = rng.normal(0.0, np.sqrt(d.RESPONDENT_WAVE_VARIANCE), (2, n))
    noise = rng.normal(0.0, d.ITEM_NOISE_SD, (2, n, loadings.size))
    missing = rng.random((2, n, loadings.size)) < d.ITEM_NONRESPONSE_RATE

    level = (LATENT_MEAN[dimension] + SHIFT_BY_AGE[dimension][people.age] + SHIFT_BY_ROLE[dimension][people.role]
             + person + community[people.community])
    wave_trend = np.array([0.0, d.TIME_TREND[dimension]])
    untreated_latent = level[None, :] + shocks[:, people.community] + person_wave + wave_trend[:, None]
    effect = _latent_effect(design, people, dimension)

    untreated = _ordinal(untreated_latent, loadings, intercepts, noise)
    treated = _ordinal(untreated_latent[1] + effect, loadings, intercepts, noise[1])
    observed = untreated.astype(np.float64)
    observed[1] = np.where(people.treated[:, None] == 1, treated, untreated[1])
    observed[missing] = np.nan
    untreated_endline = np.where(missing[1], np.nan, untreated[1])
    treated_endline = np.where(missing[1], np.nan, treated)
    return observed, untreated_endline, treated_endline


def _latent_effect(design: d.Design, people: _Respondents, dimension: str) -> np.ndarray:
    cso = np.array(d.COMMUNITY_CSO)[people.community]
    if dimension == "horizontal":
        base = np.where(people.female, d.HORIZONTAL_EFFECT_FEMALE, d.HORIZONTAL_EFFECT_MALE)
    else:
        base = np.full(people.community.size, d.VERTICAL_EFFECT)
    return design.cso_effect_factor[cso] * base * (1.0 + d.PARTICIPANT_EFFECT_BOOST * people.participant)


def _ordinal(latent: np.ndarray, loadings: np.ndarray, intercepts: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Answers 1..5: one plus the number of cutpoints the latent item response exceeds."""
    item_latent = latent[..., None] * loadings + intercepts + noise
    return np.searchsorted(CUTPOINTS, item_latent) + 1


def _index(items: np.ndarray) -> np.ndarray:
    """Mean of answered items (NaN = missing), NaN with fewer than MIN_TRUST_ITEMS answers."""
    answered = np.sum(~np.isnan(items), axis=-1)
    total = np.nansum(items, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered >= MIN_TRUST_ITEMS, total / answered, np.nan)


@dataclass(frozen=True)
class KlkScale:
    """Constants of a Kling-Liebman-Katz index: item means/SDs and the SD of the mean z-score (reference group)."""

    item_mean: np.ndarray
    item_sd: np.ndarray
    index_mean: float
    index_sd: float


def klk_scale(baseline_items: np.ndarray, reference: np.ndarray) -> KlkScale:
    """Standardization constants from the reference group's baseline answers (NaN = missing), SDs with ddof 1.

    Mirrors hypotheses/h1, h2, h6 (method zscore): each item is a z-score against the comparison arm at baseline,
    the index is the mean of the answered z-scores (at least MIN_TRUST_ITEMS), standardized again against the
    same group.
    """
    items = baseline_items[reference]
    item_mean = np.nanmean(items, axis=0)
    item_sd = np.nanstd(items, axis=0, ddof=1)
    raw = _mean_z(items, item_mean, item_sd)
    raw = raw[~np.isnan(raw)]
    return KlkScale(item_mean, item_sd, float(raw.mean()), float(raw.std(ddof=1)))


def _mean_z(items: np.ndarray, item_mean: np.ndarray, item_sd: np.ndarray) -> np.ndarray:
    return _index((items - item_mean) / item_sd)


def klk_index(items: np.ndarray, scale: KlkScale) -> np.ndarray:
    return (_mean_z(items, scale.item_mean, scale.item_sd) - scale.index_mean) / scale.index_sd


def _knowledge_answers(rng: np.random.Generator, participant: np.ndarray) -> np.ndarray:
    """(2, n, 10) answers 0/1 as float, NaN for non-participants (they do not take the test)."""
    n = participant.size
    ability = rng.normal(0.0, 1.0, n)
    gain = np.array([0.0, d.KNOWLEDGE_TRAINING_GAIN])
    probability = _knowledge_probability(ability[None, :] + gain[:, None])
    answers = (rng.random((2, n, len(KNOW_ITEMS))) < probability).astype(np.float64)
    answers[:, participant == 0, :] = np.nan
    return answers


def _knowledge_probability(ability: np.ndarray) -> np.ndarray:
    discrimination = np.array(d.KNOWLEDGE_DISCRIMINATION)
    difficulty = np.array(d.KNOWLEDGE_DIFFICULTY)
    return 1.0 / (1.0 + np.exp(-discrimination * (ability[..., None] - difficulty)))


def expected_knowledge_scores() -> tuple[float, float]:
    """Population mean score (0-10) before and after training, integrating ability ~ N(0, 1) by quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    before = float(weights @ _knowledge_probability(nodes).sum(axis=1))
    after = float(weights @ _knowledge_probability(nodes + d.KNOWLEDGE_TRAINING_GAIN).sum(axis=1))
    return before, after


def _build_frame(rng: np.random.Generator, design: d.Design, people: _Respondents, stays: np.ndarray,
                 h_answers: np.ndarray, v_answers: np.ndarray, knowledge: np.ndarray) -> pd.DataFrame:
    n = people.community.size
    # Long format: all baseline rows, then the endline rows of those who stayed.
    person = np.concatenate([np.arange(n), np.flatnonzero(stays)])
    wave = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(int(stays.sum()), dtype=np.int64)])
    community = people.community[person]
    district = np.array(d.COMMUNITY_DISTRICT)[community]

    respondent_ids = np.array([f"R{k:05d}" for k in range(1, n + 1)])
    phones = _phones(rng, n)
    comment_texts = np.array(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), person.size)]
    comments = np.where(rng.random(person.size) < COMMENT_RATE, comment_texts, None)
    dates = _interview_dates(rng, people.community, wave, person)

    columns: dict[str, Any] = {
        "respondent_id": respondent_ids[person],
        "phone": phones[person],
        "comment": pd.array(comments, dtype="str"),
        "wave": np.array(WAVES)[wave],
        "interview_date": dates,
        "site": np.array([site for site, _ in d.DISTRICTS])[district],
        "district": np.array([name for _, name in d.DISTRICTS])[district],
        "community_id": np.array(d.COMMUNITY_IDS)[community],
        "cso_id": np.array(d.CSO_IDS)[np.array(d.COMMUNITY_CSO)[community]],
        "treated": design.community_treated[community].astype(np.int64),
        "sex": np.where(people.female[person], "female", "male"),
        "age_band": np.array(AGE_BANDS)[people.age[person]],
        "role": np.array(ROLES)[people.role[person]],
        "participant": people.participant[person].astype(np.int64),
    }
    for answers, names in ((h_answers, H_ITEMS), (v_answers, V_ITEMS), (knowledge, KNOW_ITEMS)):
        rows = answers[wave, person]
        for position, name in enumerate(names):
            columns[name] = _nullable_int(rows[:, position])
    frame = pd.DataFrame(columns)
    for name in ("respondent_id", "phone", "wave", "interview_date", "site", "district", "community_id", "cso_id",
                 "sex", "age_band", "role"):
        frame[name] = frame[name].astype("str")
    return frame[list(SURVEY_COLUMNS)]


def _nullable_int(values: np.ndarray) -> pd.arrays.IntegerArray:
    missing = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique fake numbers ``+996 7xx xxx xxx``."""
    prefix = PHONE_PREFIXES[rng.integers(0, PHONE_PREFIXES.size, n)]
    line = rng.integers(0, 1_000_000, n)
    number = prefix * 1_000_000 + line
    while True:
        _, first = np.unique(number, return_index=True)
        duplicate = np.ones(n, dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            break
        number[duplicate] = (PHONE_PREFIXES[rng.integers(0, PHONE_PREFIXES.size, int(duplicate.sum()))] * 1_000_000
                             + rng.integers(0, 1_000_000, int(duplicate.sum())))
    return np.array([f"+996 {k // 1_000_000} {k // 1000 % 1000:03d} {k % 1000:03d}" for k in number.tolist()])


def _interview_dates(rng: np.random.Generator, respondent_community: np.ndarray, wave: np.ndarray,
                     person: np.ndarray) -> np.ndarray:
    """Each community is visited on its own days of the fieldwork window; a visit takes up to four days."""
    community_offset = rng.permutation(d.N_COMMUNITIES) * d.FIELDWORK_SPAN_DAYS // d.N_COMMUNITIES
    respondent_offset = rng.integers(0, 4, (2, respondent_community.size))
    start = np.array([d.BASELINE_FIELDWORK_START, d.ENDLINE_FIELDWORK_START])
    days = (start[wave] + community_offset[respondent_community[person]].astype("timedelta64[D]")
            + respondent_offset[wave, person].astype("timedelta64[D]"))
    return np.datetime_as_string(days, unit="D")


def _survey_truth(design: d.Design, people: _Respondents, stays: np.ndarray, h_untreated: np.ndarray,
                  h_treated: np.ndarray, v_untreated: np.ndarray, v_treated: np.ndarray, h_scale: KlkScale,
                  v_scale: KlkScale) -> dict[str, Any]:
    in_sample = (people.treated == 1) & stays
    # Both potential outcomes go through the same standardization (the sample's, as the analysis computes it).
    h_effect = klk_index(h_treated, h_scale) - klk_index(h_untreated, h_scale)
    v_effect = klk_index(v_treated, v_scale) - klk_index(v_untreated, v_scale)
    h_mean_effect = _index(h_treated) - _index(h_untreated)
    h_ok = in_sample & ~np.isnan(h_effect)
    v_ok = in_sample & ~np.isnan(v_effect)
    cso = np.array(d.COMMUNITY_CSO)[people.community]
    h1_female = float(h_effect[h_ok & people.female].mean())
    h1_male = float(h_effect[h_ok & ~people.female].mean())
    before, after = expected_knowledge_scores()
    treated_people = people.treated == 1
    # h_trust_1 (first item, not reverse-coded) for the Bayesian ordinal hypothesis: answered at endline.
    item_ok = in_sample & ~np.isnan(h_untreated[:, 0])
    item_treated, item_untreated = h_treated[item_ok, 0], h_untreated[item_ok, 0]
    item_latent = H_LOADINGS[0] * _latent_effect(design, people, "horizontal")[item_ok] / d.ITEM_NOISE_SD
    return {
        "h7c_trust_item_ordinal": float(np.mean(item_treated >= 4) - np.mean(item_untreated >= 4)),
        "h7c_category_change": {str(k): float(np.mean(item_treated == k) - np.mean(item_untreated == k))
                                for k in range(1, 6)},
        "h7c_latent_effect": float(item_latent.mean()),
        "h1_horizontal_trust": float(h_effect[h_ok].mean()),
        "h2_vertical_trust": float(v_effect[v_ok].mean()),
        "h3_knowledge_gain": after / before - 1.0,
        "h6_horizontal_trust_by_sex": h1_female - h1_male,
        "h1_female": h1_female,
        "h1_male": h1_male,
        "h1_by_cso": {cid: float(h_effect[h_ok & (cso == k)].mean()) for k, cid in enumerate(d.CSO_IDS)},
        # h11: each treated community's sample ATT (the exposure-response truth regresses these on the dose)
        "h1_by_community": {cid: float(h_effect[h_ok & (people.community == k)].mean())
                            for k, cid in enumerate(d.COMMUNITY_IDS) if design.community_treated[k] == 1},
        "h2_by_cso": {cid: float(v_effect[v_ok & (cso == k)].mean()) for k, cid in enumerate(d.CSO_IDS)},
        "knowledge_expected_score": {"baseline": before, "endline": after},
        "attrition_rate_realized": {
            "treated": float(1.0 - stays[treated_people].mean()),
            "comparison": float(1.0 - stays[~treated_people].mean()),
        },
        "participant_share_realized": {
            "treated": float(people.participant[treated_people].mean()),
            "comparison": float(people.participant[~treated_people].mean()),
        },
        # The same effects on the 1-5 mean index (h7a, h7b register method: mean).
        "h1_mean_scale": float(h_mean_effect[h_ok].mean()),
        "h1_by_cso_mean_scale": {cid: float(h_mean_effect[h_ok & (cso == k)].mean())
                                 for k, cid in enumerate(d.CSO_IDS)},
        "h2_mean_scale": float((_index(v_treated) - _index(v_untreated))[v_ok].mean()),
        "klk_index_sd": {"horizontal": h_scale.index_sd, "vertical": v_scale.index_sd},
    }
