"""One seed, named streams.

Every random draw comes from a stream named after the mechanism that uses it. A stream
is ``numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(crc32(name),))))``, so it
depends only on the run's seed and the stream's name: scenarios that share a context
draw identical issues from the ``occurrence`` stream (common random numbers), whatever
else they switch on. ``crc32`` is stable across processes, unlike ``hash()``.

Arrivals that do not depend on the run's state (issues, service requests) are drawn
:data:`BLOCK_DAYS` days at a time, whatever the scenario, and taken day by day.
"""

from __future__ import annotations

import zlib

import numpy as np

FLOW_STREAMS = ("dispatch", "handling", "verification", "assessment", "enforcement", "powers", "quality")
"""The compiled case flow's streams (:mod:`sim.core.draws`), in the order of their keys
and of the ledger's ``draws`` columns."""

BLOCK_DAYS = 28
"""Days of arrivals drawn from a stream at once."""


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of the stream ``name`` for the run seeded with ``seed``."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(name.encode("utf-8")),))
    return np.random.Generator(np.random.PCG64(ss))


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Seeds of ``replications`` runs spawned from ``root_seed`` (shared across scenarios)."""
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
