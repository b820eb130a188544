"""`read_ahead`: the items of an iterator read on a second thread, a few ahead of the reader.

Used where each item is a page of Airtable records: the next request waits only for
Airtable's pace while the reader works on the page before (a mirror build writes rows, a
sync run merges and writes). When the reader stops early (an error, or it has enough),
the second thread stops at its next item; an error of the iterator is raised to the
reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T], *, depth: int, name: str) -> Iterator[T]:
    """`items`, read on a thread called `name`, at most `depth` ahead of the reader."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def give(item: Any) -> None:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                give(item)
        except BaseException as exc:  # handed to the reading thread, which raises it
            give(exc)
        give(_DONE)

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
