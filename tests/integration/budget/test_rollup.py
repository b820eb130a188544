"""The daily usage rollup against real SQL: always equal to the ledger, whoever writes it."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, select

from config.settings import Settings
from services.budget.guard import BudgetGuard
from services.budget.ledger import LedgerRecord, record_call
from services.budget.orm import LedgerEntry, UsageDay, UsageRefDay
from services.budget.pricing import TokenUsage
from services.budget.reaper import reap_expired_reservations
from services.budget.rollup import differences, rebuild
from services.budget.types import CallRef, CallStatus, Purpose, RefType
from services.container import Services
from services.db import transaction
from services.orm import User
from tests.integration.budget.guard_setup import ManualClock, add_user, estimate
from tests.support.manage_cli import run_manage

pytestmark = pytest.mark.sql

FLASH = "gemini-2.5-flash"
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _record(user_id: int | None, **changes: Any) -> LedgerRecord:
    record = LedgerRecord(
        request_id=uuid.uuid4().hex,
        user_id=user_id,
        purpose=Purpose.CHAT.value,
        ref_type=RefType.CONVERSATION.value,
        ref_id="c-1",
        provider="gemini",
        model=FLASH,
        input_tokens=100,
        cached_tokens=10,
        output_tokens=50,
        reasoning_tokens=5,
        reserved_nusd=9_000,
        cost_nusd=7_000,
        latency_ms=10,
        status=CallStatus.OK,
        created_at=NOON,
    )
    return replace(record, **changes)


def _day_totals(services: Services) -> tuple[int, int, int, int]:
    """(calls, cost, input tokens, output tokens) summed over the whole rollup."""
    sums = (UsageDay.calls, UsageDay.cost_nusd, UsageDay.input_tokens, UsageDay.output_tokens)
    with services.sql() as session:
        row = session.execute(select(*(func.coalesce(func.sum(c), 0) for c in sums))).one()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def _ref_calls(services: Services) -> int:
    with services.sql() as session:
        return int(session.scalar(select(func.coalesce(func.sum(UsageRefDay.calls), 0))) or 0)


def test_settle__adds_each_call_to_the_rollup(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    worst = estimate(input_nusd=10_000, total_nusd=100_000)
    for purpose, ref in (
        (Purpose.CHAT, CallRef(RefType.CONVERSATION, "c-7")),
        (Purpose.TITLE, None),
    ):
        reservation = guard.reserve(
            user_id=user_id, model=FLASH, purpose=purpose, estimate=worst, ref=ref
        )
        guard.settle(reservation, TokenUsage(input_tokens=100, output_tokens=20), latency_ms=5)

    assert _day_totals(services) == (2, 2 * (100 * 300 + 20 * 2500), 200, 40)
    assert _ref_calls(services) == 1
    assert differences(services.engine) == 0


def test_settle__a_duplicate_settle_adds_nothing(
    guard: BudgetGuard, services: Services, user_id: int
) -> None:
    worst = estimate(input_nusd=10_000, total_nusd=100_000)
    reservation = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=worst,
        ref=CallRef(RefType.CONVERSATION, "c-8"),
    )
    usage = TokenUsage(input_tokens=100, output_tokens=20)

    guard.settle(reservation, usage, latency_ms=5)
    guard.settle(reservation, usage, latency_ms=5)
    record = _record(user_id)
    record_call(services.sql, record)
    record_call(services.sql, record)

    assert _day_totals(services)[0] == 2
    assert _ref_calls(services) == 2
    assert differences(services.engine) == 0


def test_settle__after_the_reaper_replaces_the_estimate_in_the_rollup(
    guard: BudgetGuard, services: Services, settings: Settings, user_id: int, clock: ManualClock
) -> None:
    worst = estimate(input_nusd=3000, total_nusd=90_000, input_tokens=10, output_tokens=100)
    reservation = guard.reserve(
        user_id=user_id,
        model=FLASH,
        purpose=Purpose.CHAT,
        estimate=worst,
        ref=CallRef(RefType.CONVERSATION, "c-9"),
    )
    clock.advance(seconds=settings.budget_reservation_lease_seconds + 1)
    reap_expired_reservations(guard)
    assert _day_totals(services)[:2] == (1, 3000)

    guard.settle(reservation, TokenUsage(input_tokens=8, output_tokens=20), latency_ms=9)
    guard.settle(reservation, TokenUsage(input_tokens=8, output_tokens=20), latency_ms=9)

    assert _day_totals(services) == (1, 8 * 300 + 20 * 2500, 8, 20)
    assert _ref_calls(services) == 1
    assert differences(services.engine) == 0


def test_record_call__concurrent_writers_count_each_call_once(services: Services) -> None:
    users = [add_user(services) for _ in range(3)]
    records = [
        _record(
            users[n % 3],
            model=FLASH if n % 2 else "gemini-2.5-pro",
            ref_id=f"c-{n % 5}",
            cost_nusd=1_000 + n,
            created_at=NOON + timedelta(hours=n % 20),
        )
        for n in range(60)
    ]
    errors: list[BaseException] = []

    def write(mine: list[LedgerRecord]) -> None:
        try:
            for record in mine:
                record_call(services.sql, record)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)

    # Six writers; every call is written by two of them at about the same time.
    threads = [
        threading.Thread(target=write, args=(records[n % 3 :: 3] + records[(n + 1) % 3 :: 3],))
        for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _day_totals(services) == (60, sum(1_000 + n for n in range(60)), 6000, 3000)
    assert differences(services.engine) == 0


def test_record_call__is_one_statement_on_postgresql(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round trip per ledger write on a server: the row and its three rollup adds in
    one statement, and no ping or BEGIN/COMMIT around it (SQLite, in-process, runs the four
    in one transaction). Counted where statements leave: psycopg's cursor on PostgreSQL,
    SQLite's own trace of what it runs (both writes bypass SQLAlchemy's execution layer)."""
    user = add_user(services)
    sent: list[str] = []
    on_server = services.engine.dialect.name == "postgresql"
    if on_server:
        import psycopg

        execute = psycopg.Cursor.execute

        def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        record_call(services.sql, _record(user))  # the pooled connection, used a moment ago
        sent.clear()

    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(sent.append)

    def untrace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    def through_sqlalchemy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(statement)

    executed: list[str] = []
    if not on_server:
        event.listen(services.engine, "checkout", trace)
        event.listen(services.engine, "checkin", untrace)
        event.listen(services.engine, "before_cursor_execute", through_sqlalchemy)
    try:
        record_call(services.sql, _record(user))
        with_ref = list(sent)
        sent.clear()
        record_call(services.sql, _record(user, ref_type=None, ref_id=None))
        without_ref = list(sent)
    finally:
        if not on_server:
            event.remove(services.engine, "checkout", trace)
            event.remove(services.engine, "checkin", untrace)
            event.remove(services.engine, "before_cursor_execute", through_sqlalchemy)
        monkeypatch.undo()

    assert executed == []  # straight to the driver: SQLAlchemy executed none of them
    if not on_server:  # one transaction around the statements, nothing else
        for sent_once in (with_ref, without_ref):
            assert sent_once[0].strip() == "BEGIN"
            assert sent_once[-1].strip() == "COMMIT"
        with_ref, without_ref = with_ref[1:-1], without_ref[1:-1]
    assert len(with_ref) == (1 if on_server else 4)
    assert len(without_ref) == (1 if on_server else 2)
    assert _day_totals(services)[0] == (3 if on_server else 2)
    assert _ref_calls(services) == (2 if on_server else 1)
    assert differences(services.engine) == 0


def test_rollup__follows_a_deleted_user_like_the_ledger(services: Services) -> None:
    gone, kept = add_user(services), add_user(services)
    for user in (gone, kept, gone):
        record_call(services.sql, _record(user))

    with transaction(services.sql) as session:
        session.execute(delete(User).where(User.id == gone))
    record_call(services.sql, _record(None))

    assert differences(services.engine) == 0
    with services.sql() as session:
        owners = session.execute(select(UsageDay.user_id, UsageDay.calls)).all()
    assert sorted(owners, key=str) == sorted([(None, 2), (kept, 1), (None, 1)], key=str)


def _bulk_ledger(services: Services, count: int) -> None:
    user = add_user(services)
    rows = [
        {**vars(_record(user, ref_id=f"r-{n % 4}", ref_type="run")), "status": "ok"}
        for n in range(count)
    ]
    with transaction(services.sql) as session:
        session.execute(insert(LedgerEntry), rows)


def test_rollup_rebuild__recomputes_it_from_the_ledger(services: Services) -> None:
    record_call(services.sql, _record(add_user(services)))
    _bulk_ledger(services, 12)  # written around the rollup, as a bulk import would
    assert differences(services.engine) > 0
    check = run_manage(services, "rollup", "check")
    assert check.returncode == 1, check.stderr

    rebuilt = run_manage(services, "rollup", "rebuild")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt" in rebuilt.stdout
    assert run_manage(services, "rollup", "check").returncode == 0
    assert differences(services.engine) == 0
    assert _day_totals(services)[0] == 13
    assert rebuild(services.engine) == (2, 5)
