"""Enforcement powers as items, planned from the parameters (no model needed).

With ``powers.items`` each domain has ``items_per_domain`` items (penalty powers,
行政处罚事项), ranked by how often cases need them: rank ``k`` (from 1) has weight
``k^-concentration``. A town squad holds the first ``devolved_share`` of each devolved
domain's items — a town takes the powers it needs most first (003: 按需选择; Suqian gave
基层亟需、简单实用 items first) — and the county line team of the domain keeps the rest,
and takes back what towns hand back (:mod:`sim.core.mechanisms.powers`). These functions
give the items' weights, how many a town holds, and the share of a domain's cases the
county keeps, which the staff split (:mod:`sim.core.units`) reads.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import poisson

from sim.core.params import Params


def item_weights(p: Params) -> np.ndarray:
    """Probabilities that a case of a domain needs each of its items, in rank order."""
    w = np.arange(1, p.powers.items_per_domain + 1, dtype=float) ** -p.powers.concentration
    return w / w.sum()


def held_count(p: Params) -> int:
    """Items of each devolved domain a town squad holds at the start (the most used)."""
    return round(p.powers.devolved_share * p.powers.items_per_domain)


def county_share(p: Params, cases_per_day: float) -> float:
    """Expected share of a devolved domain's enforcement cases whose item the county line
    team keeps once the towns' trial period is over: the items towns do not take and,
    with a review (``review_days``), those a town squad with ``cases_per_day`` cases of
    the domain hands back — an item goes back at a review when it was used fewer than
    ``min_uses`` times since the last one (uses Poisson), and a returned item stays with
    the county, so over ``review_rounds`` reviews it goes back with probability
    ``1 - (1 - P(uses < min_uses))^review_rounds``. The failure rule
    (``max_failure_share``) is not anticipated."""
    w = item_weights(p)
    kept = (np.arange(w.size) < held_count(p)).astype(float)
    pw = p.powers
    if pw.review_days:
        short = poisson.cdf(pw.min_uses - 1, cases_per_day * w * pw.review_days)
        kept *= (1.0 - short) ** pw.review_rounds
    return float(1.0 - (w * kept).sum())


__all__ = ["county_share", "held_count", "item_weights"]
