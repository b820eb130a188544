"""The cost reports as sums over the raw ledger: the baseline of bench/cost_pages.py.

These are the queries the pages ran before the daily rollup (GROUP BY over every ledger
row in the range); the bench times them against the rollup's and checks both answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from services.budget.orm import LedgerEntry
from services.budget.reports import DELETED_USER, RefSpend, SpendRow
from services.budget.rollup import ledger_day
from services.orm import User

_TOKENS = LedgerEntry.input_tokens + LedgerEntry.output_tokens


def _aggregates() -> tuple[ColumnElement[Any], ...]:
    return (
        func.count().label("calls"),
        func.coalesce(func.sum(LedgerEntry.cost_nusd), 0).label("cost_nusd"),
        func.coalesce(func.sum(_TOKENS), 0).label("tokens"),
    )


def _in_range(
    query: Select[Any], *, start: datetime, end: datetime, user_id: int | None
) -> Select[Any]:
    query = query.where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    return query if user_id is None else query.where(LedgerEntry.user_id == user_id)


def _spend_rows(sessions: sessionmaker[Session], query: Select[Any]) -> list[SpendRow]:
    with sessions() as session:
        return [
            SpendRow(key=str(key), calls=int(calls), cost_nusd=int(nusd), tokens=int(tokens))
            for key, calls, nusd, tokens in session.execute(query)
        ]


def spend_by_day(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime, user_id: int | None = None
) -> list[SpendRow]:
    with sessions() as session:
        day = ledger_day(session.get_bind().dialect.name).label("day")
    query = _in_range(select(day, *_aggregates()), start=start, end=end, user_id=user_id)
    return _spend_rows(sessions, query.group_by(day).order_by(day))


def spend_by_model(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime, user_id: int | None = None
) -> list[SpendRow]:
    return _by_column(sessions, LedgerEntry.model, start=start, end=end, user_id=user_id)


def spend_by_purpose(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime, user_id: int | None = None
) -> list[SpendRow]:
    return _by_column(sessions, LedgerEntry.purpose, start=start, end=end, user_id=user_id)


def _by_column(
    sessions: sessionmaker[Session],
    column: InstrumentedAttribute[str],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None,
) -> list[SpendRow]:
    query = _in_range(select(column, *_aggregates()), start=start, end=end, user_id=user_id)
    cost = func.coalesce(func.sum(LedgerEntry.cost_nusd), 0)
    return _spend_rows(sessions, query.group_by(column).order_by(cost.desc(), column))


def spend_by_user(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime
) -> list[SpendRow]:
    per_user = (
        _in_range(
            select(LedgerEntry.user_id.label("user_id"), *_aggregates()),
            start=start,
            end=end,
            user_id=None,
        )
        .group_by(LedgerEntry.user_id)
        .subquery()
    )
    query = (
        select(
            func.coalesce(User.email, DELETED_USER),
            per_user.c.calls,
            per_user.c.cost_nusd,
            per_user.c.tokens,
        )
        .select_from(per_user)
        .outerjoin(User, User.id == per_user.c.user_id)
        .order_by(per_user.c.cost_nusd.desc(), User.email)
    )
    return _spend_rows(sessions, query)


def top_refs(
    sessions: sessionmaker[Session],
    *,
    ref_type: str,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
    limit: int = 20,
) -> list[RefSpend]:
    query = (
        _in_range(
            select(LedgerEntry.ref_id, *_aggregates(), func.max(LedgerEntry.created_at)),
            start=start,
            end=end,
            user_id=user_id,
        )
        .where(LedgerEntry.ref_type == ref_type)
        .group_by(LedgerEntry.ref_id)
        .order_by(func.sum(LedgerEntry.cost_nusd).desc(), LedgerEntry.ref_id)
        .limit(limit)
    )
    with sessions() as session:
        rows: list[Any] = list(session.execute(query))
    return [
        RefSpend(ref_type, str(ref_id), int(calls), int(nusd), int(tokens), last)
        for ref_id, calls, nusd, tokens, last in rows
    ]


def ref_owners(
    sessions: sessionmaker[Session], *, ref_type: str, ref_ids: Sequence[str]
) -> dict[str, int]:
    if not ref_ids:
        return {}
    query = (
        select(LedgerEntry.ref_id, func.max(LedgerEntry.user_id))
        .where(LedgerEntry.ref_type == ref_type, LedgerEntry.ref_id.in_(list(ref_ids)))
        .group_by(LedgerEntry.ref_id)
    )
    with sessions() as session:
        rows = session.execute(query).all()
    return {str(ref_id): int(user_id) for ref_id, user_id in rows if user_id is not None}
