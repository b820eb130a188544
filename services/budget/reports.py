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

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import LedgerEntry, UsageDay
from services.budget.pricing import NANO_PER_USD
from services.budget.ref_reports import RefSpend, ref_owners, top_refs
from services.budget.report_range import MAX_REPORT_DAYS, ReportSpan, in_edges, report_span
from services.budget.rollup import ledger_day
from services.errors import InvalidInputError
from services.orm import User

__all__ = [
    "DEFAULT_REPORT_DAYS",
    "DELETED_USER",
    "MAX_REPORT_DAYS",
    "RefSpend",
    "SpendRow",
    "day_range",
    "ref_owners",
    "spend_by_day",
    "spend_by_model",
    "spend_by_purpose",
    "spend_by_user",
    "to_csv",
    "top_refs",
]

DELETED_USER = "(deleted user)"
DEFAULT_REPORT_DAYS = 30


@dataclass(frozen=True)
class SpendRow:
    """Spend of one group (a day `YYYY-MM-DD`, a model, a purpose or a user)."""

    key: str
    calls: int
    cost_nusd: int
    tokens: int


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """The `[start, end)` of whole UTC days `first` through `last`, as reports take it.

    Raises:
        InvalidInputError: `last` is before `first`.
    """
    if last < first:
        raise InvalidInputError("The last day of a report must not be before its first.")
    start = datetime.combine(first, time.min, tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def _spend_source(sessions: sessionmaker[Session], span: ReportSpan, user_id: int | None) -> Any:
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
    ).where(in_edges(span, user_id))
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
    source = _spend_source(sessions, report_span(start, end), user_id)
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
    source = _spend_source(sessions, report_span(start, end), user_id)
    column = source.c[name]
    cost = func.sum(source.c.cost_nusd)
    query = select(column, *_sums(source)).group_by(column).order_by(cost.desc(), column)
    return _spend_rows(sessions, query)


def spend_by_user(
    sessions: sessionmaker[Session], *, start: datetime, end: datetime
) -> list[SpendRow]:
    """Spend per user (keyed by email), most expensive first; deleted users grouped."""
    source = _spend_source(sessions, report_span(start, end), None)
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
