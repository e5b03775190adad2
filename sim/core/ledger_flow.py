"""The ledger's transitions of the case flow, compiled (numba): one case at a time.

These are the edges of :data:`sim.core.ledger.TRANSITIONS` that the case flow takes
(:mod:`sim.core.mechanisms.flow`), and discovery's ``find``
(:mod:`sim.core.mechanisms.discovery`), written over the ledger's columns as :data:`sim.core.ledger.Cases`
(``C``); with :mod:`sim.core.ledger` they are the only code that writes a case's
``stage``, ``next_t``, ``closed`` and ``drop_reason``. Each records its edge in
``C.trace``, which the ledger adds to its trace (:meth:`sim.core.ledger.Ledger.absorb_trace`).
The announcements (``resolved``, ``dropped``) are the flow's: it logs them and emits
them through the world's hooks after the day's flow.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit, prefetch
from sim.core.ledger import TRANSITIONS, Outcome, Stage

_CODE = {name: k for k, name in enumerate(TRANSITIONS)}
FIND, SEND, QUEUE, REDISPATCH = _CODE["find"], _CODE["send"], _CODE["queue"], _CODE["redispatch"]
RESOLVE, VERIFY_UNTIL, REOPEN, DROP = _CODE["resolve"], _CODE["verify_until"], _CODE["reopen"], _CODE["drop"]
TRANSIT, QUEUED, DISPATCH = int(Stage.TRANSIT), int(Stage.QUEUED), int(Stage.DISPATCH)
CLOSING, DROPPED = int(Stage.CLOSING), int(Stage.DROPPED)
WORK = int(Outcome.WORK)
EV_STARTED, EV_BOUNCED, EV_RESOLVED, EV_DROPPED, EV_BOOKED = 0, 1, 2, 3, 4
"""The flow's log codes (:func:`announce`): the hooks ``work_started``, ``bounced``,
``resolved`` and ``dropped``, and a job booked (for diagnostics)."""


@njit(cache=True, inline="always")
def warm(C, i):  # type: ignore[no-untyped-def,unused-ignore]
    """Prefetch case ``i``'s row of the columns the case flow reads at its events
    (:func:`sim.core.jit.prefetch`): a hint, which changes nothing. A case the flow meets
    again after days has its rows out of the caches, one memory access a column, and
    the flow's rules read them one after the other; warmed a few cases ahead, the rows
    arrive while the flow works on earlier cases."""
    prefetch(C.stage, i)
    prefetch(C.next_t, i)
    prefetch(C.unit, i)
    prefetch(C.outcome, i)
    prefetch(C.level, i)
    prefetch(C.level0, i)
    prefetch(C.grid, i)
    prefetch(C.category, i)
    prefetch(C.grow1, i)
    prefetch(C.grow2, i)
    prefetch(C.grow3, i)
    prefetch(C.discovered, i)
    prefetch(C.started, i)
    prefetch(C.dispatched, i)
    prefetch(C.route_len, i)
    prefetch(C.route_pos, i)
    prefetch(C.at_layer, i)
    prefetch(C.reopened, i)
    prefetch(C.triaged, i)
    prefetch(C.draws, i)
    prefetch(C.route, i)


@njit(cache=True, inline="always")
def _move(C, code, i, to):  # type: ignore[no-untyped-def,unused-ignore]
    C.trace[code, C.stage[i] + 1, to + 1] = True
    C.stage[i] = to


@njit(cache=True, inline="always")
def find(C, i, t, channel, layer):  # type: ignore[no-untyped-def,unused-ignore]
    """Discovered at ``t`` through ``channel``; the report enters the hierarchy at ``layer``
    and awaits dispatch."""
    C.discovered[i], C.channel[i] = t, channel
    _move(C, FIND, i, DISPATCH)
    C.next_t[i], C.at_layer[i] = t, layer


@njit(cache=True, inline="always")
def send(C, i, unit, arrive, outcome):  # type: ignore[no-untyped-def,unused-ignore]
    """On the way to ``unit``, arriving at ``arrive``, where it will get ``outcome``."""
    C.unit[i], C.next_t[i] = unit, arrive
    _move(C, SEND, i, TRANSIT)
    C.outcome[i] = outcome


@njit(cache=True, inline="always")
def queue(C, i, finish):  # type: ignore[no-untyped-def,unused-ignore]
    """Booked at its unit; the (last) job finishes at ``finish``."""
    _move(C, QUEUE, i, QUEUED)
    C.next_t[i] = finish


@njit(cache=True, inline="always")
def redispatch(C, i, t, triaged):  # type: ignore[no-untyped-def,unused-ignore]
    """Back to dispatch at ``t`` (after triage, a bounce or an escalation)."""
    _move(C, REDISPATCH, i, DISPATCH)
    C.next_t[i], C.triaged[i] = t, triaged


@njit(cache=True, inline="always")
def resolve(C, i, t, unit, tier):  # type: ignore[no-untyped-def,unused-ignore]
    """Resolved at ``t`` by ``unit`` of ``tier``; awaits verification."""
    C.resolved[i], C.resolver[i], C.tier[i] = t, unit, tier
    _move(C, RESOLVE, i, CLOSING)
    C.next_t[i] = t


@njit(cache=True, inline="always")
def verify_until(C, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """A resolved case whose verification ends at ``t``."""
    _move(C, VERIFY_UNTIL, i, CLOSING)
    C.next_t[i] = t


@njit(cache=True, inline="always")
def reopen(C, i, arrive):  # type: ignore[no-untyped-def,unused-ignore]
    """A resolution found poor on verification: back to the unit that resolved it,
    arriving at ``arrive``, to be worked again (its last unit only); no longer resolved."""
    C.unit[i], C.next_t[i], C.resolved[i] = C.resolver[i], arrive, np.nan
    _move(C, REOPEN, i, TRANSIT)
    C.outcome[i], C.reopened[i] = WORK, C.reopened[i] + 1
    C.route[i, 0], C.route_len[i], C.route_pos[i] = C.resolver[i], 1, 0


@njit(cache=True, inline="always")
def drop(C, i, t, reason):  # type: ignore[no-untyped-def,unused-ignore]
    """Dropped at ``t`` for ``reason``: no one will handle it."""
    _move(C, DROP, i, DROPPED)
    C.drop_reason[i], C.closed[i] = reason, t


@njit(cache=True, inline="always")
def count_escalations(C, i, n):  # type: ignore[no-untyped-def,unused-ignore]
    """Add ``n`` upward hand-offs to the case (the one place escalations are counted). The
    case's count is written only when ``n`` is not 0: most dispatches climb no layer, and
    the count's row is seldom in the caches (the flow does not warm it)."""
    if n != 0:
        C.escalations[i] += n


@njit(cache=True, inline="always")
def level_at(C, max_level, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """The case's level at ``t``: frozen once a unit able to handle it took it, else its
    initial level plus the growth steps passed by ``t``, capped at its category's max."""
    if C.level[i] >= 0:
        return C.level[i]
    return grown_level(C.level0[i], C.grow1[i], C.grow2[i], C.grow3[i], max_level[C.category[i]], t)


@njit(cache=True, inline="always")
def grown_level(level0, grow1, grow2, grow3, cap, t):  # type: ignore[no-untyped-def,unused-ignore]
    """The level at ``t`` of a case no unit has taken: ``level0`` plus the growth steps
    (at ``grow1..3``) passed by ``t``, at most ``cap``."""
    return min(level0 + (grow1 <= t) + (grow2 <= t) + (grow3 <= t), cap)


@njit(cache=True, inline="always")
def announce(F, code, i, unit, t, aux):  # type: ignore[no-untyped-def,unused-ignore]
    """Log an event of case ``i`` in ``F.buf`` for the flow to emit after the day:
    ``(code, case, unit, time, aux)``, ``code`` one of the ``EV_`` codes; nothing when no
    one listens to that code (``F.s.logged``, :data:`sim.core.mechanisms.flow.LOGGED`)."""
    if not F.s.logged[code]:
        return
    B = F.buf
    k = B.counts[1]
    B.code[k], B.case[k], B.unit[k], B.t[k], B.aux[k] = code, i, unit, t, aux
    B.counts[1] = k + 1
