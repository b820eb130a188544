"""Search cursors: opaque, tied to their query, resuming after the last record shown."""

from __future__ import annotations

import pytest

from services.airtable.cursors import (
    Position,
    decode_cursor,
    encode_cursor,
    fingerprint,
    page_start,
)
from services.errors import InvalidInputError


def test_cursor__round_trips_for_the_same_query() -> None:
    query = fingerprint("app1", "tbl1", "{Done}", None, None)
    cursor = encode_cursor(query, Position(100, "recB"))
    assert "recB" not in cursor  # opaque to the model
    assert decode_cursor(cursor, fingerprint("app1", "tbl1", "{Done}", None, None)) == Position(
        100, "recB"
    )


def test_cursor__is_refused_for_another_query_or_when_mangled() -> None:
    cursor = encode_cursor(fingerprint("app1", "tbl1", "{Done}", None, None), Position(5, "recB"))
    with pytest.raises(InvalidInputError, match="belongs to another search"):
        decode_cursor(cursor, fingerprint("app1", "tbl1", "NOT({Done})", None, None))
    for bad in ("not-a-cursor", cursor[:-3], "", "Yzk6eDox"):
        with pytest.raises(InvalidInputError, match="cursor"):
            decode_cursor(bad, fingerprint("app1", "tbl1", "{Done}", None, None))


def test_page_start__follows_the_last_record_shown_else_the_offset() -> None:
    ids = ["recA", "recNew", "recB", "recC"]
    assert page_start(ids, Position(2, "recB")) == 3  # a record added before it: no repeat
    assert page_start(["recA", "recC"], Position(2, "recB")) == 2  # it was deleted
    assert page_start(["recA"], Position(5, "recGone")) == 1
