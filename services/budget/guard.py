"""The budget guard: reserve a call's worst case before it runs, settle it after.

`reserve`, in one Lua script, takes the call from the per-minute limits, then checks every
counter the call counts against (user day and month, org day and month; money and tokens)
and, only if all have room, adds the worst case to each, stores the reservation under its
request id with a lease, and adds the lease to a sorted set. `settle` writes the ledger row (insert-
or-ignore by request id) and replaces the reserved amount with the actual one in a second
script, which does nothing when the call is already counted: settling twice charges once
(see `services.budget.scripts` for the call records that make this hold). Leases that
nobody settles are settled by the reaper (`services.budget.reaper`).

The reservation is a true upper bound when the provider keeps to the request: input
estimate plus the output cap plus the thinking budget of the model table, all output
priced at the output rate. When a budget has less room than that but enough for the
minimum useful output, the call is reserved with its output lowered to fit
(`fit_output`), and the model is asked for no more (`services.llm.guarded`); a budget
with less room than that is used up, and its 100% alert fires. A provider that still
reports more is charged what it reports (see `services.budget.settlement`).

Redis unreachable: paid models are refused (fail closed). A model whose prices are all
zero may still run, unreserved and uncounted against token budgets and rate limits; its
ledger row is written as usual, since SQL does not depend on Redis.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import redis
from langchain_core.messages import BaseMessage
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from services.budget import scripts
from services.budget.alerts import Crossing, record_crossings
from services.budget.budgets import AppliedLimits, BudgetStore, CachedLimits
from services.budget.errors import BudgetStoreUnavailableError, SpendLimitExceededError
from services.budget.ledger import find_call
from services.budget.pricing import CostEstimate, TokenUsage, cost_nusd, estimate_call
from services.budget.rates import WINDOW_MS, UserRateLimits, epoch_ms, minute_of
from services.budget.settlement import Charge, Settlement, SettlementWriter
from services.budget.types import CallRef, CallStatus, Purpose, RefType
from services.budget.windows import (
    COUNTER_GRACE,
    BudgetKeys,
    CounterRef,
    Metric,
    counters_for,
    ttl_seconds,
)
from services.errors import InvalidInputError
from services.events.bus import EventBus
from services.llm.catalog import ModelCatalog, ModelSpec
from services.orm import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    """A reserved call. `tracked` is False for a free model that ran while Redis was down."""

    request_id: str
    user_id: int
    model: ModelSpec
    purpose: Purpose
    ref: CallRef | None
    estimate: CostEstimate
    reserved_at: datetime
    tracked: bool = True
    limits: tuple[tuple[int, int], ...] = ()
    """(nano-USD, tokens) limit of each counter when the call was reserved (for alerts)."""

    @functools.cached_property
    def counters(self) -> list[CounterRef]:
        """The counters this call counts against, in the windows it was reserved in (worked
        out once: reserve, settle and alerts each read them)."""
        return counters_for(self.user_id, self.reserved_at)

    def meta(self) -> dict[str, Any]:
        """What the reaper and alerts need later, stored with the reservation in Redis."""
        return {
            "u": self.user_id,
            "m": self.model.name,
            "p": self.purpose.value,
            "rt": self.ref.type.value if self.ref else None,
            "ri": self.ref.id if self.ref else None,
            "at": self.reserved_at.isoformat(),
            "e": [self.estimate.input_tokens, self.estimate.output_tokens],
            "en": [self.estimate.input_nusd, self.estimate.total_nusd],
            "l": [list(limits) for limits in self.limits],
        }

    @classmethod
    def from_meta(cls, request_id: str, meta: dict[str, Any], catalog: ModelCatalog) -> Reservation:
        (in_tok, out_tok), (in_nusd, total_nusd) = meta["e"], meta["en"]
        return cls(
            request_id=request_id,
            user_id=int(meta["u"]),
            model=catalog.get(meta["m"]),
            purpose=Purpose(meta["p"]),
            ref=CallRef(RefType(meta["rt"]), meta["ri"]) if meta["rt"] else None,
            estimate=CostEstimate(in_tok, out_tok, in_nusd, total_nusd),
            reserved_at=datetime.fromisoformat(meta["at"]),
            limits=tuple((int(n), int(t)) for n, t in meta["l"]),
        )


class BudgetGuard:
    """Reserve, settle and refund model calls against every budget that applies.

    Args:
        redis_client: The app's Redis (`Services.redis`).
        sessions: The SQL session factory (`Services.sql`).
        settings: Key prefix, defaults, lease, safety factor and rate limits.
        catalog: The model table, for prices and output caps.
        clock: Returns the current aware UTC time; injected by tests (day rollover).
        events: Where new budget alerts are published (`budget.alert`); None: nowhere.
    """

    def __init__(
        self,
        *,
        redis_client: redis.Redis,
        sessions: sessionmaker[Session],
        settings: Settings,
        catalog: ModelCatalog,
        clock: Callable[[], datetime] = utcnow,
        events: EventBus | None = None,
    ) -> None:
        self.redis = redis_client
        self.sql = sessions
        self.catalog = catalog
        self.clock = clock
        self.keys = BudgetKeys(settings.redis_key_prefix)
        self.budgets = BudgetStore(sessions=sessions, redis_client=redis_client, settings=settings)
        self.rates = UserRateLimits.from_settings(settings)
        self._lease = timedelta(seconds=settings.budget_reservation_lease_seconds)
        self._safety_factor = settings.budget_estimate_safety_factor
        self._min_output = settings.budget_min_output_tokens
        self._reserve_script = redis_client.register_script(scripts.RESERVE)
        self.settlements = SettlementWriter(
            redis_client=redis_client,
            sessions=sessions,
            keys=self.keys,
            rates=self.rates,
            events=events,
        )

    def estimate(
        self, model: str, messages: Sequence[BaseMessage], *, tools: Sequence[dict[str, Any]] = ()
    ) -> CostEstimate:
        """The worst case of sending `messages` (and `tools`) to `model`."""
        return estimate_call(
            self.catalog.get(model), messages, tools=tools, safety_factor=self._safety_factor
        )

    def reserve(
        self,
        *,
        user_id: int,
        model: str,
        purpose: Purpose,
        estimate: CostEstimate,
        ref: CallRef | None = None,
        request_id: str | None = None,
        shorten: bool = False,
    ) -> Reservation:
        """Reserve `estimate` against every limit of `user_id`, or refuse.

        With `shorten` (a caller that asks the model for no more than the reservation's
        `estimate.output_tokens`), a call without room for its worst case is reserved
        with its output lowered to fit (`fit_output`), if that leaves a useful answer.

        Raises:
            RateLimitExceededError: A per-minute limit would be crossed (the budgets are
                not checked then).
            SpendLimitExceededError: A budget would be crossed; names which one.
            BudgetStoreUnavailableError: Redis is down and `model` is not free.
        """
        reservation = Reservation(
            request_id=request_id or uuid.uuid4().hex,
            user_id=user_id,
            model=self.catalog.get(model),
            purpose=purpose,
            ref=ref,
            estimate=estimate,
            reserved_at=self.clock(),
        )
        try:
            # The limits this process saw last, checked against the cache by the script
            # itself (one round trip); read again only when they changed or expired.
            seen = self.budgets.last_seen(user_id)
            if seen is not None:
                limits = seen.applied
                limited = self._limited(reservation, limits)
                outcome = self._run_reserve(limited, seen)
            if seen is None or outcome[0] == -2:
                limits = self.budgets.applied_limits(user_id)
                limited = self._limited(reservation, limits)
                outcome = self._run_reserve(limited, None)
            reservation = limited
        except redis.RedisError as exc:
            if not reservation.model.is_free:
                logger.warning("redis unreachable: paid call refused user_id=%s", user_id)
                raise BudgetStoreUnavailableError(reservation.model.name) from exc
            logger.warning("redis unreachable: free model runs unreserved user_id=%s", user_id)
            return _untracked(reservation)
        if outcome[0] == -3:
            kind = outcome[1].decode() if isinstance(outcome[1], bytes) else str(outcome[1])
            raise self.rates.refusal(kind, float(outcome[2]), reservation.estimate.input_tokens)
        if outcome[0] == -1:
            raise InvalidInputError(f"Request id {reservation.request_id} was already reserved.")
        if shorten and outcome[0] == 0 and (fitted := self.fit_output(reservation)) is not None:
            # Too little room for the worst case, maybe enough for a shorter answer.
            reservation = replace(reservation, estimate=fitted)
            outcome = self._run_reserve(reservation, None, rates_counted=True)
        if outcome[0] == 0:
            self._alert_used_up(reservation, outcome)
            raise _refusal(reservation, limits, outcome)
        logger.debug(
            "reserved request_id=%s nusd=%d",
            reservation.request_id,
            reservation.estimate.total_nusd,
        )
        return reservation

    def fit_output(self, reservation: Reservation) -> CostEstimate | None:
        """The estimate with its output lowered to what every counter still has room for,
        never below the minimum useful output (`BUDGET_MIN_OUTPUT_TOKENS`); None when the
        output cannot be lowered. A refused call is retried with it once: what fits in
        `limits - current` now is checked again, atomically, by the reservation.
        """
        estimate, spec = reservation.estimate, reservation.model
        least = min(self._min_output, estimate.output_tokens)
        if estimate.output_tokens <= least:
            return None
        refs = reservation.counters
        with self.redis.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hmget(self.keys.counter(ref), "nusd", "tok")
            current = pipe.execute()
        rates = spec.rates_for(estimate.input_tokens)
        room = estimate.output_tokens
        for (limit_nusd, limit_tokens), (nusd, tokens) in zip(
            reservation.limits, current, strict=True
        ):
            if limit_nusd > 0 and rates.output_nusd > 0:
                left = limit_nusd - int(nusd or 0) - estimate.input_nusd
                room = min(room, left // rates.output_nusd)
            if limit_tokens > 0:
                room = min(room, limit_tokens - int(tokens or 0) - estimate.input_tokens)
        output = max(room, least)  # below the minimum: reserved, and so refused, at it
        return replace(
            estimate,
            output_tokens=output,
            total_nusd=estimate.input_nusd + output * rates.output_nusd,
        )

    def _alert_used_up(self, reservation: Reservation, outcome: list[Any]) -> None:
        """A budget too low for even the minimum useful output is used up: its 100% alert
        fires (once per window, as when spending reaches the limit), though calls lowered
        to fit may have stopped it just short of 100%."""
        _, index, field, current = outcome
        ref = reservation.counters[int(index) - 1]
        limit_nusd, limit_tokens = reservation.limits[int(index) - 1]
        least = min(self._min_output, reservation.model.reserved_output_tokens)
        if (field.decode() if isinstance(field, bytes) else field) == "nusd":
            rate = reservation.model.rates_for(reservation.estimate.input_tokens).output_nusd
            metric, limit, smallest = Metric.USD, limit_nusd, least * rate
        else:
            metric, limit, smallest = Metric.TOKENS, limit_tokens, least
        if limit - int(current) >= smallest:
            return  # room for a shorter call: this one was refused for its own size
        crossing = Crossing(ref, metric, 100, limit, int(current))
        try:
            record_crossings(
                [crossing],
                redis_client=self.redis,
                sessions=self.sql,
                keys=self.keys,
                now=self.clock(),
            )
        except redis.RedisError:
            logger.warning("budget alert not recorded user_id=%s", reservation.user_id)

    def settle(
        self, reservation: Reservation, usage: TokenUsage | None, *, latency_ms: int
    ) -> Settlement:
        """Charge the actual cost of a completed call; without usage, keep the estimate."""
        if usage is None:
            estimate = reservation.estimate
            kept = TokenUsage(estimate.input_tokens, estimate.output_tokens)
            charge = Charge(CallStatus.ESTIMATED, estimate.total_nusd, kept)
        else:
            charge = Charge(CallStatus.OK, cost_nusd(reservation.model, usage), usage)
        return self.settlements.write(reservation, charge, latency_ms=latency_ms, now=self.clock())

    def refund(self, reservation: Reservation, *, latency_ms: int) -> Settlement:
        """The provider refused the call before generating anything: charge nothing."""
        charge = Charge(CallStatus.ERROR, 0, TokenUsage(0, 0))
        return self.settlements.write(reservation, charge, latency_ms=latency_ms, now=self.clock())

    def charge_input(
        self,
        reservation: Reservation,
        *,
        status: CallStatus,
        latency_ms: int,
        partial: TokenUsage | None = None,
    ) -> Settlement:
        """A call cancelled, timed out or broken mid-answer: charge its input estimate, or
        what the provider already reported (`partial`) when that is more."""
        charge = _input_charge(reservation, status)
        partial_cost = cost_nusd(reservation.model, partial) if partial is not None else 0
        if partial is not None and partial_cost > charge.nusd:
            charge = Charge(status, partial_cost, partial)
        return self.settlements.write(reservation, charge, latency_ms=latency_ms, now=self.clock())

    def settle_expired(self, request_id: str) -> Settlement | None:
        """Settle a reservation whose lease ran out (the reaper's step for one lease).

        When the ledger already has the call (its caller wrote the row but could not reach
        Redis), its recorded cost is counted; otherwise the input estimate, as `expired`
        and provisionally, so that a caller who settles late still replaces it.
        """
        raw = self.redis.hget(self.keys.reservation(request_id), "meta")
        if raw is None:  # counted already
            self.redis.zrem(self.keys.leases, request_id)
            return None
        reservation = Reservation.from_meta(request_id, json.loads(raw), self.catalog)
        row = find_call(self.sql, request_id)
        now = self.clock()
        if row is None:
            charge = _input_charge(reservation, CallStatus.EXPIRED)
            return self.settlements.write(
                reservation, charge, latency_ms=0, now=now, provisional=True
            )
        usage = TokenUsage(
            row.input_tokens, row.output_tokens, row.cached_tokens, row.reasoning_tokens
        )
        status = CallStatus(row.status)
        return self.settlements.write(
            reservation,
            Charge(status, row.cost_nusd, usage),
            latency_ms=row.latency_ms,
            now=now,
            provisional=status is CallStatus.EXPIRED,
            ledger=False,
        )

    @staticmethod
    def _limited(reservation: Reservation, limits: AppliedLimits) -> Reservation:
        return replace(
            reservation, limits=tuple(limits.for_counter(r) for r in reservation.counters)
        )

    def _run_reserve(
        self, reservation: Reservation, seen: CachedLimits | None, *, rates_counted: bool = False
    ) -> list[Any]:
        now, estimate, refs = reservation.reserved_at, reservation.estimate, reservation.counters
        args: list[Any] = [len(refs), estimate.total_nusd, estimate.total_tokens]
        ttls = [ttl_seconds(ref.span.end + COUNTER_GRACE, now) for ref in refs]
        for limits, ttl in zip(reservation.limits, ttls, strict=True):
            args += [*limits, ttl]
        lease_deadline = now + self._lease
        # The call's record lives as long as its counters: until then, it is what tells
        # every writer whether (and how) the call is counted.
        args += [
            reservation.request_id,
            int(lease_deadline.timestamp() * 1000),
            max(ttls),
            json.dumps(reservation.meta(), separators=(",", ":")),
            epoch_ms(now),
            WINDOW_MS,
            self.rates.requests,
            self.rates.tokens,
            max(estimate.input_tokens, 1),
            seen.user_raw if seen is not None else "",
            seen.org_raw if seen is not None else "",
            "1" if rates_counted else "",
        ]
        minute, user_id = minute_of(now), reservation.user_id
        keys = [self.keys.counter(r) for r in refs]
        keys += [
            self.keys.reservation(reservation.request_id),
            self.keys.leases,
            self.keys.rate_requests(user_id),
            self.keys.rate_tokens(user_id, minute),
            self.keys.rate_tokens(user_id, minute - 1),
            self.keys.limits(user_id),
            self.keys.limits(None),
        ]
        return list(self._reserve_script(keys=keys, args=args))


def _input_charge(reservation: Reservation, status: CallStatus) -> Charge:
    estimate = reservation.estimate
    return Charge(status, estimate.input_nusd, TokenUsage(estimate.input_tokens, 0))


def _untracked(reservation: Reservation) -> Reservation:
    return replace(reservation, tracked=False)


def _refusal(
    reservation: Reservation, limits: AppliedLimits, outcome: list[Any]
) -> SpendLimitExceededError:
    _, index, field, current = outcome
    ref = reservation.counters[int(index) - 1]
    is_money = (field.decode() if isinstance(field, bytes) else field) == "nusd"
    limit_nusd, limit_tokens = limits.for_counter(ref)
    estimate = reservation.estimate
    logger.info(
        "call refused user_id=%s counter=%s:%s metric=%s",
        reservation.user_id,
        ref.owner,
        ref.span.label,
        "usd" if is_money else "tokens",
    )
    return SpendLimitExceededError(
        scope=ref.scope,
        window=ref.span.window,
        metric=Metric.USD if is_money else Metric.TOKENS,
        limit=limit_nusd if is_money else limit_tokens,
        used=int(current),
        needed=estimate.total_nusd if is_money else estimate.total_tokens,
        resets_at=ref.span.end,
    )
