"""One guarded model call: reserved when it starts, settled exactly once when it ends.

How a call ended decides what it costs:
- answered: the usage the provider reported (or, with none reported, the reservation);
- refused by the provider before any output (HTTP error, unreachable): nothing;
- timed out, cancelled, or broken after output began: the input estimate, or the usage
  already reported when that is more (the provider may bill what it processed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.messages import BaseMessage

from services.budget.errors import RateLimitExceededError, SpendLimitExceededError
from services.budget.guard import BudgetGuard, Reservation
from services.budget.pricing import TokenUsage
from services.budget.settlement import Settlement
from services.budget.types import CallRef, CallStatus, Purpose
from services.errors import BudgetExceededError
from services.llm.errors import is_timeout
from services.metrics import Metrics

_CANCELLATIONS = (GeneratorExit, asyncio.CancelledError, KeyboardInterrupt)

_tallies: ContextVar[tuple[list[Settlement], ...]] = ContextVar("model_call_tallies", default=())


@contextmanager
def tallied() -> Iterator[list[Settlement]]:
    """Collect the settlement of every guarded call made inside the block: in this thread,
    and in the threads and tasks started from it with a copy of its context (LangGraph's
    nodes and tools, `asyncio.to_thread`). Blocks nest; each collects what ran inside it.

    What a turn cost is the sum of its own settlements, the very figures its ledger rows
    hold, with no query after the turn (and no other turn's calls mixed in).
    """
    settlements: list[Settlement] = []
    token = _tallies.set((*_tallies.get(), settlements))
    try:
        yield settlements
    finally:
        _tallies.reset(token)


def _tally(settlement: Settlement) -> Settlement:
    for settlements in _tallies.get():
        settlements.append(settlement)
    return settlement


class ModelCall:
    """The reservation of one call and the clock that times it."""

    def __init__(
        self, guard: BudgetGuard, reservation: Reservation, metrics: Metrics | None = None
    ) -> None:
        self.guard = guard
        self.reservation = reservation
        self.metrics = metrics
        self._started = time.monotonic()
        self._settlement: Settlement | None = None

    @classmethod
    def start(
        cls,
        guard: BudgetGuard,
        *,
        user_id: int,
        model_name: str,
        purpose: Purpose,
        ref: CallRef | None,
        messages: Sequence[BaseMessage],
        tools: Sequence[dict[str, Any]],
        metrics: Metrics | None = None,
    ) -> ModelCall:
        """Estimate and reserve; raises the guard's refusal when a limit would be crossed."""
        estimate = guard.estimate(model_name, messages, tools=tools)
        # `shorten`: the call is sent with the output limit of its reservation (see
        # `output_limit`), so a budget's last room can still hold a shorter answer.
        try:
            reservation = guard.reserve(
                user_id=user_id,
                model=model_name,
                purpose=purpose,
                estimate=estimate,
                ref=ref,
                shorten=True,
            )
        except BudgetExceededError as refusal:
            if metrics is not None:
                metrics.refused(refused_limit(refusal))
            raise
        return cls(guard, reservation, metrics)

    @property
    def output_limit(self) -> int | None:
        """The output tokens (thinking included) this call was lowered to, to fit what is
        left of a budget; None when it may write the model's full output."""
        output = self.reservation.estimate.output_tokens
        return output if output < self.reservation.model.reserved_output_tokens else None

    @property
    def latency_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def succeed(self, message: BaseMessage | None) -> Settlement:
        """Settle a completed call to the usage on `message` (its estimate if none)."""
        if self._settlement is not None:
            return self._settlement
        usage = TokenUsage.from_metadata(getattr(message, "usage_metadata", None))
        self._settlement = _tally(
            self.guard.settle(self.reservation, usage, latency_ms=self.latency_ms)
        )
        self._count(self._settlement)
        return self._settlement

    def fail(self, error: BaseException, partial: BaseMessage | None = None) -> Settlement:
        """Settle a call that ended with `error`; `partial` is the output received so far."""
        if self._settlement is not None:
            return self._settlement
        reported = TokenUsage.from_metadata(getattr(partial, "usage_metadata", None))
        latency_ms = self.latency_ms
        status: CallStatus | None = None
        if isinstance(error, _CANCELLATIONS):
            status = CallStatus.CANCELLED
        elif partial is not None or is_timeout(error):
            # Any client's timeout (google-genai's vendored httpx2 as well as httpx): the
            # provider may have processed, and billed, the input.
            status = CallStatus.ERROR
        if status is None:
            self._settlement = _tally(self.guard.refund(self.reservation, latency_ms=latency_ms))
        else:
            self._settlement = _tally(
                self.guard.charge_input(
                    self.reservation, status=status, latency_ms=latency_ms, partial=reported
                )
            )
        self._count(self._settlement)
        return self._settlement

    def _count(self, settlement: Settlement) -> None:
        if self.metrics is not None:
            reservation = self.reservation
            self.metrics.model_call(
                reservation.model.name,
                reservation.purpose.value,
                settlement.status.value,
                settlement.tokens,
                settlement.cost_nusd,
            )

    async def asucceed(self, message: BaseMessage | None) -> Settlement:
        """`succeed` off the event loop, shielded: a cancelled caller still settles."""
        return await _shielded(self.succeed, message)

    async def afail(self, error: BaseException, partial: BaseMessage | None = None) -> Settlement:
        """`fail` off the event loop, shielded: a cancelled caller still settles."""
        return await _shielded(self.fail, error, partial)


def refused_limit(refusal: BudgetExceededError) -> str:
    """The limit a refusal names, as a metric label: `user_day_usd`, `rate_requests`."""
    if isinstance(refusal, SpendLimitExceededError):
        return f"{refusal.scope}_{refusal.window}_{refusal.metric}"
    if isinstance(refusal, RateLimitExceededError):
        return f"rate_{refusal.kind}"
    return "other"


async def _shielded(function: Any, *args: Any) -> Settlement:
    # The settle runs in a worker thread that cancellation cannot interrupt; a second
    # cancellation of the caller only stops the wait for it.
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    result: Settlement = await asyncio.shield(task)
    return result
