"""Reading dates: ISO 8601, common spellings and moment.js formats (DATETIME_PARSE)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from .dateformat import FORMAT_TOKEN, LONG_FORMATS, MONTHS
from .values import date_only

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Forms DATETIME_PARSE reads without a format besides ISO 8601 (as moment's fallback does).
_COMMON_FORMATS = (
    "M/D/YYYY h:mm:ss A",
    "M/D/YYYY h:mm A",
    "M/D/YYYY H:mm:ss",
    "M/D/YYYY H:mm",
    "M/D/YYYY",
    "YYYY/M/D H:mm:ss",
    "YYYY/M/D H:mm",
    "YYYY/M/D",
    "MMMM D, YYYY h:mm A",
    "MMMM D, YYYY",
    "MMMM D YYYY",
    "D MMMM YYYY",
    "ddd, D MMM YYYY H:mm:ss Z",
)


def as_utc(value: datetime) -> datetime | None:
    """Attach UTC to a naive time or convert an aware one; None if out of range."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


@lru_cache(maxsize=8192)
def parse_date_text(text: str) -> datetime | None:
    """Read ISO 8601 or a common US spelling of a date; naive times are UTC.

    Args:
        text: the text to read.

    Returns:
        An aware datetime, or None when the text is not a date.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return as_utc(datetime.fromisoformat(stripped))
    except ValueError:
        pass
    for fmt in _COMMON_FORMATS:
        parsed = parse_with_format(stripped, fmt, strict=True)
        if parsed is not None:
            return parsed
    return None


@lru_cache(maxsize=8192)
def parse_cell_date(text: str) -> datetime | None:
    """Read a date or dateTime cell; a plain ``YYYY-MM-DD`` becomes a ``DateOnly``."""
    if _ISO_DATE.fullmatch(text):
        try:
            return date_only(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return None
    return parse_date_text(text)


_PARSERS: dict[str, str] = {
    "YYYYYY": r"(?P<year>[+-]?\d{4,6})",
    "YYYY": r"(?P<year>[+-]?\d{1,4})",
    "YY": r"(?P<year2>\d\d)",
    "Y": r"(?P<year>[+-]?\d+)",
    "MMMM": r"(?P<monthname>[^\W\d_]+)",
    "MMM": r"(?P<monthname>[^\W\d_]+)",
    "MM": r"(?P<month>\d\d?)",
    "M": r"(?P<month>\d\d?)",
    "Mo": r"(?P<month>\d\d?)(?:st|nd|rd|th)",
    "DDDD": r"(?P<yday>\d{1,3})",
    "DDD": r"(?P<yday>\d{1,3})",
    "DD": r"(?P<day>\d\d?)",
    "D": r"(?P<day>\d\d?)",
    "Do": r"(?P<day>\d\d?)(?:st|nd|rd|th)?",
    "dddd": r"[^\W\d_]+",
    "ddd": r"[^\W\d_]+",
    "dd": r"[^\W\d_]+",
    "d": r"\d",
    "HH": r"(?P<hour>\d\d?)",
    "H": r"(?P<hour>\d\d?)",
    "hh": r"(?P<hour>\d\d?)",
    "h": r"(?P<hour>\d\d?)",
    "kk": r"(?P<hour>\d\d?)",
    "k": r"(?P<hour>\d\d?)",
    "mm": r"(?P<minute>\d\d?)",
    "m": r"(?P<minute>\d\d?)",
    "ss": r"(?P<second>\d\d?)",
    "s": r"(?P<second>\d\d?)",
    "A": r"(?P<meridiem>[ap]\.?m\.?)",
    "a": r"(?P<meridiem>[ap]\.?m\.?)",
    "ZZ": r"(?P<zone>Z|[+-]\d\d:?\d\d)",
    "Z": r"(?P<zone>Z|[+-]\d\d:?\d\d)",
    "X": r"(?P<unix>-?\d+(?:\.\d+)?)",
    "x": r"(?P<unixms>-?\d+)",
}


def _tokens(fmt: str) -> list[str]:
    tokens: list[str] = []
    for match in FORMAT_TOKEN.finditer(fmt):
        token = match.group()
        tokens.extend(_tokens(LONG_FORMATS[token]) if token in LONG_FORMATS else [token])
    return tokens


@lru_cache(maxsize=256)
def _format_pattern(fmt: str, strict: bool) -> re.Pattern[str] | None:
    pieces: list[str] = []
    seen: set[str] = set()
    for token in _tokens(fmt):
        if token in _PARSERS:
            group = re.search(r"\?P<(\w+)>", _PARSERS[token])
            if group and group.group(1) in seen:
                return None  # the same part twice cannot be read
            if group:
                seen.add(group.group(1))
            pieces.append(_PARSERS[token])
        elif token.startswith("S") and token.strip("S") == "":
            pieces.append(r"(?P<fraction>\d+)")
        elif token.startswith("["):
            pieces.append(re.escape(token[1:-1]))
        elif token.isalnum():
            pieces.append(re.escape(token))
        elif strict:
            pieces.append(r"\s+" if token.isspace() else re.escape(token))
        else:
            # moment ignores punctuation when reading without strict mode
            pieces.append(r"[^A-Za-z0-9]*")
    try:
        return re.compile("".join(pieces), re.IGNORECASE)
    except re.error:
        return None


def parse_with_format(
    text: str, fmt: str, *, strict: bool = False, now: datetime | None = None
) -> datetime | None:
    """Read text with a moment.js format string; None when it does not fit.

    Args:
        text: the text to read.
        fmt: the moment.js format (tokens like ``YYYY-MM-DD HH:mm``).
        strict: require the whole text and exact punctuation.
        now: the current time, which supplies the date when the format has none.

    Returns:
        An aware datetime in UTC, or None.
    """
    pattern = _format_pattern(fmt, strict)
    if pattern is None:
        return None
    found = pattern.fullmatch(text) if strict else pattern.match(text.strip())
    if found is None:
        return None
    return _build(found.groupdict(), now or datetime.now(UTC))


def _build(parts: dict[str, str | None], now: datetime) -> datetime | None:
    try:
        if parts.get("unix") is not None:
            return datetime.fromtimestamp(float(parts["unix"] or 0), UTC)
        if parts.get("unixms") is not None:
            return datetime.fromtimestamp(int(parts["unixms"] or 0) / 1000, UTC)
        value = _build_local(parts, now)
    except (ValueError, OverflowError, OSError):
        return None
    if value is None:
        return None
    zone = parts.get("zone")
    if not zone or zone.upper() == "Z":
        return value.replace(tzinfo=UTC)
    minutes = int(zone[1:3]) * 60 + int(zone[-2:])
    offset = timedelta(minutes=minutes if zone[0] == "+" else -minutes)
    try:
        return as_utc(value.replace(tzinfo=timezone(offset)))
    except ValueError:  # an offset of a day or more
        return None


def _build_local(parts: dict[str, str | None], now: datetime) -> datetime | None:
    # moment fills a missing date from today, but a partial date from January 1st.
    has_date = any(parts.get(key) for key in ("year", "year2", "month", "monthname", "day"))
    month = _month(parts)
    if month == 0:
        return None
    hour = int(parts.get("hour") or 0)
    meridiem = (parts.get("meridiem") or "").lower()
    if meridiem.startswith("p") and hour < 12:
        hour += 12
    elif meridiem.startswith("a") and hour == 12:
        hour = 0
    fraction = (parts.get("fraction") or "0")[:6].ljust(6, "0")
    value = datetime(
        _year(parts, now.year),
        month or (1 if has_date else now.month),
        int(parts["day"] or 1) if parts.get("day") else (1 if has_date else now.day),
        hour,
        int(parts.get("minute") or 0),
        int(parts.get("second") or 0),
        int(fraction),
    )
    if parts.get("yday"):
        value = value.replace(month=1, day=1) + timedelta(days=int(parts["yday"] or 1) - 1)
    return value


def _year(parts: dict[str, str | None], default: int) -> int:
    if parts.get("year"):
        return int(parts["year"] or default)
    if parts.get("year2"):
        short = int(parts["year2"] or 0)
        return short + (1900 if short > 68 else 2000)
    return default


def _month(parts: dict[str, str | None]) -> int | None:
    if parts.get("month"):
        return int(parts["month"] or 1)
    name = (parts.get("monthname") or "").lower()
    if not name:
        return None
    for index, month in enumerate(MONTHS):
        if len(name) >= 3 and month.lower().startswith(name[:3]):
            return index + 1
    return 0  # a month name that is not one
