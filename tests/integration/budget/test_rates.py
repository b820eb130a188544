"""The per-minute token limit on real Redis: a refusal's retry hint is when this call fits."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from config.settings import Settings
from services.budget.errors import RateLimitExceededError
from services.budget.rates import UserRateLimits
from services.container import Services


def _limits(settings: Settings, services: Services, **overrides: object) -> UserRateLimits:
    window = int(overrides.pop("window_seconds", 60))  # type: ignore[call-overload]
    update = {"redis_key_prefix": f"rates{uuid.uuid4().hex[:8]}:", **overrides}
    return UserRateLimits(services.redis, settings.model_copy(update=update), window_seconds=window)


def _refusal(limits: UserRateLimits, user_id: int, tokens: int) -> RateLimitExceededError:
    with pytest.raises(RateLimitExceededError) as refused:
        limits.acquire(user_id, tokens)
    return refused.value


def _pass_time(client: redis.Redis, prefix: str, seconds: float) -> None:
    """Move the token window `seconds` on: the sliding window counter reads only the keys'
    TTLs (the request limit, a moving window of timestamps, is not used by these tests)."""
    for key in client.scan_iter(match=f"{prefix}*llm-tokens*"):
        ttl = int(client.pttl(key))
        if ttl > 0:
            left = ttl - int(seconds * 1000)
            if left > 0:
                client.pexpire(key, left)
            else:
                client.delete(key)


def _tokens_fit(limits: UserRateLimits, user_id: int, tokens: int) -> bool:
    try:
        limits.acquire(user_id, tokens)
    except RateLimitExceededError:
        return False
    return True


def test_token_refusal__hint_is_when_this_call_fits_not_when_the_window_moves(
    settings: Settings, services: Services
) -> None:
    """The measured case: 3,000 tokens/min, a 1,306-token call after one of 1,900 tokens."""
    limits = _limits(settings, services, rate_user_tokens_per_minute=3000)
    prefix = f"{limits._storage.key_prefix}"
    limits.acquire(1, 1306)
    limits.charge_output(1, 594)

    refused = _refusal(limits, 1, 1306)

    assert (refused.kind, refused.limit, refused.needed) == ("tokens", 3000, 1306)
    # floor(1900 · ttl / 60) + 1306 <= 3000 once the 1,900 have faded to 1,694: ~66.5 s.
    assert refused.retry_after_seconds is not None
    assert refused.retry_after_seconds in (67, 68)  # whole seconds, the test's own delay
    assert "Refused attempts count as requests too." in str(refused)
    hint = refused.retry_after_seconds
    _pass_time(services.redis, prefix, hint - 1)
    assert not _tokens_fit(limits, 1, 1306)  # a second early is still too early
    _pass_time(services.redis, prefix, 1)
    assert _tokens_fit(limits, 1, 1306)


@pytest.mark.parametrize(
    ("spent", "cost", "elapsed"),
    [
        (2900, 200, 0),  # still in the first window: the current count must fade
        (3100, 200, 75),  # shifted: the previous count fades first
        (1500, 2000, 80),  # both windows hold tokens
        (2999, 3000, 10),  # a call of the whole allowance waits for every token to leave
    ],
)
def test_token_refusal__a_retry_exactly_at_the_hint_passes(
    settings: Settings, services: Services, spent: int, cost: int, elapsed: int
) -> None:
    limits = _limits(settings, services, rate_user_tokens_per_minute=3000)
    prefix = f"{limits._storage.key_prefix}"
    limits.acquire(2, 500)
    _pass_time(services.redis, prefix, elapsed)
    if spent > 500:
        limits.charge_output(2, spent - 500)

    refused = _refusal(limits, 2, cost)

    assert refused.retry_after_seconds is not None
    _pass_time(services.redis, prefix, refused.retry_after_seconds)
    assert _tokens_fit(limits, 2, cost)


def test_token_refusal__a_call_above_the_allowance_is_told_it_never_fits(
    settings: Settings, services: Services
) -> None:
    limits = _limits(settings, services, rate_user_tokens_per_minute=3000)

    refused = _refusal(limits, 3, 3001)

    assert refused.retry_after_seconds is None
    assert str(refused).startswith(
        "This request needs about 3,001 tokens, more than your limit of 3,000 tokens per minute"
    )


def test_token_refusal__real_time_retry_at_the_hint_passes(
    settings: Settings, services: Services
) -> None:
    """No simulated time: a 3-second window, and a retry after exactly the hinted seconds."""
    limits = _limits(settings, services, rate_user_tokens_per_minute=100, window_seconds=3)
    limits.acquire(4, 90)

    refused_at = time.monotonic()
    refused = _refusal(limits, 4, 60)

    assert refused.retry_after_seconds is not None
    assert refused.retry_after_seconds <= 6  # within the two windows the tokens can live
    time.sleep(max(refused_at + refused.retry_after_seconds - time.monotonic(), 0))
    assert _tokens_fit(limits, 4, 60)


def test_request_refusal__says_refused_attempts_count(
    settings: Settings, services: Services
) -> None:
    limits = _limits(settings, services, rate_user_requests_per_minute=1)
    limits.acquire(5, 10)

    refused = _refusal(limits, 5, 10)

    assert refused.kind == "requests"
    assert refused.retry_after_seconds is not None
    assert 1 <= refused.retry_after_seconds <= 60
    assert str(refused).endswith("Refused attempts count as requests too.")
