"""Tools turned into Gemini's form once, not per call (`providers.py`'s Gemini model uses it).

langchain-google-genai converts every bound tool's JSON schema into google-genai `Tool`
objects (pydantic models, built field by field) on every request. The assistant sends the
same twenty tools, about 40 KB of schema, twice a turn: that conversion was 9% of the web
process's CPU per chat turn (py-spy, `bench/load.py`). The result depends only on the tool
definitions, so it is kept, keyed by their JSON, and reused; a changed tool is a new key.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MAX_CACHED = 32
"""Distinct tool sets kept (the assistant, prompt runs and workflow steps each bind one)."""

_cache: OrderedDict[str, list[Any] | None] = OrderedDict()
_lock = threading.Lock()


def cached_format(
    convert: Callable[[Any, Any], list[Any] | None], tools: Any, functions: Any
) -> list[Any] | None:
    """`convert(tools, functions)`, from the cache when these definitions were seen before.

    The list is copied for each caller; the `Tool` objects in it are shared and never
    changed by the request code (it reads them to build the request body).
    """
    if not tools and not functions:
        return convert(tools, functions)
    try:
        text = json.dumps([tools, functions], sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return convert(tools, functions)
    key = hashlib.sha256(text.encode()).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            found = _cache[key]
            return list(found) if found is not None else None
    formatted = convert(tools, functions)
    with _lock:
        _cache[key] = formatted
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return list(formatted) if formatted is not None else None
