"""Monthly summaries of the Accelerator's online communities of practice, and the true effect of the facilitation
campaign on posts (h9).

Eight communities of practice (CP01..CP08, one per site and one more in Osh) are summarised monthly from
2022-09 to 2026-08 (48 months). Three of them (CP01..CP03) get the Accelerator's facilitation campaign (a trained
facilitator posts weekly prompts and runs monthly discussions) from 2025-09, 2025-11 and 2026-01; the others are
comparison communities. Per community c and month t::

    log mu_ct    = log base_c + season[month of year] + common_t + beta * outage_hours_ct
    posts        ~ Poisson(mu_ct * lift_ct * shock_ct)   shock ~ Gamma(mean 1); lift = campaign lift from the start on
    discussions  ~ Poisson(posts * discussion_ratio_c * lift_discussions)
    members      = start members + cumulative joins - leaves        joins ~ Poisson(join rate * season * lift)
    active       ~ Binomial(members, active_share_c * exp(season + common + beta * outage) * lift_active)

``common_t`` is a month-level shock shared by all communities (the comparison communities' mean tracks it);
``outage_hours_ct`` is the mean scheduled power-outage hours per day in the community's region that month (the
utilities' published schedules): heavy in the 2023-24 and 2024-25 winters, lighter in the others, by region. It
moves with the winter, but differently every year and region, so a month-of-year seasonal cannot stand in for it:
a registered regressor. It is drawn independently of the campaign (exogenous).

The truth of h9 is the sample ATT over the campaign community-months, posts(1) - posts(0), both drawn with common
random numbers (the same rate shock and the same uniform through the Poisson quantile function): what "observed
minus counterfactual" estimates. ``expected_posts_per_month`` is the population version, mu_ct * (lift_c - 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import _design as d

COMMUNITY_COLUMNS: tuple[str, ...] = (
    "community_id", "site", "treated", "campaign_start", "month",
    "members", "posts", "active_members", "discussions", "outage_hours",
)
N_COP = 8
COP_IDS: tuple[str, ...] = tuple(f"CP{k:02d}" for k in range(1, N_COP + 1))
COP_SITE: tuple[str, ...] = (*d.SITES, "Osh")
FIRST_MONTH = np.datetime64("2022-09", "M")
N_MONTHS = 48
#: The campaign communities and their first campaign month.
CAMPAIGN_START: dict[str, np.datetime64] = {"CP01": np.datetime64("2025-09", "M"),
                                            "CP02": np.datetime64("2025-11", "M"),
                                            "CP03": np.datetime64("2026-01", "M")}
POSTS_LIFT = 1.30
POSTS_LIFT_SD = 0.05
DISCUSSIONS_LIFT = 1.40
ACTIVE_LIFT = 1.20
JOINS_LIFT = 1.50
#: log posts per outage hour per day: six hours a day without power cut posts by about a quarter.
OUTAGE_EFFECT = -0.05
#: Month-of-year pattern of activity (log scale, January..December): a summer lull (harvest, migration, holidays)
#: and a September return.
SEASON = np.array([-0.06, 0.00, 0.06, 0.05, 0.02, -0.06, -0.16, -0.14, 0.12, 0.10, 0.06, 0.01])
#: Month-level shocks shared by every community (national news, holidays that move): the comparison mean tracks them.
COMMON_SHOCK_SD = 0.04
POSTS_DISPERSION_SHAPE = 150.0  # gamma shape of the month-level posting rate
#: Winter outage intensity (hours per day) by month of year, times a factor per winter (Sep..Aug years) and region.
OUTAGE_BY_MONTH = np.array([4.0, 3.5, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.0, 3.5])
OUTAGE_BY_WINTER = (0.3, 1.0, 0.8, 0.4)  # winters starting 2022, 2023, 2024, 2025


@dataclass(frozen=True)
class CommunitySimulation:
    frame: pd.DataFrame
    truth: dict[str, Any]


def months() -> np.ndarray:
    return FIRST_MONTH + np.arange(N_MONTHS)


def simulate_community(rng: np.random.Generator) -> CommunitySimulation:
    calendar = months()
    month_of_year = calendar.astype(np.int64) % 12  # 0 = January (1970-01 is month 0)
    winter = (calendar - FIRST_MONTH).astype(np.int64) // 12  # Sep..Aug years from 2022-09
    starts = np.array([int((CAMPAIGN_START[c] - FIRST_MONTH).astype(np.int64)) if c in CAMPAIGN_START
                       else N_MONTHS for c in COP_IDS])
    active = np.arange(N_MONTHS)[None, :] >= starts[:, None]  # (communities, months)

    base = np.exp(rng.normal(np.log(110.0), 0.35, N_COP))
    region = rng.uniform(0.6, 1.4, N_COP)
    outage_noise = rng.gamma(8.0, 1.0 / 8.0, (N_COP, N_MONTHS))
    outage = np.round(OUTAGE_BY_MONTH[month_of_year][None, :] * np.asarray(OUTAGE_BY_WINTER)[winter][None, :]
                      * region[:, None] * outage_noise, 1)
    common = rng.normal(0.0, COMMON_SHOCK_SD, N_MONTHS)
    lift = POSTS_LIFT * np.exp(rng.normal(0.0, POSTS_LIFT_SD, N_COP))
    log_mu = (np.log(base)[:, None] + SEASON[month_of_year][None, :] + common[None, :] + OUTAGE_EFFECT * outage)
    mu = np.exp(log_mu)
    lift_ct = np.where(active, lift[:, None], 1.0)
    # Both potential outcomes from the same rate shock and the same uniform through the Poisson quantile function
    # (common random numbers), so that posts(1) - posts(0) is the campaign's effect on this community-month.
    shock = rng.gamma(POSTS_DISPERSION_SHAPE, 1.0 / POSTS_DISPERSION_SHAPE, mu.shape)
    uniform = rng.uniform(size=mu.shape)
    posts = stats.poisson.ppf(uniform, mu * lift_ct * shock).astype(np.int64)
    posts_untreated = stats.poisson.ppf(uniform, mu * shock).astype(np.int64)

    discussion_ratio = rng.uniform(0.10, 0.18, N_COP)
    discussions = rng.poisson(posts * discussion_ratio[:, None] * np.where(active, DISCUSSIONS_LIFT, 1.0))
    start_members = np.round(np.exp(rng.normal(np.log(600.0), 0.4, N_COP)))
    joins = rng.poisson(start_members[:, None] * 0.03 * np.exp(SEASON[month_of_year])[None, :]
                        * np.where(active, JOINS_LIFT, 1.0))
    leaves = rng.poisson(start_members[:, None] * 0.012, (N_COP, N_MONTHS))
    members = np.maximum(start_members[:, None] + np.cumsum(joins - leaves, axis=1), 1).astype(np.int64)
    active_share = rng.uniform(0.20, 0.35, N_COP)
    p_active = np.clip(active_share[:, None] * np.exp(log_mu - np.log(base)[:, None])
                       * np.where(active, ACTIVE_LIFT, 1.0), 0.0, 0.95)
    active_members = rng.binomial(members, p_active)

    frame = _frame(calendar, starts, members, posts, active_members, discussions, outage)
    effect = (posts - posts_untreated).astype(np.float64)
    expected = mu * (lift_ct - 1.0)
    by_campaign = {c: {"posts_per_month": float(effect[i][active[i]].mean()),
                       "expected_posts_per_month": float(expected[i][active[i]].mean()),
                       "posts_lift": float(lift[i]),
                       "n_campaign_months": int(active[i].sum()),
                       "untreated_posts_per_month": float(mu[i][active[i]].mean())}
                   for i, c in enumerate(COP_IDS) if c in CAMPAIGN_START}
    truth = {"h9_community_monthly": float(effect[active].mean()),
             "expected_posts_per_month": float(expected[active].mean()),
             "untreated_posts_per_month": float(mu[active].mean()),
             "posts_lift_realized": float((mu * lift_ct)[active].sum() / mu[active].sum()),
             "by_campaign": by_campaign}
    return CommunitySimulation(frame, truth)


def _frame(calendar: np.ndarray, starts: np.ndarray, *values: np.ndarray) -> pd.DataFrame:
    cop = np.repeat(np.arange(N_COP), N_MONTHS)
    first_day = np.datetime_as_string(calendar.astype("datetime64[D]"), unit="D")
    start_day = np.array([first_day[s] if s < N_MONTHS else None for s in starts], dtype=object)
    columns: dict[str, Any] = {
        "community_id": np.array(COP_IDS)[cop],
        "site": np.array(COP_SITE)[cop],
        "treated": (starts < N_MONTHS).astype(np.int64)[cop],
        "campaign_start": pd.array(start_day[cop], dtype="str"),
        "month": np.tile(first_day, N_COP),
    }
    for name, array in zip(COMMUNITY_COLUMNS[5:9], values[:4], strict=True):
        columns[name] = array.reshape(-1).astype(np.int64)
    columns["outage_hours"] = values[4].reshape(-1).astype(np.float64)
    frame = pd.DataFrame(columns)
    for name in ("community_id", "site", "month"):
        frame[name] = frame[name].astype("str")
    return frame[list(COMMUNITY_COLUMNS)]
