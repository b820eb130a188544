"""Pages of an iterator read ahead on a second thread, so the reader's work overlaps the
wait for the next page (a sync run merges and writes while Airtable pages come in)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

_DONE = object()


def prefetched(pages: Iterator[dict[str, Any]], *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """`pages` read on a second thread, handed over in chunks of about `chunk` records.
    When the reader stops early (an error), the second thread stops at its next page."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=50)
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
            for page in pages:
                if stop.is_set():
                    return
                give(page)
        except BaseException as exc:  # handed to the reading thread, which raises it
            give(exc)
        give(_DONE)

    threading.Thread(target=produce, name="sync-airtable-pages", daemon=True).start()
    gathered: dict[str, Any] = {}
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            gathered.update(item)
            if len(gathered) >= chunk:
                yield gathered
                gathered = {}
        if gathered:
            yield gathered
    finally:
        stop.set()
