"""The per-minute token limit: a refusal's retry hint is when this call fits, and a retry
at exactly that second passes (the guard's clock is moved, not slept on)."""

from __future__ import annotations

import pytest

from services.budget.errors import RateLimitExceededError
from services.budget.guard import BudgetGuard
from services.budget.pricing import TokenUsage
from services.budget.types import Purpose
from tests.integration.budget.conftest import GuardMaker
from tests.integration.budget.guard_setup import ManualClock, estimate

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"


def call(guard: BudgetGuard, user_id: int, tokens: int) -> None:
    """Reserve a call estimated at `tokens` input tokens and settle it with no output."""
    worst = estimate(input_nusd=1, total_nusd=2, input_tokens=tokens)
    reservation = guard.reserve(user_id=user_id, model=FLASH, purpose=Purpose.CHAT, estimate=worst)
    guard.settle(reservation, TokenUsage(input_tokens=tokens, output_tokens=0), latency_ms=1)


def refusal(guard: BudgetGuard, user_id: int, tokens: int) -> RateLimitExceededError:
    with pytest.raises(RateLimitExceededError) as refused:
        call(guard, user_id, tokens)
    return refused.value


def fits(guard: BudgetGuard, user_id: int, tokens: int) -> bool:
    try:
        call(guard, user_id, tokens)
    except RateLimitExceededError:
        return False
    return True


def test_token_refusal__hint_is_when_this_call_fits_not_when_the_minute_turns(
    make_guard: GuardMaker, user_id: int, clock: ManualClock
) -> None:
    """The measured case: 3,000 tokens/min, a 1,306-token call after 1,900 tokens."""
    guard = make_guard(rate_user_tokens_per_minute=3000)
    call(guard, user_id, 1900)  # at 12:00:00
    clock.advance(seconds=1)

    refused = refusal(guard, user_id, 1306)

    assert (refused.kind, refused.limit, refused.needed) == ("tokens", 3000, 1306)
    # This minute's 1,900 must fade to 1,694 after it turns (at 12:01): 6.5 s into it.
    assert refused.retry_after_seconds == 66
    assert "Refused attempts count as requests too." in str(refused)
    clock.advance(seconds=refused.retry_after_seconds - 1)
    assert not fits(guard, user_id, 1306)  # a second early is still too early
    clock.advance(seconds=1)
    assert fits(guard, user_id, 1306)


@pytest.mark.parametrize(
    ("spent", "cost", "second"),
    [
        (2900, 200, 5),  # this minute's count must fade after the minute turns
        (2500, 1000, 65),  # last minute's count fades within this minute
        (1500, 2000, 80),  # both minutes hold tokens
        (2999, 3000, 10),  # a call of the whole allowance waits for every token to leave
    ],
)
def test_token_refusal__a_retry_exactly_at_the_hint_passes_and_a_second_earlier_does_not(
    make_guard: GuardMaker, user_id: int, clock: ManualClock, spent: int, cost: int, second: int
) -> None:
    guard = make_guard(rate_user_tokens_per_minute=3000)
    call(guard, user_id, 500)
    clock.advance(seconds=second)
    call(guard, user_id, spent - 500)

    refused = refusal(guard, user_id, cost)

    assert refused.retry_after_seconds is not None
    clock.advance(seconds=refused.retry_after_seconds - 1)
    assert not fits(guard, user_id, cost)
    clock.advance(seconds=1)
    assert fits(guard, user_id, cost)


def test_token_refusal__a_call_above_the_allowance_is_told_it_never_fits(
    make_guard: GuardMaker, user_id: int
) -> None:
    guard = make_guard(rate_user_tokens_per_minute=3000)

    refused = refusal(guard, user_id, 3001)

    assert refused.retry_after_seconds is None
    assert str(refused).startswith(
        "This request needs about 3,001 tokens, more than your limit of 3,000 tokens per minute"
    )


def test_request_refusal__says_refused_attempts_count(make_guard: GuardMaker, user_id: int) -> None:
    guard = make_guard(rate_user_requests_per_minute=1)
    call(guard, user_id, 10)

    refused = refusal(guard, user_id, 10)

    assert refused.kind == "requests"
    assert refused.retry_after_seconds == 60
    assert str(refused).endswith("Refused attempts count as requests too.")
