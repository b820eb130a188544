"""Reports read from the rollup give the answers of sums over the raw ledger rows."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from services.budget.ledger import LedgerRecord, record_call
from services.budget.orm import LedgerEntry
from services.budget.reports import (
    DELETED_USER,
    RefSpend,
    SpendRow,
    ref_owners,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    top_refs,
)
from services.budget.types import CallStatus
from services.container import Services
from services.db import transaction
from services.orm import User
from tests.integration.budget.guard_setup import add_user

pytestmark = pytest.mark.sql

FIRST = datetime(2026, 3, 1, tzinfo=UTC)
RANGES = [  # whole days, days cut at both ends, a part of one day
    (FIRST + timedelta(days=1), FIRST + timedelta(days=5)),
    (FIRST + timedelta(days=1, hours=7), FIRST + timedelta(days=4, hours=15, minutes=5)),
    (FIRST + timedelta(days=2, hours=3), FIRST + timedelta(days=2, hours=20)),
]


def _seed(services: Services) -> list[LedgerEntry]:
    """200 calls over a week by four users, one of them deleted afterwards."""
    users = [add_user(services) for _ in range(4)]
    rng = random.Random(12)
    for _ in range(200):
        kind = rng.choice(["conversation", "run", None])
        record_call(
            services.sql,
            LedgerRecord(
                request_id=uuid.uuid4().hex,
                user_id=rng.choice(users),
                purpose=rng.choice(["chat", "title", "prompt_run"]),
                ref_type=kind,
                ref_id=None if kind is None else f"{kind[0]}-{rng.randrange(15)}",
                provider="gemini",
                model=rng.choice(["gemini-2.5-flash", "gemini-2.5-pro"]),
                input_tokens=rng.randrange(1, 500),
                cached_tokens=0,
                output_tokens=rng.randrange(1, 100),
                reasoning_tokens=0,
                reserved_nusd=0,
                cost_nusd=rng.randrange(1, 10**6),
                latency_ms=1,
                status=CallStatus.OK,
                created_at=FIRST + timedelta(seconds=rng.randrange(7 * 86_400)),
            ),
        )
    with transaction(services.sql) as session:
        session.execute(delete(User).where(User.id == users[3]))
    with services.sql() as session:
        return list(session.scalars(select(LedgerEntry)))


def _grouped(
    rows: list[LedgerEntry], key: Callable[[LedgerEntry], str]
) -> dict[str, tuple[int, int, int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        total = sums[key(row)]
        total[0] += 1
        total[1] += row.cost_nusd
        total[2] += row.input_tokens + row.output_tokens
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def _as_rows(sums: dict[str, tuple[int, int, int]]) -> set[SpendRow]:
    return {SpendRow(k, *v) for k, v in sums.items()}


def test_reports__equal_sums_over_the_ledger_rows(services: Services) -> None:
    ledger = _seed(services)
    emails = {u.id: u.email for u in services.accounts.list_users()}
    # A user who still exists (the rows of the deleted one have no user; rows come in no
    # particular order).
    user = next(r.user_id for r in ledger if r.user_id is not None)
    for start, end in RANGES:
        inside = [r for r in ledger if start <= r.created_at < end]
        mine = [r for r in inside if r.user_id == user]
        span: dict[str, Any] = {"start": start, "end": end}

        assert spend_by_day(services.sql, **span) == sorted(
            _as_rows(_grouped(inside, lambda r: r.created_at.date().isoformat())),
            key=lambda r: r.key,
        )
        assert set(spend_by_model(services.sql, **span, user_id=user)) == _as_rows(
            _grouped(mine, lambda r: r.model)
        )
        assert set(spend_by_purpose(services.sql, **span)) == _as_rows(
            _grouped(inside, lambda r: r.purpose)
        )
        by_user = _grouped(inside, lambda r: emails.get(r.user_id or 0, DELETED_USER))
        assert set(spend_by_user(services.sql, **span)) == _as_rows(by_user)
        _assert_top_refs(services, inside, start, end)


def _assert_top_refs(
    services: Services, inside: list[LedgerEntry], start: datetime, end: datetime
) -> None:
    runs = [r for r in inside if r.ref_type == "run"]
    sums = _grouped(runs, lambda r: str(r.ref_id))
    last = {k: max(r.created_at for r in runs if r.ref_id == k) for k in sums}
    expected = [RefSpend("run", k, *v, last_call_at=last[k]) for k, v in sums.items()]
    expected.sort(key=lambda r: (-r.cost_nusd, r.ref_id))

    assert top_refs(services.sql, ref_type="run", start=start, end=end, limit=5) == (expected[:5])


def test_ref_owners__equal_the_ledger_owners(services: Services) -> None:
    ledger = _seed(services)
    ids = sorted({str(r.ref_id) for r in ledger if r.ref_type == "conversation"})

    owners = ref_owners(services.sql, ref_type="conversation", ref_ids=[*ids, "missing"])

    expected: dict[str, int] = {}
    for row in ledger:
        if row.ref_type == "conversation" and row.user_id is not None:
            expected[str(row.ref_id)] = max(expected.get(str(row.ref_id), 0), row.user_id)
    assert owners == expected
