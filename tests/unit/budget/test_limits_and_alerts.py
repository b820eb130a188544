"""Windows, alert thresholds and refusal messages: pure functions, no stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.budget.alerts import crossings
from services.budget.errors import RateLimitExceededError, SpendLimitExceededError
from services.budget.windows import (
    BudgetKeys,
    CounterRef,
    Metric,
    Scope,
    Window,
    counters_for,
    window_span,
)

USD = 1_000_000_000


def test_window_span__day_and_month_in_utc() -> None:
    at = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    day, month = window_span(Window.DAY, at), window_span(Window.MONTH, at)
    assert (day.label, day.start, day.end) == (
        "d:20261231", datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert (month.label, month.end) == ("m:202612", datetime(2027, 1, 1, tzinfo=UTC))
    assert window_span(Window.MONTH, datetime(2027, 2, 10, tzinfo=UTC)).end == datetime(
        2027, 3, 1, tzinfo=UTC
    )


def test_window_span__of_a_time_in_another_zone_is_its_utc_day() -> None:
    at = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 22:30 UTC
    assert window_span(Window.DAY, at).label == "d:20261231"
    assert window_span(Window.MONTH, at).label == "m:202612"


def test_counters_for__follow_the_day_and_are_the_callers_own() -> None:
    evening = counters_for(7, datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC))
    again = counters_for(7, datetime(2026, 11, 26, 8, tzinfo=UTC))
    next_day = counters_for(7, datetime(2026, 11, 27, tzinfo=UTC))
    evening.pop()

    assert again == counters_for(7, datetime(2026, 11, 26, tzinfo=UTC))
    assert len(again) == 4
    assert [r.span.label for r in next_day] == ["d:20261127", "m:202611"] * 2
    assert [r.user_id for r in counters_for(8, datetime(2026, 11, 26, tzinfo=UTC))][:2] == [8, 8]


def test_keys__put_the_prefix_before_the_hash_tag() -> None:
    refs = counters_for(7, datetime(2026, 11, 26, 8, tzinfo=UTC))
    keys = [BudgetKeys("pa:").counter(r) for r in refs]
    assert keys == [
        "pa:{budget}:user:7:d:20261126",
        "pa:{budget}:user:7:m:202611",
        "pa:{budget}:org:d:20261126",
        "pa:{budget}:org:m:202611",
    ]


@pytest.mark.parametrize(
    ("before", "after", "fired"),
    [
        (0, 49, []),
        (0, 50, [50]),
        (49, 60, [50]),
        (50, 79, []),
        (40, 85, [50, 80]),
        (0, 150, [50, 80, 100, 150]),
        (100, 120, [120]),
        (100, 100, []),
    ],
)
def test_crossings__fire_every_threshold_passed(before: int, after: int, fired: list[int]) -> None:
    ref = CounterRef(Scope.USER, 1, window_span(Window.DAY, datetime(2026, 11, 26, tzinfo=UTC)))
    found = crossings(ref, Metric.USD, limit=100, before=before, after=after)
    assert [c.threshold_pct for c in found] == fired


def test_crossings__none_without_a_limit() -> None:
    ref = CounterRef(Scope.ORG, None, window_span(Window.DAY, datetime(2026, 11, 26, tzinfo=UTC)))
    assert crossings(ref, Metric.TOKENS, limit=0, before=0, after=10**9) == []


def test_spend_limit_error__carries_the_numbers() -> None:
    error = SpendLimitExceededError(
        scope=Scope.USER,
        window=Window.MONTH,
        metric=Metric.USD,
        limit=20 * USD,
        used=19 * USD,
        needed=2 * USD,
        resets_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert str(error) == (
        "Your monthly budget of $20.00 is used up ($19.00 spent, this request needs up to "
        "$2.00). It resets on 1 January at 00:00 UTC."
    )
    assert (error.limit, error.used, error.needed) == (20 * USD, 19 * USD, 2 * USD)


def test_rate_limit_error__says_when_to_retry() -> None:
    error = RateLimitExceededError(
        kind="tokens", limit=200_000, retry_after_seconds=12, needed=1306
    )
    assert str(error) == (
        "You have reached your limit of 200,000 tokens per minute (this request needs about "
        "1,306 tokens). Try again in 12 s. Refused attempts count as requests too."
    )
