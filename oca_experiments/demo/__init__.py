"""Seeded generator of the embedded demo study: UNDP Accelerator Lab Kyrgyzstan's Online Community Accelerator.

Six civil-society organisations (CSO1..CSO6) are trained and each runs one online social-cohesion campaign,
with staggered start dates (days ~45..120 of the engagement window). The study has three sources and a truth:

Survey (``survey.csv``, one row per respondent x wave)
    Seven sites (Alamedin, Sokuluk, Osh, Uzgen, Jalal-Abad, Batken, Razzakov) with two districts each
    ("<Site>-North"/"<Site>-South", 14 districts). Each CSO block has 4 communities, 2 randomly treated and 2
    comparison, so 24 communities C01..C24; the community is the cluster. About 50 respondents per community
    (1200 by default) are interviewed at baseline (February 2026) and endline (October 2026); about 12% drop out
    at endline, 10% in treated and 14% in comparison communities, independently of their answers. Attriters
    have only a baseline row.

    Respondents have sex, age band, role (more youth activists among the young, religious leaders almost all
    men) and ``participant`` (took the CSO training: about 30% in treated communities by role, 1% in comparison
    communities). ``respondent_id``, ``phone`` (fake ``+996 7xx xxx xxx``) and ``comment`` (mostly empty, some
    Russian or Kyrgyz sentences) are the sensitive columns.

    Latent horizontal and vertical trust combine a respondent effect, a community effect (ICC 0.05 on the
    latent scale), small community x wave shocks, a common time trend and, at endline in treated communities,
    the campaign effect: larger for women than men on horizontal trust, 1.5x for training participants, scaled
    by a per-CSO factor. Items h_trust_1..4 and v_trust_* are 1-5 answers obtained by thresholding noisy latent
    item responses; h_trust_3 is worded negatively (stored as 6 - answer). About 2% of Likert answers are
    missing at random. Participants take a 10-item knowledge test (2PL items of varying difficulty) at both
    waves; training shifts their ability so that the mean score rises from ~4.5 to ~6.5 of 10.

Engagement (``engagement.csv``, one row per page x day, 2026-03-01..2026-08-27)
    Pages P01..P06 are the CSO pages (treated, with ``campaign_start``), P07..P12 comparison pages of the same
    blocks. Counts are overdispersed (gamma-Poisson) with page baselines, weekday effects, a summer dip, slow
    growth and followers that grow slowly. From a CSO's campaign start, its page posts more, interactions per
    post rise about 1.35-fold and the hostile share of comments falls from about 12% to about 8%.

Communities of practice (``community.csv``, one row per community x month, 2022-09..2026-08)
    Eight online communities of practice CP01..CP08, summarised monthly: members, posts, active members,
    discussions and the mean scheduled power-outage hours per day in the community's region (a regressor that
    moves with the winter but differently every year). CP01..CP03 get the Accelerator's facilitation campaign from
    2025-09, 2025-11 and 2026-01 (posts about 1.3-fold); the other five are comparison communities. Posts carry a
    month-of-year pattern, month-level shocks shared by all communities and overdispersed noise. Drawn from a
    fourth, separate child stream of the seed, so the survey and engagement files are those of before it existed.

Truth (``truth.json``)
    ``{"seed", "hypotheses", "definitions", "extras"}``: the true value of each preregistered hypothesis (see
    ``definitions`` in the file for each estimand and its scale), computed from potential outcomes with common
    random numbers (h1, h2, h6: sample ATTs on the observed 1-5 index; h9: on monthly posts) or from the
    generating expected values and probabilities (h3, h4, h5); extras hold per-CSO effects and the design
    parameters.

Everything is drawn from ``numpy.random.default_rng(seed)``; there is no wall-clock time, so the same seed
gives byte-identical files.
"""

from oca_experiments.demo._generator import DEFAULT_SEED, DemoData, DemoFiles, generate_demo, simulate_demo

__all__ = ["DEFAULT_SEED", "DemoData", "DemoFiles", "generate_demo", "simulate_demo"]
