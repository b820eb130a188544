"""How a long-running process (web, worker) sets up its interpreter before it serves.

**The heap.** The startup objects are kept out of the garbage collector's way.

CPython's full (oldest-generation) collection walks every tracked object: in the web
process that is the hundreds of thousands that importing LangChain, LangGraph, pydantic
and the provider SDK leave behind, and it ran for 130-270 ms at a time with the GIL held,
a few times a minute under load. Every turn in flight stood still meanwhile: that was the
tail of `bench/load.py` (p95 of the server's overhead several times its median). Those
objects live as long as the process, so `gc.freeze()` moves them where no collection looks
again (what the standard library offers it for); the collector then only walks what the
process made since. A process calls `prepare_to_serve` once it is ready to serve, before any
request's objects exist: objects frozen are never collected, so freezing later would keep
whatever garbage cycles then existed for good.

**The GIL.** A thread that waited on I/O (a Redis reply, a model's next chunk, a client's
socket) waits again for the interpreter lock until the thread holding it lets go, which
CPython asks for after 5 ms by default. A chat turn does a hundred such waits; with a dozen
turns in flight, the 5 ms handovers added up to the tail of `bench/load.py`'s latency.
`SWITCH_INTERVAL_S` asks sooner: each thread keeps the lock for at most 1 ms while others
wait, at the cost of a few more switches for whichever turn is computing.
"""

from __future__ import annotations

import gc
import logging
import sys
import time

logger = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001
YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of tracked objects between youngest-generation
collections: CPython's default is 700. A chat turn allocates tens of thousands, nearly all
freed by reference counting; at 700 the collector ran several times a turn, and a full
collection (over what the process made since startup) every ten seconds under load."""


def prepare_to_serve() -> int:
    """Collect once, then freeze what is left, and collect the young generation less often
    (`YOUNG_THRESHOLD`); hand the GIL over sooner (`SWITCH_INTERVAL_S`). Returns how many
    objects were frozen."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    frozen = gc.get_freeze_count()
    logger.info(
        "froze %d startup objects in %.0f ms", frozen, (time.perf_counter() - started) * 1000
    )
    return frozen
