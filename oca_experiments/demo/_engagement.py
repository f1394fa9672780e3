"""Daily page metrics of the six CSO campaign pages and six comparison pages, and their true effects (h4, h5).

Per page p and day t (Monday = weekday 0)::

    posts        ~ gamma-Poisson(base_posts_p * weekday_posts_t * campaign_posts_lift)
    rate_pt      = reactions_per_post_p * weekday_engagement_t * season_t * (1 + growth_p * t / 180)
    reactions    ~ Poisson(posts * rate_pt * lift * virality_pt)              virality ~ Gamma(mean 1)
    comments     ~ Poisson(posts * rate_pt * comment_ratio_p * lift * virality_pt)
    shares       ~ Poisson(posts * rate_pt * share_ratio_p * lift * virality_pt)
    hostile      ~ Binomial(comments, Beta(mean hostile_p * ratio))

``lift`` and ``ratio`` differ from 1 only on a CSO page from its campaign start on. Followers grow slowly and
never feed back into engagement, so the counterfactual without the campaign is the same formula with
lift = ratio = 1 and the true effects follow from the expected values directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _design as d

ENGAGEMENT_COLUMNS: tuple[str, ...] = (
    "page_id", "cso_id", "page_type", "treated", "campaign_start", "date",
    "posts", "reactions", "comments", "shares", "followers", "hostile_comments",
)
N_PAGES = 2 * d.N_CSOS
#: Monday..Sunday. Pages post less at weekends, but people have more time to react.
POSTS_BY_WEEKDAY = np.array([1.10, 1.10, 1.05, 1.05, 1.00, 0.75, 0.65])
ENGAGEMENT_BY_WEEKDAY = np.array([0.95, 0.95, 1.00, 1.00, 1.00, 1.08, 1.12])
POSTS_DISPERSION_SHAPE = 10.0  # gamma shape of the day-level posting rate (modest overdispersion)
VIRALITY_SHAPE = 5.0  # gamma shape (mean 1) of the page-day reach shock
HOSTILE_CONCENTRATION = 40.0  # beta concentration of the day-level hostile share
MAX_POSTS_PER_DAY = 12
SUMMER_DIP = 0.12  # engagement sags mid-summer (harvest, migration, holidays)


@dataclass(frozen=True)
class EngagementSimulation:
    frame: pd.DataFrame
    truth: dict[str, Any]


def simulate_engagement(rng: np.random.Generator, design: d.Design) -> EngagementSimulation:
    days = np.arange(d.ENGAGEMENT_DAYS)
    dates = d.ENGAGEMENT_START + days.astype("timedelta64[D]")
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    page_cso = np.tile(np.arange(d.N_CSOS), 2)
    is_cso_page = np.arange(N_PAGES) < d.N_CSOS
    campaign_day = np.where(is_cso_page, design.campaign_start_day[page_cso], d.ENGAGEMENT_DAYS + 1)
    active = days[None, :] >= campaign_day[:, None]  # (pages, days)

    base_posts = np.exp(rng.normal(np.log(2.2), 0.25, N_PAGES))
    reactions_per_post = np.exp(rng.normal(np.log(18.0), 0.4, N_PAGES))
    comment_ratio = rng.uniform(0.10, 0.16, N_PAGES)
    share_ratio = rng.uniform(0.05, 0.10, N_PAGES)
    growth = rng.uniform(0.0, 0.15, N_PAGES)
    hostile_share = rng.uniform(0.10, 0.14, N_PAGES)
    start_followers = np.round(np.exp(rng.normal(np.log(4000.0), 0.6, N_PAGES)))

    posts_mean = (base_posts[:, None] * POSTS_BY_WEEKDAY[weekday][None, :]
                  * np.where(active, d.POSTS_LIFT_DURING_CAMPAIGN, 1.0))
    posting_rate = posts_mean * rng.gamma(POSTS_DISPERSION_SHAPE, 1.0 / POSTS_DISPERSION_SHAPE, posts_mean.shape)
    posts = np.minimum(rng.poisson(posting_rate), MAX_POSTS_PER_DAY)

    season = 1.0 - SUMMER_DIP * np.sin(np.pi * days / (d.ENGAGEMENT_DAYS - 1))
    rate = (reactions_per_post[:, None] * ENGAGEMENT_BY_WEEKDAY[weekday][None, :] * season[None, :]
            * (1.0 + growth[:, None] * days[None, :] / d.ENGAGEMENT_DAYS))
    lift = np.where(active, design.engagement_lift[page_cso][:, None], 1.0)
    virality = rng.gamma(VIRALITY_SHAPE, 1.0 / VIRALITY_SHAPE, posts.shape)
    reach = posts * rate * lift * virality
    reactions = rng.poisson(reach)
    comments = rng.poisson(reach * comment_ratio[:, None])
    shares = rng.poisson(reach * share_ratio[:, None])

    untreated_hostile = np.broadcast_to(hostile_share[:, None], posts.shape)
    hostile_mean = untreated_hostile * np.where(active, design.hostile_share_ratio[page_cso][:, None], 1.0)
    hostile_day = rng.beta(hostile_mean * HOSTILE_CONCENTRATION, (1.0 - hostile_mean) * HOSTILE_CONCENTRATION)
    hostile = rng.binomial(comments, hostile_day)

    follows = rng.poisson(2.0 + 0.01 * (reactions + comments + shares))
    unfollows = rng.poisson(1.0, posts.shape)
    followers = np.maximum(start_followers[:, None] + np.cumsum(follows - unfollows, axis=1), 0)

    per_post_untreated = rate * (1.0 + comment_ratio + share_ratio)[:, None]
    frame = _build_frame(dates, page_cso, is_cso_page, campaign_day, posts, reactions, comments, shares,
                         followers, hostile)
    truth = _engagement_truth(active, posts, comments, page_cso, per_post_untreated, lift, untreated_hostile,
                              hostile_mean)
    return EngagementSimulation(frame, truth)


def _build_frame(dates: np.ndarray, page_cso: np.ndarray, is_cso_page: np.ndarray, campaign_day: np.ndarray,
                 *counts: np.ndarray) -> pd.DataFrame:
    n_days = dates.size
    page = np.repeat(np.arange(N_PAGES), n_days)
    campaign_start = np.array(
        [d.iso_date(d.ENGAGEMENT_START + np.timedelta64(int(day), "D")) if cso else None
         for day, cso in zip(campaign_day, is_cso_page, strict=True)], dtype=object)
    columns: dict[str, Any] = {
        "page_id": np.array([f"P{k:02d}" for k in range(1, N_PAGES + 1)])[page],
        "cso_id": np.array(d.CSO_IDS)[page_cso[page]],
        "page_type": np.where(is_cso_page[page], "cso", "comparison"),
        "treated": is_cso_page[page].astype(np.int64),
        "campaign_start": pd.array(campaign_start[page], dtype="str"),
        "date": np.tile(np.datetime_as_string(dates, unit="D"), N_PAGES),
    }
    for name, values in zip(ENGAGEMENT_COLUMNS[6:], counts, strict=True):
        columns[name] = values.reshape(-1).astype(np.int64)
    frame = pd.DataFrame(columns)
    for name in ("page_id", "cso_id", "page_type", "date"):
        frame[name] = frame[name].astype("str")
    return frame[list(ENGAGEMENT_COLUMNS)]


def _engagement_truth(active: np.ndarray, posts: np.ndarray, comments: np.ndarray, page_cso: np.ndarray,
                      per_post_untreated: np.ndarray, lift: np.ndarray, untreated_hostile: np.ndarray,
                      hostile_mean: np.ndarray) -> dict[str, Any]:
    """ATTs over treated post-start page-days on which the outcome exists (posts > 0, comments > 0)."""
    per_post_treated = per_post_untreated * lift
    with_posts = active & (posts > 0)
    with_comments = active & (comments > 0)
    per_post_effect = per_post_treated - per_post_untreated
    hostile_effect = hostile_mean - untreated_hostile
    cso_of_cell = np.broadcast_to(page_cso[:, None], active.shape)
    by_campaign = {
        cid: {
            "engagement_per_post": float(per_post_effect[with_posts & (cso_of_cell == k)].mean()),
            "engagement_lift": float(per_post_treated[with_posts & (cso_of_cell == k)].sum()
                                     / per_post_untreated[with_posts & (cso_of_cell == k)].sum()),
            "hostile_share": float(hostile_effect[with_comments & (cso_of_cell == k)].mean()),
            "n_page_days_with_posts": int((with_posts & (cso_of_cell == k)).sum()),
        }
        for k, cid in enumerate(d.CSO_IDS)
    }
    return {
        "h4_engagement_per_post": float(per_post_effect[with_posts].mean()),
        "h5_hostile_share": float(hostile_effect[with_comments].mean()),
        "engagement_lift": float(per_post_treated[with_posts].sum() / per_post_untreated[with_posts].sum()),
        "engagement_per_post_untreated": float(per_post_untreated[with_posts].mean()),
        "hostile_share_untreated": float(untreated_hostile[with_comments].mean()),
        "by_campaign": by_campaign,
    }
