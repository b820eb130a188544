"""The range a cost report covers, cut into whole UTC days (read from the rollup) and the
parts of days at its edges (read from the ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, or_

from services.budget.orm import LedgerEntry
from services.errors import InvalidInputError

# The longest period a report covers: it bounds the rollup rows one query aggregates
# (bench/cost_pages.py checks every report stays fast over ten million ledger rows).
MAX_REPORT_DAYS = 92


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("Report ranges need timezone-aware datetimes.")
    if end <= start:
        raise InvalidInputError("The end of a report range must come after its start.")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidInputError(f"A report covers at most {MAX_REPORT_DAYS} days.")


@dataclass(frozen=True)
class ReportSpan:
    """A report range cut into whole UTC days `[first_day, end_day)` read from the rollup,
    and the parts of days at its edges (`edges`) read from the ledger."""

    first_day: str
    end_day: str
    edges: tuple[tuple[datetime, datetime], ...]


def report_span(start: datetime, end: datetime) -> ReportSpan:
    """`[start, end)` as whole days and edges.

    Raises:
        InvalidInputError: The range is naive, backwards or longer than `MAX_REPORT_DAYS`.
    """
    _check_range(start, end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    midnight = datetime.combine(start.date(), time.min, tzinfo=UTC)
    first = midnight if midnight == start else midnight + timedelta(days=1)
    last = datetime.combine(end.date(), time.min, tzinfo=UTC)
    if last <= first:  # no whole day: all of it from the ledger
        return ReportSpan("", "", ((start, end),))
    edges = tuple((a, b) for a, b in ((start, first), (last, end)) if a < b)
    return ReportSpan(first.date().isoformat(), last.date().isoformat(), edges)


def in_edges(span: ReportSpan, user_id: int | None) -> ColumnElement[bool]:
    edges = or_(
        *(and_(LedgerEntry.created_at >= a, LedgerEntry.created_at < b) for a, b in span.edges)
    )
    return edges if user_id is None else and_(edges, LedgerEntry.user_id == user_id)
