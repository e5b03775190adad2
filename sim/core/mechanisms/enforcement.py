"""Enforcement: on-site disposal at a squad's first visit, and the follow-up visit.

A squad's first visit settles a case on the spot (现场处置, 000: 84.33% in Suzhou's
pilot towns) only when one squad holds every power the case needs — a comprehensive
squad with devolved powers, or a line team for a single-domain case — and then with
probability ``on_site_probability × exp(-(visit - discovery) / freshness_days)``: the
staler the case, the likelier the violator has gone or the building has gone up.
A case needing several line teams ("many big caps cannot manage one straw hat", 004)
is never settled at the first visit. A case not settled on site needs a follow-up
visit after an exponential ``follow_up_days`` (the formal procedure), worked by the
same squad (``follow_up_hours``), which then resolves it.
"""

from __future__ import annotations

import numpy as np

from sim.core.draws import RNG_ENFORCEMENT, exponential, uniform
from sim.core.jit import njit
from sim.core.kinds import Kind
from sim.core.ledger import Outcome
from sim.core.ledger_flow import send
from sim.core.mechanisms.powers import proficiency, record

ENFORCEMENT, FOLLOW_UP = int(Kind.ENFORCEMENT), int(Outcome.FOLLOW_UP)


@njit(cache=True, inline="always")
def first_visit(F, i, unit, start):  # type: ignore[no-untyped-def,unused-ignore]
    """Work on case ``i`` starts at ``unit`` at ``start``: at a squad's first visit, decide
    whether the case is settled on the spot (hook ``work_started``)."""
    C, K = F.cases, F.cat
    if F.units.kind[unit] != ENFORCEMENT or C.followed[i] or C.on_site[i] >= 0:
        return
    c = C.category[i]
    p = K.on_site[c] * np.exp(-(start - C.discovered[i]) / K.freshness[c])
    if F.s.powers_on:  # powers as items: only as far as the squad can use the item
        p *= proficiency(F, unit, C.item[i])
    single = C.route_len[i] == 1
    settled = uniform(F.keys, C.draws, RNG_ENFORCEMENT, i) < p and single
    C.on_site[i] = settled
    if F.s.powers_on:
        record(F, unit, C.item[i], single, settled)


@njit(cache=True, inline="always")
def follow_up(F, i, unit, t):  # type: ignore[no-untyped-def,unused-ignore]
    """A squad's work at ``t`` that did not settle case ``i`` on site: the follow-up visit is
    due after an exponential ``enforcement.follow_up_days``, at the same squad (hook
    ``work_done``)."""
    C = F.cases
    if F.units.kind[unit] != ENFORCEMENT or C.on_site[i] != 0 or C.followed[i]:
        return
    C.followed[i] = True
    send(C, i, unit, t + exponential(F.keys, C.draws, RNG_ENFORCEMENT, i, F.s.follow_up_days), FOLLOW_UP)
