"""Pushing events to the sockets of one web process: one pub/sub reader, many subscribers.

The publish script announces every event on one channel. `LiveFanout` reads that channel
in one thread per process and hands each event to the subscriptions of its stream on
their event loop. A subscription holds at most `buffer` events: a client that falls that
far behind is marked `overflowed` (the socket closes it) rather than buffered without end.

Pub/sub drops what is published while its connection is down, so after the reader
reconnects every subscription receives `RESYNC`, and re-reads its streams from the last
event it delivered (`EventBus.read_after`): nothing is lost, and since event IDs are
ordered, nothing is delivered twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from typing import Any, Final

import redis
from redis.client import PubSub

from services.errors import StoreUnavailableError
from services.events.bus import Event, EventBus, parse_announcement, targets_for

logger = logging.getLogger(__name__)

RESYNC: Final = "resync"
_POLL_S = 1.0
_RETRY_S = 1.0
_BATCH = 500


class Subscription:
    """One socket's share of the live events: its streams, type filter and bounded queue.

    Create and read it on the socket's event loop; `LiveFanout` feeds it from its thread.
    """

    def __init__(
        self, user_id: int, *, admin: bool, types: frozenset[str] | None, buffer: int
    ) -> None:
        self.user_id = user_id
        self.targets = targets_for(user_id, admin=admin)
        self.types = types
        self.queue: asyncio.Queue[Event | str] = asyncio.Queue(maxsize=buffer)
        self.overflowed = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def wants(self, event: Event) -> bool:
        return self.types is None or event.type in self.types

    def offer(self, item: Event | str) -> None:
        """Queue `item`; a full queue marks the subscriber too slow (on its own loop)."""
        if isinstance(item, Event) and not self.wants(item):
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed.set()


def _offer_all(items: list[tuple[Subscription, Event]]) -> None:
    for sub, event in items:
        sub.offer(event)


class _WatchedPubSub(PubSub):
    """A PubSub that counts its reconnects (redis-py retries some silently)."""

    reconnects = 0

    def on_connect(self, connection: Any) -> None:
        super().on_connect(connection)
        self.reconnects += 1


class LiveFanout:
    """The process's one reader of the live channel (started on first subscribe)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def subscribe(self, sub: Subscription) -> None:
        """Deliver announcements to `sub` from now on (waits up to 5 s for the reader)."""
        self._ensure_started()
        with self._lock:
            for target in sub.targets:
                self._subs[target].add(sub)
        self._ready.wait(5.0)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            for target in sub.targets:
                self._subs[target].discard(sub)
                if not self._subs[target]:
                    del self._subs[target]

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len({s for subs in self._subs.values() for s in subs})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_POLL_S * 3)

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="events-fanout", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        outage = False
        while not self._stop.is_set():
            pubsub = _WatchedPubSub(self._bus.redis.connection_pool)
            try:
                pubsub.subscribe(self._bus.keys.channel)
                seen = pubsub.reconnects
                if outage:  # announcements made while it was down were missed
                    logger.info("live events reader reconnected")
                    self._broadcast(RESYNC)
                    outage = False
                self._ready.set()
                while not self._stop.is_set():
                    batch = self._read_batch(pubsub)
                    if pubsub.reconnects != seen:
                        seen = pubsub.reconnects
                        self._broadcast(RESYNC)
                    if batch:
                        self._deliver(batch)
            except (redis.RedisError, StoreUnavailableError, OSError) as exc:
                if not outage:
                    logger.warning("live events reader lost Redis: %s", type(exc).__name__)
                outage = True
                self._stop.wait(_RETRY_S)
            finally:
                pubsub.close()

    @staticmethod
    def _read_batch(pubsub: PubSub) -> list[bytes | str]:
        """The next announcement (waiting up to a poll) and any already arrived after it."""
        found: list[bytes | str] = []
        timeout = _POLL_S
        while len(found) < _BATCH:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if message is None:
                break
            if message.get("type") == "message":
                found.append(message["data"])
            timeout = 0.0
        return found

    def _deliver(self, batch: list[bytes | str]) -> None:
        """Hand each event to its stream's subscribers: one wake-up per event loop per batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscription, Event]]] = {}
        with self._lock:
            for raw in batch:
                try:
                    target, event = parse_announcement(raw)
                except (ValueError, KeyError):
                    logger.warning("live events: an announcement could not be read")
                    continue
                for sub in self._subs.get(target, ()):
                    by_loop.setdefault(sub.loop, []).append((sub, event))
        for loop, items in by_loop.items():
            loop.call_soon_threadsafe(_offer_all, items)

    def _broadcast(self, item: str) -> None:
        with self._lock:
            subs = list({s for group in self._subs.values() for s in group})
        for sub in subs:
            sub.loop.call_soon_threadsafe(sub.offer, item)
