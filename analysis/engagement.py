"""Engagement outcomes for the demo study, computed per page-day row.

Days without posts have no engagement per post (missing, not zero): dividing by zero posts would invent data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def engagement_per_post(df: pd.DataFrame) -> pd.Series:
    """(reactions + comments + shares) / posts, missing on days with no posts."""
    posts = pd.to_numeric(df["posts"]).astype("float64")
    interactions = sum(pd.to_numeric(df[c]).astype("float64") for c in ("reactions", "comments", "shares"))
    return (interactions / posts.where(posts > 0, np.nan)).rename("engagement_per_post")


def hostile_comment_share(df: pd.DataFrame) -> pd.Series:
    """hostile_comments / comments, missing on days with no comments."""
    comments = pd.to_numeric(df["comments"]).astype("float64")
    hostile = pd.to_numeric(df["hostile_comments"]).astype("float64")
    return (hostile / comments.where(comments > 0, np.nan)).rename("hostile_comment_share")
