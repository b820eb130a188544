"""`IdentityCache`: a value kept per object, for as long as the object lives.

Some work is done once per object rather than once per equal value: a tool's schema
(`tool_schemas`), a message's token count (`token_counts`). Hashing or comparing the
objects would cost what the cache saves, so entries are keyed by identity, and each one
holds a weak reference to its object: the entry goes when the object does, so the cache
never keeps an object alive, and an id reused by a new object never finds the old entry.
Reads take no lock (a dict lookup is atomic); writes and removals do.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


class IdentityCache(Generic[T, V]):
    """Values keyed by the identity of a live object (which must allow weak references)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[T], V]] = {}
        self._lock = threading.Lock()

    def get(self, obj: T) -> V | None:
        """The value kept for `obj`, or None."""
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return None

    def put(self, obj: T, value: V) -> None:
        """Keep `value` for `obj` (replacing what was kept) until `obj` is gone."""
        key = id(obj)
        with self._lock:
            self._entries[key] = (weakref.ref(obj, self._forget(key)), value)

    def __len__(self) -> int:
        return len(self._entries)

    def _forget(self, key: int) -> Callable[[weakref.ref[T]], None]:
        def forget(ref: weakref.ref[T]) -> None:
            with self._lock:
                entry = self._entries.get(key)
                # A newer object with the same id may have replaced the entry already.
                if entry is not None and entry[0] is ref:
                    del self._entries[key]

        return forget
