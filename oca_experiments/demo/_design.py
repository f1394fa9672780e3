"""Fixed layout and parameters of the demo study, plus the few design choices drawn from the seed.

Everything that is the same for every seed (sites, districts, community ids, effect sizes, calendar) is a
module constant; what a real study would randomise or would learn only in the field (which communities are
treated, each CSO's effect and campaign start) is drawn once in :func:`draw_design`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SITES: tuple[str, ...] = ("Alamedin", "Sokuluk", "Osh", "Uzgen", "Jalal-Abad", "Batken", "Razzakov")
#: (site, district), two districts per site, site-major.
DISTRICTS: tuple[tuple[str, str], ...] = tuple(
    (site, f"{site}-{half}") for site in SITES for half in ("North", "South")
)

N_CSOS = 6
COMMUNITIES_PER_CSO = 4
TREATED_PER_CSO = 2
N_COMMUNITIES = N_CSOS * COMMUNITIES_PER_CSO
CSO_IDS: tuple[str, ...] = tuple(f"CSO{k}" for k in range(1, N_CSOS + 1))
COMMUNITY_IDS: tuple[str, ...] = tuple(f"C{k:02d}" for k in range(1, N_COMMUNITIES + 1))
#: Community i lives in district i * 14 // 24: neighbouring communities share a district, every district is used.
COMMUNITY_DISTRICT: tuple[int, ...] = tuple(i * len(DISTRICTS) // N_COMMUNITIES for i in range(N_COMMUNITIES))
COMMUNITY_CSO: tuple[int, ...] = tuple(i // COMMUNITIES_PER_CSO for i in range(N_COMMUNITIES))

# Calendar (no wall-clock time anywhere: every date is fixed here).
BASELINE_FIELDWORK_START = np.datetime64("2026-02-02")
ENDLINE_FIELDWORK_START = np.datetime64("2026-10-05")
FIELDWORK_SPAN_DAYS = 24  # community start dates are spread over this many days
ENGAGEMENT_START = np.datetime64("2026-03-01")
ENGAGEMENT_DAYS = 180
#: Campaign starts sit near this grid (days after ENGAGEMENT_START), shuffled over CSOs and jittered by ±3 days.
CAMPAIGN_START_GRID: tuple[int, ...] = (45, 60, 75, 90, 105, 120)

# Survey.
MIN_RESPONDENTS = 2 * N_COMMUNITIES
ATTRITION_RATE = {"treated": 0.10, "comparison": 0.14}
ITEM_NONRESPONSE_RATE = 0.02
ICC_LATENT = 0.05
#: Variances of latent trust: community + respondent + respondent-wave noise = 1, so ICC = community share.
COMMUNITY_VARIANCE = ICC_LATENT
RESPONDENT_VARIANCE = 0.60
RESPONDENT_WAVE_VARIANCE = 1.0 - ICC_LATENT - RESPONDENT_VARIANCE
COMMUNITY_WAVE_SHOCK_SD = 0.06
ITEM_NOISE_SD = 0.75
#: Horizontal and vertical trust of one person are related, but far from identical.
TRUST_DIMENSION_CORRELATION = 0.4
#: Latent treatment effect on horizontal trust at endline, before the CSO factor and the participant boost.
HORIZONTAL_EFFECT_FEMALE = 0.345
HORIZONTAL_EFFECT_MALE = 0.175
VERTICAL_EFFECT = 0.145
#: Training participants in treated communities are reached twice (training and campaign).
PARTICIPANT_EFFECT_BOOST = 0.5
CSO_EFFECT_SD = 0.12
TIME_TREND = {"horizontal": 0.05, "vertical": -0.05}

# Knowledge test (2PL items; ability ~ N(0, 1) among participants).
KNOWLEDGE_DISCRIMINATION: tuple[float, ...] = (1.2, 0.9, 1.4, 1.0, 1.1, 0.8, 1.3, 1.0, 1.2, 0.9)
KNOWLEDGE_DIFFICULTY: tuple[float, ...] = (-1.22, -0.82, -0.52, -0.12, 0.18, 0.43, 0.68, 0.98, 1.38, 1.88)
#: Shift of participants' ability after training, in logit units.
KNOWLEDGE_TRAINING_GAIN = 1.08

# Engagement.
POSTS_LIFT_DURING_CAMPAIGN = 1.25
ENGAGEMENT_LIFT = 1.35
ENGAGEMENT_LIFT_SD = 0.06
HOSTILE_SHARE_RATIO = 0.67  # about 12% -> 8% of comments
HOSTILE_SHARE_RATIO_SD = 0.06


@dataclass(frozen=True)
class Design:
    """Seed-dependent design: assignment and CSO-level parameters."""

    community_treated: np.ndarray  # (24,) 0/1
    cso_effect_factor: np.ndarray  # (6,) multiplies the latent survey effects
    campaign_start_day: np.ndarray  # (6,) days after ENGAGEMENT_START
    engagement_lift: np.ndarray  # (6,) multiplicative lift in interactions per post
    hostile_share_ratio: np.ndarray  # (6,) multiplicative change in the hostile share of comments


def draw_design(rng: np.random.Generator) -> Design:
    treated = np.zeros(N_COMMUNITIES, dtype=np.int64)
    for block in range(N_CSOS):
        # Randomise within each CSO block: 2 of its 4 communities are treated.
        picks = rng.permutation(COMMUNITIES_PER_CSO)[:TREATED_PER_CSO]
        treated[block * COMMUNITIES_PER_CSO + picks] = 1
    # Centred on 1 so that CSOs differ while the average effect stays at its target for every seed.
    cso_deviation = rng.normal(0.0, CSO_EFFECT_SD, N_CSOS)
    cso_effect_factor = np.clip(1.0 + cso_deviation - cso_deviation.mean(), 0.6, 1.4)
    campaign_start_day = rng.permutation(np.array(CAMPAIGN_START_GRID)) + rng.integers(-3, 4, N_CSOS)
    engagement_lift = ENGAGEMENT_LIFT * np.exp(rng.normal(0.0, ENGAGEMENT_LIFT_SD, N_CSOS))
    hostile_share_ratio = HOSTILE_SHARE_RATIO * np.exp(rng.normal(0.0, HOSTILE_SHARE_RATIO_SD, N_CSOS))
    return Design(treated, cso_effect_factor, campaign_start_day, engagement_lift, hostile_share_ratio)


def iso_date(day: np.datetime64) -> str:
    return str(np.datetime64(day, "D"))
