"""Tools turned into Gemini's form once, not per call (`providers.py`'s Gemini model uses it).

langchain-google-genai converts every bound tool's JSON schema into google-genai `Tool`
objects (pydantic models, built field by field) on every request. The assistant sends the
same twenty tools, about 40 KB of schema, twice a turn: that conversion was 9% of the web
process's CPU per chat turn (py-spy, `bench/load.py`). The result depends only on the tool
definitions, so it is kept, keyed by their JSON, and reused; a changed tool is a new key.

Callers that bind the same schema objects again (the guarded model hands the provider the
per-tool schemas of `tool_schemas`, shared for the tools' lifetime) are found by the
objects' identity first, without serialising 40 KB of schema to make a key: the entry holds
the objects themselves, so their ids cannot be reused while it lives, and the schemas are
never changed once made.
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
_by_identity: OrderedDict[tuple[Any, ...], tuple[list[Any], list[Any] | None]] = OrderedDict()
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
    same: tuple[Any, ...] | None = None
    if functions is None and isinstance(tools, list | tuple):
        same = (getattr(convert, "__qualname__", ""), *map(id, tools))
        with _lock:
            if same in _by_identity:
                _by_identity.move_to_end(same)
                found = _by_identity[same][1]
                return list(found) if found is not None else None
    formatted = _by_json(convert, tools, functions)
    if same is not None:
        with _lock:
            _by_identity[same] = (list(tools), formatted)
            while len(_by_identity) > MAX_CACHED:
                _by_identity.popitem(last=False)
    return list(formatted) if formatted is not None else None


def _by_json(
    convert: Callable[[Any, Any], list[Any] | None], tools: Any, functions: Any
) -> list[Any] | None:
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
