"""Cost reports over the ledger: SQL aggregates by day, model, purpose, user and reference."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.budget.ledger import LedgerRecord, record_call
from services.budget.reports import (
    DELETED_USER,
    MAX_REPORT_DAYS,
    RefSpend,
    SpendRow,
    day_range,
    ref_owners,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    to_csv,
    top_refs,
)
from services.budget.types import CallStatus
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.budget.guard_setup import add_user

pytestmark = pytest.mark.sql

USD = 1_000_000_000
DAY1 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)


def _row(user_id: int | None, at: datetime, nusd: int, **extra: object) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4().hex,
        "user_id": user_id,
        "purpose": "chat",
        "ref_type": None,
        "ref_id": None,
        "provider": "gemini",
        "model": "gemini-2.5-flash",
        "input_tokens": 100,
        "cached_tokens": 0,
        "output_tokens": 50,
        "reasoning_tokens": 0,
        "reserved_nusd": nusd,
        "cost_nusd": nusd,
        "latency_ms": 10,
        "status": "ok",
        "created_at": at,
        **extra,
    }


def _seed(services: Services, rows: list[dict[str, Any]]) -> None:
    # Through the ledger write, which keeps the rollup the reports read.
    for row in rows:
        record_call(services.sql, LedgerRecord(**{**row, "status": CallStatus(row["status"])}))


def _email(services: Services, user_id: int) -> str:
    with services.sql() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.email


@pytest.fixture
def users(services: Services) -> tuple[int, int]:
    alice, bob = add_user(services), add_user(services)
    _seed(
        services,
        [
            _row(alice, DAY1, 1 * USD),
            _row(alice, DAY2, 2 * USD, model="gemini-2.5-pro", purpose="summary"),
            _row(alice, DAY2, 3 * USD, ref_type="conversation", ref_id="c-1"),
            _row(alice, DAY2, 4 * USD, ref_type="conversation", ref_id="c-1"),
            _row(bob, DAY1, 5 * USD, ref_type="conversation", ref_id="c-2"),
            _row(bob, DAY1, 6 * USD, ref_type="run", ref_id="r-1", purpose="prompt_run"),
            _row(None, DAY2, 7 * USD),  # a deleted user's call
            _row(alice, END, 100 * USD),  # just outside the range
            _row(bob, START - timedelta(microseconds=1), 100 * USD),
        ],
    )
    return alice, bob


def test_spend_by_day__groups_by_utc_day_for_the_org(
    services: Services, users: tuple[int, int]
) -> None:
    rows = spend_by_day(services.sql, start=START, end=END)

    assert rows == [
        SpendRow("2026-03-01", calls=3, cost_nusd=12 * USD, tokens=450),
        SpendRow("2026-03-02", calls=4, cost_nusd=16 * USD, tokens=600),
    ]


def test_spend_by_day__counts_only_the_users_own_calls(
    services: Services, users: tuple[int, int]
) -> None:
    alice, _ = users

    rows = spend_by_day(services.sql, start=START, end=END, user_id=alice)

    assert [(r.key, r.cost_nusd) for r in rows] == [("2026-03-01", USD), ("2026-03-02", 9 * USD)]


def test_spend_by_model_and_purpose__most_expensive_first(
    services: Services, users: tuple[int, int]
) -> None:
    alice, _ = users

    models = spend_by_model(services.sql, start=START, end=END)
    purposes = spend_by_purpose(services.sql, start=START, end=END, user_id=alice)

    assert [(r.key, r.calls, r.cost_nusd) for r in models] == [
        ("gemini-2.5-flash", 6, 26 * USD),
        ("gemini-2.5-pro", 1, 2 * USD),
    ]
    assert [(r.key, r.cost_nusd) for r in purposes] == [("chat", 8 * USD), ("summary", 2 * USD)]


def test_spend_by_user__names_users_and_groups_deleted_ones(
    services: Services, users: tuple[int, int]
) -> None:
    alice, bob = users

    rows = spend_by_user(services.sql, start=START, end=END)

    assert [(r.key, r.cost_nusd) for r in rows] == [
        (_email(services, bob), 11 * USD),
        (_email(services, alice), 10 * USD),
        (DELETED_USER, 7 * USD),
    ]


def test_top_refs__ranks_conversations_and_runs_by_cost(
    services: Services, users: tuple[int, int]
) -> None:
    alice, _ = users

    conversations = top_refs(services.sql, ref_type="conversation", start=START, end=END)
    mine = top_refs(services.sql, ref_type="conversation", start=START, end=END, user_id=alice)
    runs = top_refs(services.sql, ref_type="run", start=START, end=END, limit=1)

    assert [(r.ref_id, r.calls, r.cost_nusd) for r in conversations] == [
        ("c-1", 2, 7 * USD),
        ("c-2", 1, 5 * USD),
    ]
    assert conversations[0].last_call_at == DAY2
    assert [r.ref_id for r in mine] == ["c-1"]
    assert [(r.ref_id, r.cost_nusd) for r in runs] == [("r-1", 6 * USD)]


def test_reports__empty_range_gives_no_rows(services: Services, users: tuple[int, int]) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=1)

    assert spend_by_day(services.sql, start=start, end=end) == []
    assert spend_by_user(services.sql, start=start, end=end) == []


def test_reports__refuse_a_backwards_or_naive_range(services: Services) -> None:
    with pytest.raises(InvalidInputError):
        spend_by_model(services.sql, start=END, end=START)
    with pytest.raises(InvalidInputError):
        spend_by_model(services.sql, start=datetime(2026, 3, 1), end=END)


def test_reports__refuse_a_range_longer_than_the_maximum(services: Services) -> None:
    end = START + timedelta(days=MAX_REPORT_DAYS, microseconds=1)
    with pytest.raises(InvalidInputError, match=f"at most {MAX_REPORT_DAYS} days"):
        spend_by_day(services.sql, start=START, end=end)
    assert spend_by_day(services.sql, start=START, end=end - timedelta(microseconds=1)) == []


def test_to_csv__renders_usd_and_iso_times() -> None:
    rows = [
        SpendRow("2026-03-01", calls=2, cost_nusd=1_500_000_000, tokens=300),
        SpendRow("2026-03-02", calls=1, cost_nusd=250, tokens=10),
    ]
    refs = [RefSpend("run", "r-1", 1, USD, 5, DAY1)]

    assert to_csv(rows) == (
        "key,calls,cost_usd,tokens\n2026-03-01,2,1.5,300\n2026-03-02,1,0.00000025,10\n"
    )
    assert to_csv(refs).splitlines()[1] == "run,r-1,1,1,5,2026-03-01T09:30:00+00:00"
    assert to_csv([]) == ""


def test_day_range__covers_whole_utc_days() -> None:
    assert day_range(date(2026, 3, 1), date(2026, 3, 2)) == (START, END)
    with pytest.raises(InvalidInputError):
        day_range(date(2026, 3, 2), date(2026, 3, 1))


def test_ref_owners__maps_each_known_id_to_its_user(services: Services) -> None:
    alice, bob = add_user(services), add_user(services)
    first, second, orphan = (uuid.uuid4().hex[:16] for _ in range(3))
    conversation = {"ref_type": "conversation"}
    _seed(
        services,
        [
            _row(alice, DAY1, USD, **conversation, ref_id=first),
            _row(alice, DAY2, USD, **conversation, ref_id=first),
            _row(bob, DAY1, USD, **conversation, ref_id=second),
            _row(None, DAY1, USD, **conversation, ref_id=orphan),
            _row(bob, DAY1, USD, ref_type="run", ref_id=first),
        ],
    )

    owners = ref_owners(
        services.sql, ref_type="conversation", ref_ids=[first, second, orphan, "missing"]
    )

    assert owners == {first: alice, second: bob}


def test_ref_owners__no_ids_is_no_query(services: Services) -> None:
    assert ref_owners(services.sql, ref_type="conversation", ref_ids=[]) == {}
