"""Numba's on-disk caches for the compiled model, kept valid across modules and updates.

Numba keys a function's cache on its own source file only; the case flow's compiled
function (:func:`sim.core.mechanisms.flow.run_day`) inlines rules from a dozen modules,
so an edit to one of them would leave a stale compiled flow in the cache. Importing
this module makes every cached function of :mod:`sim.core` stamped by all of the core's
compiled sources together (each file's path, time and size): an edit anywhere in them
recompiles the lot on the next run (the kernels are cached with ``cache=True``; see
``benchmarks/cold_start.py`` for the cost of a cold start); an index that names a class
an update has since removed is read as stale, not an error. The core's modules take
``njit`` from here, so the locators are in place before any kernel is declared, and
importing a part of the core that compiles nothing loads no numba.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.core import caching, cgutils
from numba.extending import intrinsic

_ROOT = Path(__file__).parent
_SOURCES = sorted(str(p) for p in _ROOT.rglob("*.py") if "njit" in p.read_text(encoding="utf-8"))


def source_stamp() -> tuple[tuple[str, float, int], ...]:
    """The stamp of the core's compiled sources: (path, mtime, size) of each."""
    out = []
    for path in _SOURCES:
        st = os.stat(path)
        out.append((path, st.st_mtime, st.st_size))
    return tuple(out)


def _core_locator(base: type) -> type:
    class Locator(base):
        """``base``, stamped by all of the core's compiled sources for the core's functions."""

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if not str(Path(py_file).resolve()).startswith(str(_ROOT)):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self) -> Any:
            return source_stamp()

    Locator.__name__ = Locator.__qualname__ = f"Core{base.__name__}"
    return Locator


def _caching(name: str) -> Any:
    """A class of numba's caching module (public since numba 0.61, underscored before)."""
    return getattr(caching, name, None) or getattr(caching, f"_{name}")


def _readable_index(load: Any) -> Any:
    """Numba's reading of a cache's index, with an index it cannot unpickle read as stale
    (empty: the kernel compiles afresh and the index is written again). An index pickles
    the types of its kernels' signatures; once an update has removed or renamed the class
    of such a type (a named tuple of the flow's state, say), numba would raise
    ``ModuleNotFoundError`` or ``AttributeError`` on every later run instead."""

    def load_index(self: Any) -> Any:
        try:
            return load(self)
        except (ImportError, AttributeError, EOFError, pickle.UnpicklingError):
            return {}

    load_index.__wrapped__ = load  # type: ignore[attr-defined]
    return load_index


def install() -> None:
    """Put the core's locators first in numba's list, and read unreadable indexes as
    stale (once)."""
    files = _caching("IndexDataCacheFile")
    if not hasattr(files._load_index, "__wrapped__"):
        files._load_index = _readable_index(files._load_index)
    classes: list[Any] = _caching("CacheImpl")._locator_classes
    if any(c.__name__.startswith("Core") for c in classes):
        return
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    classes[:0] = [_core_locator(_caching(n)) for n in names]


install()


def cached(fn: Any) -> bool:
    """Whether calling compiled function ``fn`` will not compile it: its machine code is
    in this process already, or (``cache=True``) in numba's on-disk cache for this
    machine's processor and the core's present sources (or ``fn`` is not compiled at all,
    with numba's JIT disabled). It reads the cache's index through numba's internals: should a numba
    release change those, it says True (nothing known to compile) rather than fail."""
    if not hasattr(fn, "overloads") or fn.overloads:
        return True
    cache = fn._cache
    if isinstance(cache, caching.NullCache):  # compiled without cache=True: nothing on disk
        return False
    try:
        codegen = fn.targetctx.codegen()
        index = cache._cache_file._load_index()
        return any(key == cache._index_key(key[0], codegen) for key in index)
    except (AttributeError, TypeError, IndexError, OSError):
        return True


class Pinned:
    """A compiled function called daily with arguments of the same types: the first call
    goes through numba's dispatcher (which compiles or finds the machine code for the
    arguments' types), later calls straight to that machine code.

    The dispatcher works out the numba type of every argument on every call; for the case
    flow's state, a tuple of about a hundred arrays, that costs more than a small day's
    events. One ``Pinned`` serves one run (each mechanism makes its own), whose arguments
    keep their types from day to day (the same arrays, or arrays of the same dtypes and
    dimensions; a test checks it over every shipped scenario). Set ``check`` to verify
    the types on every call instead (slow; for tests). A function that is not compiled
    (a wrapper that times the kernel, say) is called as it is.
    """

    check = False

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self._entry: Any = None
        self._types: tuple[Any, ...] = ()

    def _types_of(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self.fn.typeof_pyval(a) for a in args)

    def __call__(self, *args: Any) -> Any:
        if self._entry is None:
            out = self.fn(*args)
            if not hasattr(self.fn, "overloads"):  # not compiled (a wrapper, e.g. a timer)
                self._entry = self.fn
                return out
            self._types = self._types_of(args)
            found = self.fn.overloads.get(self._types)
            self._entry = self.fn if found is None else found.entry_point
            return out
        if self.check and self._entry is not self.fn and self._types_of(args) != self._types:
            raise TypeError(f"{self.fn.__name__}: argument types changed within a run")
        return self._entry(*args)


def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    """Hint to the processor that ``array[index]`` (a row's first element, for an array of
    more dimensions) will be read soon: a prefetch of its cache line, which neither
    faults nor changes anything (LLVM's ``llvm.prefetch``). For compiled loops whose next
    items are known ahead but whose work between two reads is too long for the
    processor to overlap the reads by itself (the case flow, :mod:`sim.core.mechanisms.flow`)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        if aryty.ndim == 1 and aryty.layout == "C":  # the item's size: no stride to load
            size = context.get_abi_sizeof(context.get_data_type(aryty.dtype))
            stride = context.get_constant(types.intp, size)
        else:
            stride = cgutils.unpack_tuple(builder, ary.strides, aryty.ndim)[0]
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        offset = builder.mul(index, stride)
        byte = ir.IntType(8).as_pointer()
        address = builder.gep(builder.bitcast(ary.data, byte), [offset])
        i32 = ir.IntType(32)
        hint = ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, hint, "llvm.prefetch.p0i8")
        builder.call(fn, [address, i32(0), i32(3), i32(1)])  # read, keep in all levels, data
        return context.get_dummy_value()

    return types.void(array, index), codegen


prefetch: Any = intrinsic(_prefetch)
"""``prefetch(array, index)`` in compiled code (see ``_prefetch``)."""

__all__ = ["Pinned", "cached", "njit", "prefetch", "source_stamp"]
