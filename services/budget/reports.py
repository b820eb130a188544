"""Cost reports over the usage ledger: every figure is a SQL aggregate (GROUP BY in SQL).

Each report covers calls reserved in `[start, end)`, for one user (`user_id`) or for the
whole organisation (`user_id=None`). Money is integer nano-USD; tokens are input plus
output, as the budgets count them. `to_csv` renders any report for download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from services.budget.models import LedgerEntry
from services.budget.pricing import NANO_PER_USD
from services.errors import InvalidInputError
from services.models import User

DELETED_USER = "(deleted user)"
DEFAULT_REPORT_DAYS = 30
# The longest period a report covers: it bounds the rows one query aggregates, so every
# report stays fast however long the ledger grows (bench/cost_pages.py checks this).
MAX_REPORT_DAYS = 92


@dataclass(frozen=True)
class SpendRow:
    """Spend of one group (a day `YYYY-MM-DD`, a model, a purpose or a user)."""

    key: str
    calls: int
    cost_nusd: int
    tokens: int


@dataclass(frozen=True)
class RefSpend:
    """Spend of one conversation or prompt run (`ref_type`, `ref_id`)."""

    ref_type: str
    ref_id: str
    calls: int
    cost_nusd: int
    tokens: int
    last_call_at: datetime


_TOKENS = LedgerEntry.input_tokens + LedgerEntry.output_tokens


def _aggregates() -> tuple[ColumnElement[Any], ...]:
    return (
        func.count().label("calls"),
        func.coalesce(func.sum(LedgerEntry.cost_nusd), 0).label("cost_nusd"),
        func.coalesce(func.sum(_TOKENS), 0).label("tokens"),
    )


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """The `[start, end)` of whole UTC days `first` through `last`, as reports take it.

    Raises:
        InvalidInputError: `last` is before `first`.
    """
    if last < first:
        raise InvalidInputError("The last day of a report must not be before its first.")
    start = datetime.combine(first, time.min, tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("Report ranges need timezone-aware datetimes.")
    if end <= start:
        raise InvalidInputError("The end of a report range must come after its start.")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidInputError(f"A report covers at most {MAX_REPORT_DAYS} days.")


def _in_range(
    query: Select[Any], *, start: datetime, end: datetime, user_id: int | None
) -> Select[Any]:
    _check_range(start, end)
    query = query.where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    return query if user_id is None else query.where(LedgerEntry.user_id == user_id)


def _day(dialect: str) -> ColumnElement[str]:
    """The UTC calendar day of a call as `YYYY-MM-DD`, computed in SQL."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", LedgerEntry.created_at), "YYYY-MM-DD")
    # SQLite stores UTC datetimes as ISO text: the day is its first ten characters.
    return func.substr(LedgerEntry.created_at, 1, 10)


def _spend_rows(sessions: sessionmaker[Session], query: Select[Any]) -> list[SpendRow]:
    with sessions() as session:
        return [
            SpendRow(key=str(key), calls=int(calls), cost_nusd=int(nusd), tokens=int(tokens))
            for key, calls, nusd, tokens in session.execute(query)
        ]


def spend_by_day(
    sessions: sessionmaker[Session],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[SpendRow]:
    """Spend per UTC day with calls, oldest first."""
    with sessions() as session:
        dialect = session.get_bind().dialect.name
    day = _day(dialect).label("day")
    query = _in_range(select(day, *_aggregates()), start=start, end=end, user_id=user_id)
    return _spend_rows(sessions, query.group_by(day).order_by(day))


def spend_by_model(
    sessions: sessionmaker[Session],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[SpendRow]:
    """Spend per model, most expensive first."""
    return _spend_by_column(sessions, LedgerEntry.model, start=start, end=end, user_id=user_id)


def spend_by_purpose(
    sessions: sessionmaker[Session],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[SpendRow]:
    """Spend per purpose (chat, summary, prompt run, ...), most expensive first."""
    return _spend_by_column(sessions, LedgerEntry.purpose, start=start, end=end, user_id=user_id)


def _spend_by_column(
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
    """Spend per user (keyed by email), most expensive first; deleted users grouped."""
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
    # Aggregate first, then join the few result rows to users: the join never sees the ledger.
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
    """The `limit` most expensive conversations or prompt runs (`ref_type`) in the range."""
    query = (
        _in_range(
            select(
                LedgerEntry.ref_id,
                *_aggregates(),
                func.max(LedgerEntry.created_at).label("last_call_at"),
            ),
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
        return [
            RefSpend(
                ref_type=ref_type,
                ref_id=str(ref_id),
                calls=int(calls),
                cost_nusd=int(nusd),
                tokens=int(tokens),
                last_call_at=last,
            )
            for ref_id, calls, nusd, tokens, last in session.execute(query)
        ]


def ref_owners(
    sessions: sessionmaker[Session], *, ref_type: str, ref_ids: Sequence[str]
) -> dict[str, int]:
    """The user whose calls a conversation or prompt run (`ref_type`) was charged to, by id.

    Ids with no ledger row, or whose user was deleted, are left out.
    """
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


def to_csv(rows: Sequence[SpendRow] | Sequence[RefSpend]) -> str:
    """Render report rows as CSV; nano-USD columns become exact USD (`cost_usd`)."""
    if not rows:
        return ""
    names = [f.name for f in fields(rows[0])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([n.removesuffix("_nusd") + "_usd" if n.endswith("_nusd") else n for n in names])
    for row in rows:
        writer.writerow([_cell(n, getattr(row, n)) for n in names])
    return out.getvalue()


def _cell(name: str, value: object) -> str:
    if name.endswith("_nusd") and isinstance(value, int):
        return f"{Decimal(value) / NANO_PER_USD:f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
