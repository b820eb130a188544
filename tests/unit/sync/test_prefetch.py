"""Airtable pages read ahead on a second thread: gathered in chunks, errors passed on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.errors import AirtableError
from services.sync.prefetch import prefetched


def _pages(count: int, *, fail_after: int | None = None) -> Iterator[dict[str, Any]]:
    for number in range(count):
        if fail_after is not None and number == fail_after:
            raise AirtableError("Airtable answered 503")
        yield {f"rec{number}-{i}": i for i in range(100)}


def test_prefetched__hands_over_every_record_in_chunks() -> None:
    chunks = list(prefetched(_pages(25), chunk=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]


def test_prefetched__raises_the_readers_error_in_the_caller() -> None:
    chunks = prefetched(_pages(25, fail_after=12), chunk=100)
    seen = sum(len(next(chunks)) for _ in range(12))
    assert seen == 1200
    with pytest.raises(AirtableError, match="503"):
        next(chunks)
