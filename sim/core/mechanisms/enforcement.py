"""Enforcement: on-site disposal and follow-up.

A squad's first visit settles a case on the spot (现场处置, 000: 84.33% in Suzhou's
pilot towns) only when one squad holds every power the case needs — a comprehensive
squad with devolved powers, or a line team for a single-domain case — and then with
probability ``on_site_probability × exp(-(visit - discovery) / freshness_days)``: the
staler the case, the likelier the violator has gone or the building has gone up.
A case needing several line teams ("many big caps cannot manage one straw hat", 004)
is never settled at the first visit. A case not settled on site needs a follow-up
visit after an exponential ``follow_up_days`` (the formal procedure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.rng import stream

if TYPE_CHECKING:
    from sim.core.model import GovModel


class Enforcement:
    """Decides on-site disposal at a squad's first visit."""

    def __init__(self, model: GovModel) -> None:
        self.model = model
        self.rng = stream(model.seed, "enforcement")

    def first_visit(self, ids: np.ndarray, start: np.ndarray) -> None:
        """Record whether each case was settled on the spot at a first visit at ``start``."""
        if ids.size == 0:
            return
        L, cat = self.model.ledger, self.model.catalogue
        c = L.category[ids]
        p = cat.on_site[c] * np.exp(-(start - L.discovered[ids]) / cat.freshness[c])
        single = L.route_len[ids] == 1
        L.on_site[ids] = (single & (self.rng.random(ids.size) < p)).astype(np.int8)

    def follow_up_delay(self, n: int) -> np.ndarray:
        """Days until the follow-up visit of ``n`` cases."""
        return self.rng.exponential(self.model.params.enforcement.follow_up_days, n)
