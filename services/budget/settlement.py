"""Writing a settlement: the ledger row first, then the counters, then alerts.

The ledger row goes first: if Redis is unreachable at that moment the call's record stays
`open`, and the reaper (at the end of its lease) or `reconcile_counters` (sooner) counts
exactly what the ledger says. If SQL is unreachable the counters are still settled (money
safety lives in Redis); such a call is counted in Redis but missing from the ledger.

Counting goes through one script (`scripts.COUNT`) for every writer: the caller's settle,
the reaper and reconciliation. It moves the call's record up from `open` (or missing) to
`prov` to `final` and never back, so a call is counted once however many of them try.
A call charged more than it reserved (a provider that wrote past its limits, or input
above the estimate) is counted at its real cost and logged as an overrun. Where that takes
a counter past its limit, an alert records how far over it is (`alerts`), and every
reservation is refused until the window has room again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.budget import scripts
from services.budget.alerts import Crossing, crossings, publish_alerts, record_crossings
from services.budget.ledger import LedgerRecord, record_call
from services.budget.pricing import TokenUsage
from services.budget.rates import WINDOW_MS, UserRateLimits, epoch_ms, minute_of
from services.budget.types import CallStatus
from services.budget.windows import COUNTER_GRACE, BudgetKeys, CounterRef, Metric, ttl_seconds
from services.events.bus import EventBus

if TYPE_CHECKING:
    from services.budget.guard import Reservation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Charge:
    """What a call is charged: status, nano-USD, and the tokens behind it."""

    status: CallStatus
    nusd: int
    usage: TokenUsage


@dataclass(frozen=True)
class Settlement:
    """The outcome of settling one call.

    Attributes:
        applied: The counters were updated now (False: already settled, or Redis was
            unreachable and the reaper will settle it, or the call was never reserved).
        overrun: The call cost more (money or tokens) than it reserved.
        alerts: Thresholds this settlement crossed for the first time in their window.
    """

    request_id: str
    status: CallStatus
    cost_nusd: int
    tokens: int
    applied: bool
    alerts: tuple[Crossing, ...] = ()
    overrun: bool = False


class SettlementWriter:
    """Applies a `Charge` to the ledger, the counters and the alerts."""

    def __init__(
        self,
        *,
        redis_client: redis.Redis,
        sessions: sessionmaker[Session],
        keys: BudgetKeys,
        rates: UserRateLimits,
        events: EventBus | None = None,
    ) -> None:
        self._redis = redis_client
        self._events = events
        self._sessions = sessions
        self._keys = keys
        self._rates = rates
        self._script = redis_client.register_script(scripts.COUNT)

    def write(
        self,
        reservation: Reservation,
        charge: Charge,
        *,
        latency_ms: int,
        now: datetime,
        provisional: bool = False,
        ledger: bool = True,
    ) -> Settlement:
        """Record `charge` for `reservation`; idempotent by its request id.

        Args:
            provisional: The charge stands in for a call presumed dead (its caller may
                still settle it, which replaces the charge).
            ledger: Write the ledger row (False: the ledger already has it).
        """
        if ledger:
            self._record(reservation, charge, latency_ms)
        tokens = charge.usage.total_tokens
        settled = Settlement(reservation.request_id, charge.status, charge.nusd, tokens, False)
        if not reservation.tracked:
            return settled
        request_id = reservation.request_id
        try:
            out = self.count(
                request_id,
                reservation.counters,
                nusd=charge.nusd,
                tokens=tokens,
                provisional=provisional,
                now=now,
                output_of=reservation.user_id,
                output_tokens=charge.usage.output_tokens,
            )
        except redis.RedisError:
            logger.warning("settle left to the reaper request_id=%s", request_id)
            return settled
        if not out:
            logger.info("already settled request_id=%s", request_id)
            return settled
        estimate = reservation.estimate
        overrun = charge.nusd > estimate.total_nusd or tokens > estimate.total_tokens
        if overrun:
            logger.warning(
                "call cost more than it reserved request_id=%s model=%s reserved_nusd=%d "
                "nusd=%d reserved_tokens=%d tokens=%d",
                request_id,
                reservation.model.name,
                estimate.total_nusd,
                charge.nusd,
                estimate.total_tokens,
                tokens,
            )
        alerts = self.alerts(reservation.counters, reservation.limits, out, now)
        logger.info(
            "settled request_id=%s status=%s nusd=%d tokens=%d latency_ms=%d",
            request_id,
            charge.status.value,
            charge.nusd,
            tokens,
            latency_ms,
        )
        return Settlement(
            request_id, charge.status, charge.nusd, tokens, True, tuple(alerts), overrun
        )

    def count(
        self,
        request_id: str,
        counters: Sequence[CounterRef],
        *,
        nusd: int,
        tokens: int,
        provisional: bool,
        now: datetime,
        output_of: int | None = None,
        output_tokens: int = 0,
    ) -> list[Any]:
        """Count one call in Redis as `nusd`/`tokens` unless it is counted at least as
        finally already (see `scripts.COUNT`); returns the script's report, empty when
        nothing changed.

        Args:
            output_of: The user whose per-minute token limit a final count also takes
                `output_tokens` from (None: no one's).

        Raises:
            redis.RedisError: Redis cannot be reached.
        """
        ttls = [ttl_seconds(ref.span.end + COUNTER_GRACE, now) for ref in counters]
        record = self._keys.reservation(request_id)
        if output_of is None:
            output_tokens = 0
        # With no output to count the script leaves this key alone: the record stands in.
        rate = record if output_of is None else self._keys.rate_tokens(output_of, minute_of(now))
        out = self._script(
            keys=[
                record,
                self._keys.leases,
                self._keys.provisional,
                rate,
                *(self._keys.counter(ref) for ref in counters),
            ],
            args=[
                request_id,
                "prov" if provisional else "final",
                nusd,
                tokens,
                max(ttls),
                epoch_ms(now),
                output_tokens,
                WINDOW_MS,
                self._rates.tokens,
                *ttls,
            ],
        )
        return [] if int(out[0]) == 0 else list(out)

    def _record(self, reservation: Reservation, charge: Charge, latency_ms: int) -> None:
        usage = charge.usage
        record = LedgerRecord(
            request_id=reservation.request_id,
            user_id=reservation.user_id,
            purpose=reservation.purpose.value,
            ref_type=reservation.ref.type.value if reservation.ref else None,
            ref_id=reservation.ref.id if reservation.ref else None,
            provider=reservation.model.provider.value,
            model=reservation.model.name,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_tokens,
            output_tokens=usage.output_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            reserved_nusd=reservation.estimate.total_nusd if reservation.tracked else 0,
            cost_nusd=charge.nusd,
            latency_ms=latency_ms,
            status=charge.status,
            created_at=reservation.reserved_at,
        )
        try:
            record_call(self._sessions, record)
        except SQLAlchemyError:
            logger.exception("ledger row not written request_id=%s", reservation.request_id)

    def alerts(
        self,
        counters: Sequence[CounterRef],
        limits: Sequence[tuple[int, int]],
        out: list[Any],
        now: datetime,
    ) -> list[Crossing]:
        """Record the thresholds that a count (`out`, from `count`) crossed.

        Args:
            counters: The counters counted.
            limits: The (nano-USD, tokens) limit of each of `counters`.
        """
        by_key = {
            self._keys.counter(ref): (ref, limit)
            for ref, limit in zip(counters, limits, strict=False)
        }
        found: list[Crossing] = []
        for i in range(1, len(out), 5):
            key = out[i].decode() if isinstance(out[i], bytes) else out[i]
            if key not in by_key:
                continue
            ref, (lim_nusd, lim_tok) = by_key[key]
            usd_from, usd_to, tok_from, tok_to = (int(v) for v in out[i + 1 : i + 5])
            found += crossings(ref, Metric.USD, limit=lim_nusd, before=usd_from, after=usd_to)
            found += crossings(ref, Metric.TOKENS, limit=lim_tok, before=tok_from, after=tok_to)
        if not found:
            return []
        try:
            fresh = record_crossings(
                found, redis_client=self._redis, sessions=self._sessions, keys=self._keys, now=now
            )
        except redis.RedisError:
            logger.warning("budget alerts not recorded count=%d", len(found))
            return []
        publish_alerts(self._events, fresh)
        return fresh
