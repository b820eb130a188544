"""Server-side list iterators behind opaque ``offset`` values.

The first page of a listing snapshots the ordered record IDs; each offset handed out is
``itr<iterator id>/rec<record id>`` and stays valid for ``ttl_seconds`` after the
iterator's last use, like Airtable's (a few minutes).
"""

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from emulator import errors
from emulator.ids import new_id

_OFFSET_RE = re.compile(r"^(itr[0-9A-Za-z]{14})/(rec[0-9A-Za-z]{14})$")


@dataclass
class _Iterator:
    table_id: str
    record_ids: list[str]
    expires: float
    positions: dict[str, int] = field(default_factory=dict)


class IteratorStore:
    """Issues and resolves list offsets.

    Args:
        ttl_seconds: How long an iterator lives after its last use.
        max_iterators: Oldest iterators are dropped beyond this many.
    """

    def __init__(self, ttl_seconds: float = 300.0, max_iterators: int = 500) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_iterators = max_iterators
        self._lock = threading.Lock()
        self._items: OrderedDict[str, _Iterator] = OrderedDict()

    def issue(self, table_id: str, record_ids: list[str], position: int, token: str = "") -> str:
        """Return the offset that resumes ``record_ids`` at ``position``.

        Args:
            table_id: The listed table.
            record_ids: The full ordered ID list of the listing.
            position: Index of the first record of the next page.
            token: The iterator ID when continuing an existing listing, else empty.
        """
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            item = self._items.get(token)
            if item is None:
                token = new_id("itr")
                item = _Iterator(table_id, record_ids, now + self.ttl_seconds)
                self._items[token] = item
            item.expires = now + self.ttl_seconds
            self._items.move_to_end(token)
            record_id = record_ids[position]
            item.positions[record_id] = position
            return f"{token}/{record_id}"

    def resume(self, offset: str, table_id: str) -> tuple[str, list[str], int]:
        """Resolve an offset to (iterator ID, ordered record IDs, position).

        Raises:
            ApiError: ``INVALID_OFFSET_VALUE`` for a value this server never issued,
                ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE`` once the iterator expired.
        """
        match = _OFFSET_RE.match(offset)
        if not match:
            raise errors.invalid_offset(offset)
        token, record_id = match.groups()
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            item = self._items.get(token)
            if item is None or item.table_id != table_id:
                raise errors.iterator_not_available()
            position = item.positions.get(record_id)
            if position is None:
                raise errors.invalid_offset(offset)
            item.expires = now + self.ttl_seconds
            return token, item.record_ids, position

    def _prune(self, now: float) -> None:
        expired = [key for key, item in self._items.items() if item.expires <= now]
        for key in expired:
            del self._items[key]
        while len(self._items) > self.max_iterators:
            self._items.popitem(last=False)
