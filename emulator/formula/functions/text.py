"""Text functions: FIND SEARCH LOWER UPPER LEN TRIM LEFT RIGHT MID SUBSTITUTE REPLACE
CONCATENATE T VALUE REPT ENCODE_URL_COMPONENT and the REGEX_ family."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ..values import ERROR, flatten, parse_number, to_text
from .coerce import as_int
from .spec import FunctionSpec

# REPT and friends refuse to build text past this size instead of exhausting memory.
_MAX_TEXT = 1_000_000
_JS_REPLACEMENT = re.compile(r"\$(\$|&|\d{1,2})")
_VALUE_NOISE = re.compile(r"[\s,$€£¥]")


def find(needle: Any, haystack: Any, start: Any = 0) -> int:
    """FIND(needle, haystack[, start]): 1-based position, 0 when absent."""
    return to_text(haystack).find(to_text(needle), max(as_int(start), 0)) + 1


def search(needle: Any, haystack: Any, start: Any = 0) -> int | None:
    """SEARCH(needle, haystack[, start]): like FIND, ignoring case; blank when absent."""
    found = to_text(haystack).lower().find(to_text(needle).lower(), max(as_int(start), 0))
    return None if found < 0 else found + 1


def left(text: Any, count: Any) -> str:
    """LEFT(text, n): the first n characters."""
    return to_text(text)[: max(as_int(count), 0)]


def right(text: Any, count: Any) -> str:
    """RIGHT(text, n): the last n characters."""
    size = max(as_int(count), 0)
    return to_text(text)[-size:] if size else ""


def mid(text: Any, start: Any, count: Any) -> str:
    """MID(text, start, n): n characters from the 1-based start."""
    begin = max(as_int(start) - 1, 0)
    return to_text(text)[begin : begin + max(as_int(count), 0)]


def substitute(text: Any, old: Any, new: Any, index: Any = None) -> str:
    """SUBSTITUTE(text, old, new[, n]): replace every ``old``, or only the n-th one."""
    source, target, replacement = to_text(text), to_text(old), to_text(new)
    if not target:
        return source
    if index is None:
        return source.replace(target, replacement)
    wanted = as_int(index)
    if wanted < 1:
        return source
    position = -len(target)
    for _ in range(wanted):
        position = source.find(target, position + len(target))
        if position < 0:
            return source
    return source[:position] + replacement + source[position + len(target) :]


def replace(text: Any, start: Any, count: Any, new: Any) -> str:
    """REPLACE(text, start, n, new): swap n characters from the 1-based start for ``new``."""
    source = to_text(text)
    begin = max(as_int(start) - 1, 0)
    return source[:begin] + to_text(new) + source[begin + max(as_int(count), 0) :]


def concatenate(*values: Any) -> str:
    """CONCATENATE(a, b, ...): the arguments as text, joined."""
    return "".join(to_text(value) for value in values)


def t(value: Any) -> str | None:
    """T(value): the value if it is text, else blank."""
    if value.__class__ is str:
        return value
    if value.__class__ is list and all(item.__class__ is str for item in flatten(value)):
        return to_text(value)
    return None


def value_(value: Any) -> Any:
    """VALUE(text): the number the text spells; currency signs, commas and % allowed."""
    if value is None or value.__class__ in (int, float, bool):
        return value
    text = _VALUE_NOISE.sub("", to_text(value))
    if not text:
        return None
    percent = text.endswith("%")
    number = parse_number(text[:-1] if percent else text)
    if number is None:
        return math.nan
    return number / 100 if percent else number


def rept(text: Any, count: Any) -> Any:
    """REPT(text, n): the text n times."""
    source, times = to_text(text), max(as_int(count), 0)
    if len(source) * times > _MAX_TEXT:
        return ERROR
    return source * times


def encode_url_component(text: Any) -> str:
    """ENCODE_URL_COMPONENT(text): percent-encode as JavaScript's encodeURIComponent."""
    return quote(to_text(text), safe="-_.!~*'()")


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regex_match(text: Any, pattern: Any) -> bool:
    """REGEX_MATCH(text, regex): whether the regex matches anywhere in the text."""
    return _regex(to_text(pattern)).search(to_text(text)) is not None


def regex_extract(text: Any, pattern: Any) -> Any:
    """REGEX_EXTRACT(text, regex): the first match; an error when nothing matches."""
    found = _regex(to_text(pattern)).search(to_text(text))
    return ERROR if found is None else found.group(0)


def regex_replace(text: Any, pattern: Any, replacement: Any) -> Any:
    """REGEX_REPLACE(text, regex, replacement): replace every match; ``$1`` names groups."""
    template = to_text(replacement)

    def expand(found: re.Match[str]) -> str:
        def piece(token: re.Match[str]) -> str:
            name = token.group(1)
            if name == "$":
                return "$"
            if name == "&":
                return found.group(0)
            group = int(name)
            if 0 < group <= (found.re.groups or 0):
                return found.group(group) or ""
            return token.group(0)

        return _JS_REPLACEMENT.sub(piece, template)

    result = _regex(to_text(pattern)).sub(expand, to_text(text))
    return ERROR if len(result) > _MAX_TEXT else result


FUNCTIONS: dict[str, FunctionSpec] = {
    "FIND": FunctionSpec(find, 2, 3),
    "SEARCH": FunctionSpec(search, 2, 3),
    "LOWER": FunctionSpec(lambda text: to_text(text).lower(), 1, 1),
    "UPPER": FunctionSpec(lambda text: to_text(text).upper(), 1, 1),
    "LEN": FunctionSpec(lambda text: len(to_text(text)), 1, 1),
    "TRIM": FunctionSpec(lambda text: to_text(text).strip(), 1, 1),
    "LEFT": FunctionSpec(left, 2, 2),
    "RIGHT": FunctionSpec(right, 2, 2),
    "MID": FunctionSpec(mid, 3, 3),
    "SUBSTITUTE": FunctionSpec(substitute, 3, 4),
    "REPLACE": FunctionSpec(replace, 4, 4),
    "CONCATENATE": FunctionSpec(concatenate, 1, None),
    "T": FunctionSpec(t, 1, 1),
    "VALUE": FunctionSpec(value_, 1, 1),
    "REPT": FunctionSpec(rept, 2, 2),
    "ENCODE_URL_COMPONENT": FunctionSpec(encode_url_component, 1, 1),
    "REGEX_MATCH": FunctionSpec(regex_match, 2, 2),
    "REGEX_EXTRACT": FunctionSpec(regex_extract, 2, 2),
    "REGEX_REPLACE": FunctionSpec(regex_replace, 3, 3),
}
