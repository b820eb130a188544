"""JSON objects sent to the app (API bodies, inbound hook inputs): decoded once, by one rule.

A body must be valid JSON, nested no deeper than the decoder allows, an object, and free of
NUL characters: PostgreSQL text cannot hold `\\u0000`, so a NUL stored in a name or an input
would fail the write there (and only there), long after the request was accepted.
"""

from __future__ import annotations

import json
from typing import Any

from services.errors import InvalidInputError

NUL_REFUSED = "Text may not contain NUL characters (\\u0000)."


def decode_object(body: bytes | bytearray, *, not_object: str) -> dict[str, Any]:
    """The JSON object in `body` ({} for an empty body).

    Raises:
        InvalidInputError: not JSON, nested too deeply, not an object (`not_object` says
            what was expected), or a NUL character in a key or text.
    """
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("The body is not valid JSON.") from None
    except RecursionError:  # the decoder's own limit on nesting
        raise InvalidInputError("The body is nested too deeply.") from None
    if not isinstance(value, dict):
        raise InvalidInputError(not_object)
    if _holds_nul(value):
        raise InvalidInputError(NUL_REFUSED)
    return value


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in any key or text of decoded JSON (without recursion: the decoder
    allows nesting deeper than a recursive walk would survive)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
