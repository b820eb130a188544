"""The event bus: one Redis stream per user and one for the organisation (admins).

`EventBus.publish` appends an event with one Lua script, which also:

- gives it an ID from one sequence shared by every stream (`<ms>-<n>`, always above the
  last ID handed out), so one `last_event_id` names a position in a user's stream *and*
  in the org stream an admin reads beside it;
- caps the stream by length (exactly, remembering the newest ID it dropped, so a resume
  from before it is known to have missed events) and by age (`MINID`), and lets an idle
  stream expire once everything in it is too old;
- announces it on one pub/sub channel, which each web process's `LiveFanout` turns into
  pushes to its sockets (see `services.events.live`);
- appends it to the outbox stream, which the webhook dispatcher reads through a consumer
  group (`services.webhooks.dispatcher`): written in the same script as the event, it
  holds every stored event until a worker has taken it, even while no worker runs.

Publishing never fails the caller: while Redis is down the event is dropped and the
outage logged once. Readers (`read_after`, `resume_problem`) raise `StoreUnavailableError`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import redis

from services.errors import StoreUnavailableError
from services.events.types import EVENT_TYPES

logger = logging.getLogger(__name__)

HASH_TAG = "{events}"
ORG = "org"
# While Redis is down, publishes within this long of a failed one drop at once.
_RETRY_AFTER_OUTAGE_S = 1.0
_ID = re.compile(r"^(\d{1,15})-(\d{1,15})$")

_PUBLISH = """
local now = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
local max_age = tonumber(ARGV[3])
local ms, seq = now, 0
local last = redis.call('GET', KEYS[2])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if ms <= lms then ms = lms; seq = tonumber(lseq) + 1 end
end
local id = string.format('%.0f-%.0f', ms, seq)
local len = redis.call('XLEN', KEYS[1])
if len >= maxlen then
  local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - maxlen + 1)
  redis.call('SET', KEYS[3], gone[#gone][1])
end
redis.call('XADD', KEYS[1], 'MAXLEN', maxlen, id, 'e', ARGV[6])
redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f', now - max_age))
redis.call('SET', KEYS[2], id)
redis.call('PEXPIRE', KEYS[1], max_age)
redis.call('PEXPIRE', KEYS[3], max_age)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '\\n' .. id .. '\\n' .. ARGV[6])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'id', id, 't', ARGV[5], 'e', ARGV[6])
return id
"""


def parse_id(value: str) -> tuple[int, int] | None:
    """`(ms, n)` of an event ID, or None when it is not one."""
    match = _ID.match(value)
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class Event:
    """The envelope of the live stream and of outgoing webhooks.

    `id` orders every event of this installation; it is empty for an event that could
    not be stored (Redis down) and so was delivered to nobody.
    """

    id: str
    type: str
    timestamp: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "timestamp": self.timestamp, "data": self.data}

    @cached_property
    def text(self) -> str:
        """`to_json` as compact JSON, made once however many sockets send it."""
        return json.dumps(self.to_json(), separators=(",", ":"), default=str)

    @property
    def position(self) -> tuple[int, int]:
        return parse_id(self.id) or (0, 0)

    @classmethod
    def from_stored(cls, event_id: str, body: str) -> Event:
        """Rebuild an event from its ID and the JSON stored in the stream entry."""
        fields = json.loads(body)
        return cls(event_id, fields["type"], fields["timestamp"], fields["data"])


class EventKeys:
    """Every Redis key of the bus, in one hash-tag slot (one script may touch them all)."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}{HASH_TAG}:"

    def stream(self, target: str) -> str:
        return f"{self.base}s:{target}"

    def floor(self, target: str) -> str:
        """The newest ID the length cap dropped from `target`'s stream."""
        return f"{self.base}floor:{target}"

    @property
    def last(self) -> str:
        return f"{self.base}last"

    @property
    def channel(self) -> str:
        return f"{self.base}live"

    @property
    def outbox(self) -> str:
        """Every stored event, for the webhook dispatcher's consumer group."""
        return f"{self.base}outbox"


def target_of(user_id: int | None) -> str:
    """The stream an event for `user_id` goes to (`org` for None)."""
    return ORG if user_id is None else f"u:{user_id}"


def targets_for(user_id: int, *, admin: bool) -> list[str]:
    """The streams a user reads: their own, and the org stream for admins."""
    return [target_of(user_id), ORG] if admin else [target_of(user_id)]


class EventBus:
    """Publish events to a user's (or the org's) stream and read them back in order.

    Args:
        client: The app's Redis (`Services.redis`, a `StoreRedis`).
        prefix: `REDIS_KEY_PREFIX`.
        maxlen: Events kept per stream (`EVENTS_STREAM_MAXLEN`).
        max_age_seconds: Events older than this are dropped (`EVENTS_STREAM_MAX_AGE_SECONDS`).
        outbox_maxlen: Events kept in the webhook outbox (`WEBHOOK_OUTBOX_MAXLEN`).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        maxlen: int,
        max_age_seconds: int,
        outbox_maxlen: int = 50_000,
    ) -> None:
        self.redis = client
        self.keys = EventKeys(prefix)
        self.maxlen = maxlen
        self.max_age_ms = max_age_seconds * 1000
        self.outbox_maxlen = outbox_maxlen
        self._script = client.register_script(_PUBLISH)
        self._down = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def publish(self, type: str, data: Mapping[str, Any], *, user_id: int | None) -> Event:
        """Append an event to `user_id`'s stream (None: the org stream, seen by admins).

        Never raises because of Redis: while it is down the event is dropped (logged once
        per outage) and returned with an empty `id`.

        Raises:
            ValueError: `type` is not one of `EVENT_TYPES` (a bug in the caller).
        """
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        body = json.dumps({"type": type, "timestamp": stamp, "data": data}, default=str)
        target = target_of(user_id)
        now_ms = int(now * 1000)
        if self._down and time.monotonic() < self._retry_at:
            return Event("", type, stamp, data)  # known outage: drop without waiting on Redis
        try:
            raw = self._script(
                keys=[
                    self.keys.stream(target),
                    self.keys.last,
                    self.keys.floor(target),
                    self.keys.outbox,
                ],
                args=[
                    now_ms,
                    self.maxlen,
                    self.max_age_ms,
                    self.keys.channel,
                    target,
                    body,
                    self.outbox_maxlen,
                ],
            )
        except (redis.RedisError, StoreUnavailableError) as exc:
            self._note_outage(exc)
            return Event("", type, stamp, data)
        self._note_recovery()
        event_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        logger.debug("event %s %s to %s", event_id, type, target)
        return Event(event_id, type, stamp, data)

    def read_after(
        self, user_id: int, *, admin: bool, after: str, count: int = 1000
    ) -> list[Event]:
        """Up to `count` events of the user's streams after `after` (an ID), oldest first."""
        events: list[Event] = []
        for target in targets_for(user_id, admin=admin):
            key = self.keys.stream(target)
            entries: Any = self.redis.xrange(key, f"({after}", "+", count=count)
            events += [_decode(entry_id, fields) for entry_id, fields in entries]
        events.sort(key=lambda e: e.position)
        return events[:count]

    def latest(self, user_id: int, *, admin: bool, count: int) -> list[Event]:
        """The user's newest `count` events, newest first."""
        events: list[Event] = []
        for target in targets_for(user_id, admin=admin):
            entries: Any = self.redis.xrevrange(self.keys.stream(target), "+", "-", count=count)
            events += [_decode(entry_id, fields) for entry_id, fields in entries]
        events.sort(key=lambda e: e.position, reverse=True)
        return events[:count]

    def last_id(self) -> str:
        """The newest ID handed out to any stream ("0-0" before the first event)."""
        raw = self.redis.get(self.keys.last)
        return raw.decode() if isinstance(raw, bytes) else (raw or "0-0")

    def resume_problem(self, user_id: int, *, admin: bool, last_event_id: str) -> str | None:
        """Why the stream cannot resume exactly after `last_event_id`, or None if it can.

        Returns `"malformed"` (not an event ID, or one not handed out yet) or `"too_old"`
        (events after it may have been dropped by the length or age cap).
        """
        position = parse_id(last_event_id)
        if position is None or position > (parse_id(self.last_id()) or (0, 0)):
            return "malformed"
        oldest_kept = (int(time.time() * 1000) - self.max_age_ms, 0)
        if position < oldest_kept:
            return "too_old"
        floors = self.redis.mget([self.keys.floor(t) for t in targets_for(user_id, admin=admin)])
        for raw in floors:
            floor = parse_id(raw.decode() if isinstance(raw, bytes) else raw or "")
            if floor is not None and position < floor:
                return "too_old"
        return None

    def _note_outage(self, exc: Exception) -> None:
        with self._lock:
            first, self._down = not self._down, True
            self._retry_at = time.monotonic() + _RETRY_AFTER_OUTAGE_S
        if first:
            if isinstance(exc, redis.ConnectionError | redis.TimeoutError | StoreUnavailableError):
                logger.warning("events not stored while Redis is unreachable; dropping them")
            else:
                logger.exception("events not stored: Redis refused the publish script")

    def _note_recovery(self) -> None:
        if self._down:
            with self._lock:
                was, self._down = self._down, False
            if was:
                logger.info("events are stored again")


def _decode(entry_id: Any, fields: Any) -> Event:
    event_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    body = fields.get(b"e", fields.get("e"))
    text = body.decode() if isinstance(body, bytes) else str(body)
    return Event.from_stored(event_id, text)


def parse_announcement(message: bytes | str) -> tuple[str, Event]:
    """The target stream and event of a pub/sub announcement from the publish script."""
    text = message.decode() if isinstance(message, bytes) else message
    target, event_id, body = text.split("\n", 2)
    return target, Event.from_stored(event_id, body)
