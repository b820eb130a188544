"""Cursors for the next page of a search: opaque to the model, tied to one query.

A cursor carries the query's fingerprint (base, table, formula, sort, view), how many rows
came before and the last record shown. The next page starts after that record where it
is still in the listing (so a record added or removed earlier does not shift the page),
else at the same position. A cursor from another query, or a mangled one, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from services.errors import InvalidInputError

_VERSION = "1"


@dataclass(frozen=True)
class Position:
    """Where a page starts: rows already shown, and the last record shown."""

    offset: int
    after_id: str


def fingerprint(*parts: Any) -> str:
    """A short digest of what makes a query the same query."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(query: str, position: Position) -> str:
    body = f"{_VERSION}:{query}:{position.offset}:{position.after_id}"
    raw = f"{body}:{_check(body)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _check(body: str) -> str:
    # Catches a cursor cut short or edited: it would otherwise still parse.
    return hashlib.sha256(body.encode()).hexdigest()[:4]


def decode_cursor(cursor: str, query: str) -> Position:
    """The position in `cursor`.

    Raises:
        InvalidInputError: the cursor is not one of ours, or belongs to another query.
    """
    text = cursor.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        body, check = raw.rsplit(":", 1)
        version, digest, offset, after_id = body.split(":")
        position = Position(int(offset), after_id)
        if check != _check(body):
            raise ValueError(check)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError(
            "That cursor is not valid; pass the cursor exactly as a search returned it."
        ) from None
    if version != _VERSION or position.offset < 0:
        raise InvalidInputError("That cursor is not valid; run the search again without it.")
    if digest != query:
        raise InvalidInputError(
            "That cursor belongs to another search: repeat the same table, filters, text "
            "search, sort and view with it, or search again without a cursor."
        )
    return position


def page_start(ids: list[str], position: Position) -> int:
    """Index of the first row of the page: after the last record shown if it is still
    listed, else at the same offset."""
    try:
        return ids.index(position.after_id) + 1
    except ValueError:
        return min(position.offset, len(ids))
