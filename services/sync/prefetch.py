"""Pages of an iterator read ahead on a second thread (`services.read_ahead`) and handed
over in chunks, so a sync run merges and writes while Airtable pages come in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.read_ahead import read_ahead


def prefetched(pages: Iterator[dict[str, Any]], *, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """`pages` read on a second thread, handed over in chunks of about `chunk` records.
    When the reader stops early (an error), the second thread stops at its next page."""
    gathered: dict[str, Any] = {}
    for page in read_ahead(pages, depth=50, name="sync-airtable-pages"):
        gathered.update(page)
        if len(gathered) >= chunk:
            yield gathered
            gathered = {}
    if gathered:
        yield gathered
