"""Reports on conversations and prompt runs: the most expensive in a range, and owners.

Over whole days, a reference that lived only inside the range counts with its lifetime
totals (`usage_refs`), so the most expensive are the best few that started on each day of
the range, found from an index; the few that span the range's first or last midnight are
summed from `usage_ref_daily`. The cost grows with days, not with references or calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import LedgerEntry, UsageRef, UsageRefDay
from services.budget.report_range import ReportSpan, in_edges, report_span


@dataclass(frozen=True)
class RefSpend:
    """Spend of one conversation or prompt run (`ref_type`, `ref_id`)."""

    ref_type: str
    ref_id: str
    calls: int
    cost_nusd: int
    tokens: int
    last_call_at: datetime


def _ref_source(span: ReportSpan, ref_type: str, user_id: int | None) -> Any:
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
    ).where(in_edges(span, user_id), LedgerEntry.ref_type == ref_type)
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
    span = report_span(start, end)
    if span.edges or user_id is not None:
        source = _ref_source(span, ref_type, user_id)
        summed = select(
            source.c.ref_id,
            func.sum(source.c.calls).label("calls"),
            func.sum(source.c.cost_nusd).label("cost_nusd"),
            func.sum(source.c.tokens).label("tokens"),
            func.max(source.c.last_call_at).label("last_call_at"),
        ).group_by(source.c.ref_id)
        candidates = summed.subquery()
    else:
        with sessions() as session:
            cut = list(session.scalars(_cut_by_range(span, ref_type)))
        candidates = _whole_day_candidates(span, ref_type, limit, cut)
    query = (
        select(candidates).order_by(candidates.c.cost_nusd.desc(), candidates.c.ref_id).limit(limit)
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


def _cut_by_range(span: ReportSpan, ref_type: str) -> Any:
    """The ids of references that span the range's first or last midnight (a few: only
    those that span days are in `ix_usage_refs_spanning`)."""
    return select(UsageRef.ref_id).where(
        UsageRef.ref_type == ref_type,
        UsageRef.first_day != UsageRef.last_day,
        UsageRef.last_day >= span.first_day,
        UsageRef.first_day < span.end_day,
        or_(UsageRef.first_day < span.first_day, UsageRef.last_day >= span.end_day),
    )


def _whole_day_candidates(span: ReportSpan, ref_type: str, limit: int, cut: list[str]) -> Any:
    """References that may rank in the top `limit` over whole days, with their range sums.

    One that lived only inside the range ranks by its lifetime totals: the best `limit`
    that started on each day are candidates. One that spans the range's first or last
    midnight (rare: `ix_usage_refs_spanning` holds only those spanning days) is summed
    over the range's days.
    """
    first = date.fromisoformat(span.first_day)
    days = [
        (first + timedelta(days=n)).isoformat()
        for n in range((date.fromisoformat(span.end_day) - first).days)
    ]
    lived_inside = [
        select(
            select(
                UsageRef.ref_id,
                UsageRef.calls,
                UsageRef.cost_nusd,
                UsageRef.tokens,
                UsageRef.last_call_at,
            )
            .where(
                UsageRef.ref_type == ref_type,
                UsageRef.first_day == day,
                UsageRef.last_day < span.end_day,
            )
            .order_by(UsageRef.cost_nusd.desc(), UsageRef.ref_id)
            .limit(limit)
            .subquery()
        )
        for day in days
    ]
    # The cut ones by id, not by a subquery: PostgreSQL would otherwise read every
    # reference row of the type to join them.
    cut_sums = (
        select(
            UsageRefDay.ref_id,
            func.sum(UsageRefDay.calls),
            func.sum(UsageRefDay.cost_nusd),
            func.sum(UsageRefDay.tokens),
            func.max(UsageRefDay.last_call_at),
        )
        .where(
            UsageRefDay.ref_type == ref_type,
            UsageRefDay.ref_id.in_(cut),
            UsageRefDay.day >= span.first_day,
            UsageRefDay.day < span.end_day,
        )
        .group_by(UsageRefDay.ref_id)
    )
    return union_all(*lived_inside, cut_sums).subquery()


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
