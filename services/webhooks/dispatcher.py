"""The worker side of outgoing webhooks: from the event outbox to signed deliveries.

Every event `EventBus.publish` stores is also appended to the outbox stream in the same
Lua script. The dispatcher reads it through a consumer group, so events published while
no worker runs wait there, and an entry is acknowledged only once its delivery rows are
committed in SQL (read twice after a crash, it adds none: a delivery's ID is derived
from the endpoint and the event, and is the `webhook-id` of every attempt).

Sending (the fast path): new deliveries go straight to a thread pool, at most
`WEBHOOK_ENDPOINT_CONCURRENCY` at once per endpoint, so a hanging or failing receiver
holds only its own slots and never delays the others. Outcomes are written in batches by
one writer thread. A failed attempt is retried after the next delay of the schedule
(with jitter); due retries, test events and replays are claimed from SQL every
`WEBHOOK_POLL_SECONDS` under a lease, so several workers never send the same attempt and
a dead worker's deliveries are taken over when its lease ends. An endpoint failing for
`WEBHOOK_DISABLE_AFTER_SECONDS` is disabled, and its owner gets a
`webhook.endpoint.disabled` event (their in-app notification).

Store outages never end the loop: it logs once, backs off and carries on; unacknowledged
outbox entries are read again.
"""

from __future__ import annotations

import collections
import logging
import queue
import random
import threading
import time
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from services.errors import StoreUnavailableError
from services.events.bus import Event, EventBus, parse_id
from services.events.types import WEBHOOK_ENDPOINT_DISABLED
from services.metrics import Metrics
from services.webhooks.deliveries import DeliveryStore, Job, LiveEndpoint, Outcome
from services.webhooks.sender import DeliverySender
from services.webhooks.signing import message_id
from services.webhooks.types import PENDING

logger = logging.getLogger(__name__)

GROUP = "webhooks"
READ_COUNT = 500
LEASE = timedelta(minutes=5)
MAX_QUEUED_PER_ENDPOINT = 1000
RECLAIM_EVERY_S = 30.0
OVERDUE_EVERY_S = 60.0
RECLAIM_IDLE_MS = 60_000
MAX_BACKOFF_S = 30.0
OUTAGES = (redis.RedisError, StoreUnavailableError, SQLAlchemyError)


class WebhookDispatcher:
    """Reads the outbox, sends deliveries and retries them (`start`, then `stop`).

    Args:
        settings: the `WEBHOOK_*` settings.
        bus: the event bus (its Redis and outbox key; publishes the disabled alert).
        store: the SQL side of deliveries.
        consumer: this worker's stable name (a restart resumes what it had read).
        metrics: Where each attempt's outcome and latency are counted (optional).
    """

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        store: DeliveryStore,
        *,
        consumer: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._bus = bus
        self._redis = bus.redis
        self._outbox = bus.keys.outbox
        self._store = store
        self._consumer = consumer
        self._delays = settings.webhook_retry_delays
        self._jitter = settings.webhook_retry_jitter
        self._disable_after = timedelta(seconds=settings.webhook_disable_after_seconds)
        self._per_endpoint = settings.webhook_endpoint_concurrency
        self._sender = DeliverySender(
            timeout_seconds=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private_targets,
            pool_size=settings.webhook_endpoint_concurrency,
        )
        self._pool = ThreadPoolExecutor(
            settings.webhook_delivery_threads, thread_name_prefix="webhook"
        )
        self._endpoints: dict[str, LiveEndpoint] = {}
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque[Job]] = collections.defaultdict(collections.deque)
        self._inflight: collections.Counter[str] = collections.Counter()
        self._held: set[str] = set()  # queued, sending, or sent but not yet recorded
        self._running: set[futures.Future[None]] = set()
        self._outcomes: queue.Queue[Outcome | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failures = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("webhook-dispatch", self._run), ("webhook-record", self._write)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("webhook dispatcher %s running", self._consumer)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop reading and claiming; let the attempts in flight finish (for up to
        `timeout` seconds), and record every outcome before returning.

        A receiver that already has an attempt must not get it again from the next worker,
        so an attempt is not abandoned between sending and recording. Queued attempts that
        never started stay pending; their lease is released when this consumer restarts.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads[:1]:  # the loop: nothing new after this
            thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = list(self._running)
        futures.wait(running, timeout=max(0.0, deadline - time.monotonic()))
        self._outcomes.put(None)  # after every outcome of a finished attempt
        for thread in self._threads[1:]:
            thread.join(max(0.1, deadline - time.monotonic()))
        self._sender.close()

    # -- the main loop -------------------------------------------------------------------

    def _run(self) -> None:
        backlog = True  # first read what this consumer had taken and not acknowledged
        ready = False
        next_poll = next_reclaim = next_overdue = 0.0
        while not self._stop.is_set():
            try:
                if not ready:
                    self._ensure_group()
                    self._store.release(self._consumer)
                    ready = True
                if backlog:
                    backlog = self._read("0", block_ms=None) > 0
                else:
                    self._read(">", block_ms=100)
                now = time.monotonic()
                if now >= next_reclaim:
                    self._reclaim()
                    next_reclaim = now + RECLAIM_EVERY_S
                if now >= next_poll:
                    self._poll_due()
                    next_poll = now + self._settings.webhook_poll_seconds
                if now >= next_overdue:
                    self._disable_overdue()
                    next_overdue = now + min(OVERDUE_EVERY_S, self._disable_after.total_seconds())
                self._note_recovery()
            except OUTAGES as exc:
                # Make the group again (Redis may have restarted empty) and let go of leases,
                # so deliveries committed before an unacknowledged read are sent at once.
                ready = False
                backlog = True
                self._note_outage(exc)
            except Exception:
                logger.exception("webhook dispatcher error; carrying on")
                backlog = True
                self._stop.wait(1.0)

    def _ensure_group(self) -> None:
        try:
            self._redis.xgroup_create(self._outbox, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _read(self, after: str, *, block_ms: int | None) -> int:
        reply: Any = self._redis.xreadgroup(
            GROUP, self._consumer, {self._outbox: after}, count=READ_COUNT, block=block_ms
        )
        entries = reply[0][1] if reply else []
        if entries:
            self._dispatch(entries)
        return len(entries)

    def _reclaim(self) -> None:
        """Take over entries another consumer read and never acknowledged (it died)."""
        reply: Any = self._redis.xautoclaim(
            self._outbox, GROUP, self._consumer, RECLAIM_IDLE_MS, "0-0", count=READ_COUNT
        )
        entries = [e for e in reply[1] if e and e[1]] if reply else []
        if entries:
            self._dispatch(entries)

    def _dispatch(self, entries: list[Any]) -> None:
        """Delivery rows for the events of `entries`, committed, then acknowledged."""
        now = datetime.now(UTC)
        self._endpoints = self._store.live_endpoints(now)
        rows: list[dict[str, object]] = []
        for _, fields in entries:
            rows += self._rows_for(_text(fields, "id"), _text(fields, "t"), _text(fields, "e"), now)
        jobs = self._store.add(rows, owner=self._consumer, lease_until=now + LEASE)
        self._redis.xack(self._outbox, GROUP, *[entry_id for entry_id, _ in entries])
        for job in jobs:
            self._enqueue(job)

    def _rows_for(
        self, event_id: str, target: str, body: str, now: datetime
    ) -> list[dict[str, object]]:
        if not event_id or not body:
            return []
        event = Event.from_stored(event_id, body)
        at = datetime.fromtimestamp((parse_id(event_id) or (0, 0))[0] / 1000, UTC)
        payload = event.text
        rows: list[dict[str, object]] = []
        for endpoint in self._endpoints.values():
            if event.type not in endpoint.events or endpoint.created_at > at:
                continue
            mine = target == f"u:{endpoint.owner_id}"
            if not (mine or (target == "org" and endpoint.owner_admin)):
                continue
            rows.append(
                {
                    "id": message_id(endpoint.id, event_id),
                    "endpoint_id": endpoint.id,
                    "event_id": event_id,
                    "event_type": event.type,
                    "payload": payload,
                    "status": PENDING,
                    "attempts": 0,
                    "retries": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        return rows

    def _poll_due(self) -> None:
        """Claim due retries, tests and replays (endpoints with room in their queue)."""
        now = datetime.now(UTC)
        self._endpoints = self._store.live_endpoints(now)
        with self._lock:
            held = set(self._held)
            room = [e for e in self._endpoints if len(self._queues[e]) < MAX_QUEUED_PER_ENDPOINT]
        jobs = self._store.claim_due(
            owner=self._consumer,
            now=now,
            lease_until=now + LEASE,
            limit=READ_COUNT,
            skip=held,
            endpoints=room,
        )
        for job in jobs:
            self._enqueue(job)

    def _disable_overdue(self) -> None:
        found = self._store.disable_overdue(
            now=datetime.now(UTC), disable_after=self._disable_after
        )
        for endpoint in found:
            self._alert(endpoint.id, endpoint.owner_id, endpoint.url, endpoint.failing_since)

    # -- sending -------------------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            if job.id in self._held:
                return
            self._held.add(job.id)
            self._queues[job.endpoint_id].append(job)
            self._pump(job.endpoint_id)

    def _pump(self, endpoint_id: str) -> None:
        """Start queued jobs of one endpoint while it has free slots (caller holds the lock)."""
        waiting = self._queues[endpoint_id]
        while waiting and self._inflight[endpoint_id] < self._per_endpoint:
            job = waiting.popleft()
            self._inflight[endpoint_id] += 1
            try:
                future = self._pool.submit(self._attempt, job)
            except RuntimeError:  # the pool is shut down: we are stopping
                self._inflight[endpoint_id] -= 1
                return
            self._running.add(future)
            future.add_done_callback(self._running.discard)

    def _attempt(self, job: Job) -> None:
        try:
            endpoint = self._endpoints.get(job.endpoint_id)
            if endpoint is None:
                self._outcomes.put(Outcome(job, None, None))
                return
            started = time.monotonic()
            result = self._sender.send(endpoint.url, job.id, job.payload.encode(), endpoint.signers)
            later = None if result.ok else self._next_attempt(job.retries)
            if self._metrics is not None:
                outcome = "delivered" if result.ok else "retrying" if later else "failed"
                self._metrics.webhook_attempt(outcome, time.monotonic() - started)
            self._outcomes.put(Outcome(job, result, later))
        except Exception:
            logger.exception("webhook attempt %s failed unexpectedly", job.id)
            with self._lock:
                self._held.discard(job.id)  # the lease ends; a poll takes it again
        finally:
            with self._lock:
                self._inflight[job.endpoint_id] -= 1
                self._pump(job.endpoint_id)

    def _next_attempt(self, retries: int) -> datetime | None:
        if retries >= len(self._delays):
            return None
        spread = 1 + random.uniform(-self._jitter, self._jitter)
        return datetime.now(UTC) + timedelta(seconds=self._delays[retries] * spread)

    # -- recording -----------------------------------------------------------------------

    def _write(self) -> None:
        """Write outcomes in batches until `stop`'s end mark; on an outage keep them and
        try again (while stopping, an outage ends it: those stay pending, sent again)."""
        pending: list[Outcome] = []
        closing = False
        while not closing:
            item = self._outcomes.get()
            if item is None:
                closing = True
            else:
                pending.append(item)
            while not closing and len(pending) < READ_COUNT:
                try:
                    more = self._outcomes.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                else:
                    pending.append(more)
            while pending:
                try:
                    disabled = self._store.record(
                        pending, now=datetime.now(UTC), disable_after=self._disable_after
                    )
                except OUTAGES as exc:
                    self._note_outage(exc)
                    if self._stop.is_set():
                        return
                    continue
                with self._lock:
                    self._held.difference_update(o.job.id for o in pending)
                pending = []
                for endpoint in disabled:
                    self._alert(
                        endpoint.id, endpoint.owner_id, endpoint.url, endpoint.failing_since
                    )

    def _alert(self, endpoint_id: str, owner_id: int, url: str, since: datetime) -> None:
        logger.warning("webhook endpoint %s disabled after failing since %s", endpoint_id, since)
        self._bus.publish(
            WEBHOOK_ENDPOINT_DISABLED,
            {
                "endpoint_id": endpoint_id,
                "url": url,
                "failing_since": since.isoformat(),
                "message": f"Webhook endpoint {url} was disabled: every delivery failed "
                f"since {since:%Y-%m-%d %H:%M} UTC.",
            },
            user_id=owner_id,
        )

    # -- outages -------------------------------------------------------------------------

    def _note_outage(self, exc: Exception) -> None:
        self._failures += 1
        if self._failures == 1:
            logger.warning(
                "webhook dispatcher: a store is unreachable (%s); retrying", type(exc).__name__
            )
        self._stop.wait(min(MAX_BACKOFF_S, 0.5 * 2 ** min(self._failures, 6)))

    def _note_recovery(self) -> None:
        if self._failures:
            logger.info("webhook dispatcher: stores reachable again")
            self._failures = 0


def _text(fields: Any, name: str) -> str:
    value = fields.get(name.encode(), fields.get(name))
    return value.decode() if isinstance(value, bytes) else str(value or "")
