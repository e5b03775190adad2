"""Counter-based random draws for the compiled case flow (numba).

A draw is a hash of the stream's key, the case and the case's own counter of that
stream's draws (the ledger's ``draws[case, stream]``):
``SplitMix64(SplitMix64(key ^ case) + counter)``. So a case's draws depend neither on the
order in which the flow meets cases nor on how many other cases drew before it, nor on
the draws of other streams: the same case draws the same numbers in any scenario that
takes it through the same steps (common random numbers, case by case), and a run gives
the same results however its events are interleaved. The keys (:func:`stream_keys`)
come from the run's named streams (:func:`sim.core.rng.stream`), so they depend only on
the seed and the stream's name.

SplitMix64 is the seeding generator of the xoshiro family (Steele, Lea & Flood 2014);
two rounds of its finaliser over a (key, case, counter) input pass the usual
statistical batteries for this use (each input is hashed, not stepped).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit
from sim.core.rng import FLOW_STREAMS as STREAMS
from sim.core.rng import stream

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53


RNG_DISPATCH, RNG_HANDLING, RNG_VERIFICATION, RNG_ASSESSMENT, RNG_ENFORCEMENT, RNG_POWERS, RNG_QUALITY = (
    range(len(STREAMS))
)


def stream_keys(seed: int) -> np.ndarray:
    """The keys of :data:`STREAMS` for the run seeded with ``seed``."""
    return np.array([stream(seed, n).integers(0, 2**63, dtype=np.int64) for n in STREAMS], dtype=np.uint64)


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = z + _GAMMA
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(keys: np.ndarray, draws: np.ndarray, s: int, case: int) -> float:
    """A uniform draw in [0, 1) of stream ``s`` for ``case`` (advances ``draws[case, s]``)."""
    return uniform_at(keys, s, case, take(draws, s, case))


@njit(cache=True, inline="always")
def take(draws: np.ndarray, s: int, case: int) -> int:
    """Take ``case``'s next draw of stream ``s`` without computing it: its number (advances
    ``draws[case, s]``), for :func:`uniform_at` or :func:`exponential_at` later, when a
    rule needs the value only on some of its branches."""
    n = draws[case, s]
    draws[case, s] = n + 1
    return n


@njit(cache=True, inline="always")
def uniform_at(keys: np.ndarray, s: int, case: int, n: int) -> float:
    """The ``n``-th uniform draw of stream ``s`` for ``case`` (changes no counter)."""
    z = _mix(_mix(keys[s] ^ np.uint64(case)) + np.uint64(n))
    return float(z >> _S11) * _UNIT


@njit(cache=True, inline="always")
def exponential(keys: np.ndarray, draws: np.ndarray, s: int, case: int, scale: float) -> float:
    """An exponential draw of mean ``scale``."""
    return exponential_at(keys, s, case, take(draws, s, case), scale)


@njit(cache=True, inline="always")
def exponential_at(keys: np.ndarray, s: int, case: int, n: int, scale: float) -> float:
    """The exponential of mean ``scale`` from the ``n``-th draw of stream ``s`` for ``case``."""
    return -scale * np.log1p(-uniform_at(keys, s, case, n))


@njit(cache=True, inline="always")
def erlang(keys: np.ndarray, draws: np.ndarray, s: int, case: int, shape: int, scale: float) -> float:
    """A gamma draw of integer ``shape`` (a sum of ``shape`` exponentials of mean ``scale``)."""
    out = 0.0
    for _ in range(shape):
        out += exponential(keys, draws, s, case, scale)
    return out


@njit(cache=True, inline="always")
def lognormal(keys: np.ndarray, draws: np.ndarray, s: int, case: int, mu: float, sigma: float) -> float:
    """A lognormal draw: ``exp(mu + sigma·Z)``, Z standard normal (Box–Muller)."""
    u1 = 1.0 - uniform(keys, draws, s, case)
    u2 = uniform(keys, draws, s, case)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return np.exp(mu + sigma * z)
