"""Cost reports over the usage ledger: every figure is a SQL aggregate (GROUP BY in SQL).

Each report covers calls reserved in `[start, end)`, for one user (`user_id`) or for the
whole organisation (`user_id=None`). Whole UTC days are read from the daily rollup
(services/budget/rollup.py), so a report's cost grows with days and groups, not with
ledger rows; only the parts of days at the edges of a range not on midnights are read from
the ledger. Money is integer nano-USD; tokens are input plus output, as the budgets count
them. `to_csv` renders any report for download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from services.budget.models import LedgerEntry, UsageDay, UsageRefDay
from services.budget.pricing import NANO_PER_USD
from services.budget.rollup import ledger_day
from services.errors import InvalidInputError
from services.models import User

DELETED_USER = "(deleted user)"
DEFAULT_REPORT_DAYS = 30
# The longest period a report covers: it bounds the rollup rows one query aggregates
# (bench/cost_pages.py checks every report stays fast over ten million ledger rows).
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


@dataclass(frozen=True)
class _Span:
    """A report range cut into whole UTC days `[first_day, end_day)` read from the rollup,
    and the parts of days at its edges (`edges`) read from the ledger."""

    first_day: str
    end_day: str
    edges: tuple[tuple[datetime, datetime], ...]


def _span(start: datetime, end: datetime) -> _Span:
    _check_range(start, end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    midnight = datetime.combine(start.date(), time.min, tzinfo=UTC)
    first = midnight if midnight == start else midnight + timedelta(days=1)
    last = datetime.combine(end.date(), time.min, tzinfo=UTC)
    if last <= first:  # no whole day: all of it from the ledger
        return _Span("", "", ((start, end),))
    edges = tuple((a, b) for a, b in ((start, first), (last, end)) if a < b)
    return _Span(first.date().isoformat(), last.date().isoformat(), edges)


def _in_edges(span: _Span, user_id: int | None) -> ColumnElement[bool]:
    edges = or_(
        *(and_(LedgerEntry.created_at >= a, LedgerEntry.created_at < b) for a, b in span.edges)
    )
    return edges if user_id is None else and_(edges, LedgerEntry.user_id == user_id)


def _spend_source(sessions: sessionmaker[Session], span: _Span, user_id: int | None) -> Any:
    """(day, user_id, model, purpose, calls, cost_nusd, tokens) rows covering `span`."""
    days = select(
        UsageDay.day,
        UsageDay.user_id,
        UsageDay.model,
        UsageDay.purpose,
        UsageDay.calls,
        UsageDay.cost_nusd,
        (UsageDay.input_tokens + UsageDay.output_tokens).label("tokens"),
    ).where(UsageDay.day >= span.first_day, UsageDay.day < span.end_day)
    if user_id is not None:
        days = days.where(UsageDay.user_id == user_id)
    if not span.edges:
        return days.subquery()
    with sessions() as session:
        dialect = session.get_bind().dialect.name
    edges = select(
        ledger_day(dialect),
        LedgerEntry.user_id,
        LedgerEntry.model,
        LedgerEntry.purpose,
        literal(1),
        LedgerEntry.cost_nusd,
        LedgerEntry.input_tokens + LedgerEntry.output_tokens,
    ).where(_in_edges(span, user_id))
    return union_all(days, edges).subquery()


def _sums(source: Any) -> tuple[ColumnElement[Any], ...]:
    return (
        func.sum(source.c.calls).label("calls"),
        func.sum(source.c.cost_nusd).label("cost_nusd"),
        func.sum(source.c.tokens).label("tokens"),
    )


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
    source = _spend_source(sessions, _span(start, end), user_id)
    query = select(source.c.day, *_sums(source)).group_by(source.c.day).order_by(source.c.day)
    return _spend_rows(sessions, query)


def spend_by_model(
    sessions: sessionmaker[Session],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[SpendRow]:
    """Spend per model, most expensive first."""
    return _spend_by_column(sessions, "model", start=start, end=end, user_id=user_id)


def spend_by_purpose(
    sessions: sessionmaker[Session],
    *,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[SpendRow]:
    """Spend per purpose (chat, summary, prompt run, ...), most expensive first."""
    return _spend_by_column(sessions, "purpose", start=start, end=end, user_id=user_id)


def _spend_by_column(
    sessions: sessionmaker[Session],
    name: str,
    *,
    start: datetime,
    end: datetime,
    user_id: int | None,
) -> list[SpendRow]:
    source = _spend_source(sessions, _span(start, end), user_id)
    column = source.c[name]
    cost = func.sum(source.c.cost_nusd)
    query = select(column, *_sums(source)).group_by(column).order_by(cost.desc(), column)
    return _spend_rows(sessions, query)


def spend_by_user(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime
) -> list[SpendRow]:
    """Spend per user (keyed by email), most expensive first; deleted users grouped."""
    source = _spend_source(sessions, _span(start, end), None)
    per_user = select(source.c.user_id, *_sums(source)).group_by(source.c.user_id).subquery()
    # Aggregate first, then join the few result rows to users.
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


def _ref_source(span: _Span, ref_type: str, user_id: int | None) -> Any:
    """(ref_id, calls, cost_nusd, tokens, last_call_at) rows of `ref_type` covering `span`."""
    days = select(
        UsageRefDay.ref_id,
        UsageRefDay.calls,
        UsageRefDay.cost_nusd,
        UsageRefDay.tokens,
        UsageRefDay.last_call_at,
    ).where(
        UsageRefDay.ref_type == ref_type,
        UsageRefDay.day >= span.first_day,
        UsageRefDay.day < span.end_day,
    )
    if user_id is not None:
        days = days.where(UsageRefDay.user_id == user_id)
    if not span.edges:
        return days.subquery()
    edges = select(
        LedgerEntry.ref_id,
        literal(1),
        LedgerEntry.cost_nusd,
        LedgerEntry.input_tokens + LedgerEntry.output_tokens,
        LedgerEntry.created_at,
    ).where(_in_edges(span, user_id), LedgerEntry.ref_type == ref_type)
    return union_all(days, edges).subquery()


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
    source = _ref_source(_span(start, end), ref_type, user_id)
    cost = func.sum(source.c.cost_nusd)
    last = func.max(source.c.last_call_at)
    query = (
        select(source.c.ref_id, *_sums(source), last)
        .group_by(source.c.ref_id)
        .order_by(cost.desc(), source.c.ref_id)
        .limit(limit)
    )
    with sessions() as session:
        rows: list[Any] = list(session.execute(query))
    return [
        RefSpend(
            ref_type=ref_type,
            ref_id=str(ref_id),
            calls=int(calls),
            cost_nusd=int(nusd),
            tokens=int(tokens),
            last_call_at=_utc(last_at),
        )
        for ref_id, calls, nusd, tokens, last_at in rows
    ]


def _utc(value: datetime | str) -> datetime:
    # Through a UNION, SQLite hands back the stored text rather than the column's type.
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def ref_owners(
    sessions: sessionmaker[Session], *, ref_type: str, ref_ids: Sequence[str]
) -> dict[str, int]:
    """The user whose calls a conversation or prompt run (`ref_type`) was charged to, by id.

    Ids with no ledger row, or whose user was deleted, are left out.
    """
    if not ref_ids:
        return {}
    query = (
        select(UsageRefDay.ref_id, func.max(UsageRefDay.user_id))
        .where(
            UsageRefDay.ref_type == ref_type,
            UsageRefDay.ref_id.in_(list(ref_ids)),
            UsageRefDay.user_id.is_not(None),
        )
        .group_by(UsageRefDay.ref_id)
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
