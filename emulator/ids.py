"""Airtable-style identifiers and timestamps.

IDs are a three-letter prefix plus 14 letters or digits (``recXXXXXXXXXXXXXX``). Random
IDs come from :mod:`secrets`; demo data uses :func:`derived_id` so that a seed always
produces the same IDs.
"""

import hashlib
import re
import secrets
from datetime import UTC, datetime

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_BODY_LENGTH = 14
_ID_RE = re.compile(r"^[a-z]{3}[0-9A-Za-z]{14}$")


def new_id(prefix: str) -> str:
    """Return a fresh random ID.

    Args:
        prefix: Three lower-case letters, e.g. ``"rec"``.

    Returns:
        The prefix followed by 14 random letters and digits.
    """
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(ID_BODY_LENGTH))


def derived_id(prefix: str, *parts: object) -> str:
    """Return an ID that depends only on ``parts`` (stable across runs).

    Args:
        prefix: Three lower-case letters, e.g. ``"tbl"``.
        *parts: Values that identify the object, e.g. base name and table name.

    Returns:
        The prefix followed by 14 letters and digits derived from a SHA-256 digest.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(ID_BODY_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return prefix + "".join(chars)


def has_prefix(value: object, prefix: str) -> bool:
    """Tell whether ``value`` is a well-formed ID with the given prefix."""
    return isinstance(value, str) and value.startswith(prefix) and bool(_ID_RE.match(value))


def utc_now() -> datetime:
    """Return the current time in UTC, truncated to milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_time(moment: datetime) -> str:
    """Format a datetime the way Airtable does: ``2024-01-31T09:15:00.000Z`` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset; naive means UTC) into an aware datetime.

    Raises:
        ValueError: if ``text`` is not an ISO 8601 timestamp.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
