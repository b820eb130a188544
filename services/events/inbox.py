"""Read and unread notifications: a user's events with what they have marked read.

The state is two Redis keys per user: `upto` (every event up to this ID is read, set by
"mark all read") and a set of single IDs marked read after it. Both live as long as the
streams keep events.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.events.bus import Event, EventBus, parse_id
from services.events.types import WORKFLOW_RUN_STARTED, WORKFLOW_RUN_STEP

UNREAD_CAP = 99
"""Counting stops here; the bell shows "99+"."""

PROGRESS_TYPES = frozenset({WORKFLOW_RUN_STARTED, WORKFLOW_RUN_STEP})


def is_notification(event: Event) -> bool:
    """Whether a person should be told (bell, toast, list): a run's start and its steps'
    progress are for the stream's programs and the Run page, but a `notify` step's message
    (a step event with a `message`) is meant for the person."""
    return event.type not in PROGRESS_TYPES or bool(event.data.get("message"))


@dataclass(frozen=True)
class Notification:
    event: Event
    read: bool


class NotificationInbox:
    """Per-user read state over the event streams (`Services.notifications`)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._redis = bus.redis
        self._ttl_ms = bus.max_age_ms

    def _upto_key(self, user_id: int) -> str:
        return f"{self._bus.keys.base}read-upto:{user_id}"

    def _ids_key(self, user_id: int) -> str:
        return f"{self._bus.keys.base}read-ids:{user_id}"

    def _state(self, user_id: int) -> tuple[tuple[int, int], set[str]]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._upto_key(user_id))
        pipe.smembers(self._ids_key(user_id))
        upto, ids = pipe.execute()
        text = upto.decode() if isinstance(upto, bytes) else (upto or "0-0")
        read = {i.decode() if isinstance(i, bytes) else str(i) for i in ids}
        return parse_id(text) or (0, 0), read

    def recent(
        self,
        user_id: int,
        *,
        admin: bool,
        types: frozenset[str] | None = None,
        limit: int = 50,
    ) -> list[Notification]:
        """The newest `limit` notifications (of `types`, if given), newest first."""
        upto, read = self._state(user_id)
        scan = self._bus.maxlen
        events = self._bus.latest(user_id, admin=admin, count=scan)
        chosen = [e for e in events if is_notification(e) and (types is None or e.type in types)][
            :limit
        ]
        return [Notification(e, e.position <= upto or e.id in read) for e in chosen]

    def unread_count(self, user_id: int, *, admin: bool) -> int:
        """How many events are unread, counted up to `UNREAD_CAP` + 1."""
        upto, read = self._state(user_id)
        after = "{}-{}".format(*upto)
        events = self._bus.read_after(user_id, admin=admin, after=after, count=self._bus.maxlen)
        unread = sum(1 for e in events if e.id not in read and is_notification(e))
        return min(unread, UNREAD_CAP + 1)

    def mark_read(self, user_id: int, event_id: str) -> None:
        if parse_id(event_id) is None:
            return
        key = self._ids_key(user_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(key, event_id)
        pipe.pexpire(key, self._ttl_ms)
        pipe.execute()

    def mark_all_read(self, user_id: int) -> None:
        """Everything published so far counts as read."""
        last = self._bus.last_id()
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._upto_key(user_id), last, px=self._ttl_ms)
        pipe.delete(self._ids_key(user_id))
        pipe.execute()

    def since(self, user_id: int, *, admin: bool, after: str, limit: int = 20) -> list[Event]:
        """Notifications after `after` (an ID), oldest first: what the toasts show."""
        events = self._bus.read_after(user_id, admin=admin, after=after, count=self._bus.maxlen)
        return [e for e in events if is_notification(e)][:limit]

    def last_id(self) -> str:
        return self._bus.last_id()
