"""The process's memory allocator, tuned for runs that make many large temporary arrays.

glibc's ``malloc`` serves a large request (over 128 KB at first, up to 32 MB as it
adapts) by a fresh ``mmap`` and gives it back to the kernel when freed; it also returns
the top of its heap past a trim threshold. Every such array then costs the kernel's
zeroing of fresh pages on first touch, which on a virtual machine can cost more than the
numpy operation that fills it (about 6 ms per 20 MB array measured on this project's
2-core machine, ``benchmarks/allocator.py``). :func:`keep_freed_memory` makes ``malloc``
serve large requests from its heap and keep what is freed there, so the next run's (or
the next day's) arrays reuse pages already touched. The price is that the process's
resident size does not shrink after a run; it is reused by the next one.

Nothing is changed where the C library is not glibc (``mallopt`` absent).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameters (malloc.h)."""
MMAP_THRESHOLD = 1 << 30
"""Requests below this come from the heap (glibc adapts its own threshold up to 32 MB
only; a county's columns are larger)."""
TRIM_THRESHOLD = 1 << 32
"""Free memory at the heap's top kept before any is returned to the kernel."""


@cache
def keep_freed_memory() -> bool:
    """Tune glibc's ``malloc`` to keep and reuse freed memory (once per process);
    whether it was tuned."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
