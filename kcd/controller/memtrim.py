"""Give freed heap memory back to the OS now and then (glibc's malloc_trim).

Why: a reconcile burst (every KCD stepping at start-up, or after a watch reconnect) parses many API responses at once;
CPython frees those objects, but glibc keeps the freed pages in the heap, so the controller's RSS stays at the peak.
Measured with 300 KCDs: 206 MB without trimming, 117 MB with it. A no-op where libc has no malloc_trim (musl, macOS).
CPython's own allocator (pymalloc) keeps small objects in 1 MiB arenas that it gives back only when entirely empty,
and a burst leaves many nearly empty: the chart runs the controller with PYTHONMALLOC=malloc so that small objects come
from glibc too and a trim returns their pages (1,000 KCDs idle after a rollout each: 146-147 MB with pymalloc, 137 MB
with glibc malloc).

`one_arena()` makes every thread allocate from glibc's main arena (mallopt M_ARENA_MAX=1) instead of one arena per
thread (up to 8 per core). The step threads parse API responses (garbage a moment later) and put the projections of
their writes' responses into the watched state (kept): in an arena of their own each such survivor pins a page of
garbage that no trim can return. One arena costs no concurrency here: with PYTHONMALLOC=malloc every allocation of
Python objects is made holding the GIL anyway. Measured at 2,000 KCDs after the storm: see docs/performance.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger("kcd.controller.memtrim")


M_ARENA_MAX = -8  # glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def one_arena() -> bool:
    """Before any thread starts: every thread allocates from the main arena. False where libc has no mallopt."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, 1))


def start(stop: threading.Event, *, every: float = 10.0) -> bool:
    """Trim every `every` seconds until `stop`; False when this libc cannot."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        log.debug("malloc_trim not available; RSS stays at its peak")
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def loop() -> None:
        while not stop.wait(every):
            trim(0)

    threading.Thread(target=loop, daemon=True, name="kcd-memtrim").start()
    return True
