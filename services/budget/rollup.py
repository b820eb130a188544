"""The daily rollup of the usage ledger: what every cost report reads.

`usage_daily` sums calls, tokens by kind and cost per UTC day, user, model and purpose;
`usage_ref_daily` per conversation or run, day and user; `usage_refs` per conversation or
run over its life, with its first and last day. The ledger write adds its row to all
three in its own transaction, only when the row was really written (services/budget/ledger.py),
so the rollup always equals the ledger. `rebuild` recomputes both from the ledger
(`python manage.py rollup rebuild`), after a bulk import or to repair them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite

from services.budget.orm import LedgerEntry, UsageDay, UsageRef, UsageRefDay

logger = logging.getLogger(__name__)

_DAY_SUMS = ("calls", "input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens")
_REF_SUMS = ("calls", "tokens", "cost_nusd")


@dataclass(frozen=True)
class RolledCall:
    """The figures of one ledger row that the rollup sums."""

    user_id: int | None
    purpose: str
    ref_type: str | None
    ref_id: str | None
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_nusd: int
    created_at: datetime


def utc_day(at: datetime) -> str:
    """The UTC calendar day of `at` as `YYYY-MM-DD`, as the rollup keys it."""
    return at.astimezone(UTC).date().isoformat()


_DAY_COLUMNS = ("day", "user_id", "model", "purpose", *_DAY_SUMS, "cost_nusd")
_REF_COLUMNS = ("ref_type", "ref_id", "day", "user_id", *_REF_SUMS, "last_call_at")
_LIFE_COLUMNS = ("ref_type", "ref_id", "first_day", "last_day", *_REF_SUMS, "last_call_at")


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _adding_day(dialect: str, statement: Any) -> Insert:
    """`statement` (an insert into usage_daily) adding to the row it conflicts with."""
    return statement.on_conflict_do_update(
        index_elements=["day", "user_id", "model", "purpose"],
        index_where=UsageDay.user_id.is_not(None),
        set_={c: getattr(UsageDay, c) + statement.excluded[c] for c in (*_DAY_SUMS, "cost_nusd")},
    )


def _adding_ref(dialect: str, statement: Any) -> Insert:
    later = func.greatest if dialect == "postgresql" else func.max
    return statement.on_conflict_do_update(
        index_elements=["ref_type", "day", "ref_id", "user_id"],
        index_where=UsageRefDay.user_id.is_not(None),
        set_={
            **{c: getattr(UsageRefDay, c) + statement.excluded[c] for c in _REF_SUMS},
            "last_call_at": later(UsageRefDay.last_call_at, statement.excluded.last_call_at),
        },
    )


def _adding_life(dialect: str, statement: Any) -> Insert:
    later = func.greatest if dialect == "postgresql" else func.max
    earlier = func.least if dialect == "postgresql" else func.min
    return statement.on_conflict_do_update(
        index_elements=["ref_type", "ref_id"],
        set_={
            **{c: getattr(UsageRef, c) + statement.excluded[c] for c in _REF_SUMS},
            "first_day": earlier(UsageRef.first_day, statement.excluded.first_day),
            "last_day": later(UsageRef.last_day, statement.excluded.last_day),
            "last_call_at": later(UsageRef.last_call_at, statement.excluded.last_call_at),
        },
    )


@functools.cache
def upserts(dialect: str) -> tuple[Insert, Insert, Insert]:
    """(add to usage_daily, to usage_ref_daily, to usage_refs) for `dialect`:
    `x = x + excluded.x`.

    Adding in the database, not read-modify-write, keeps concurrent writers exact; the
    conflict target is the partial unique index of rows whose user exists.
    """
    insert = _insert(dialect)
    return (
        _adding_day(dialect, insert(UsageDay).values({c: bindparam(c) for c in _DAY_COLUMNS})),
        _adding_ref(dialect, insert(UsageRefDay).values({c: bindparam(c) for c in _REF_COLUMNS})),
        _adding_life(dialect, insert(UsageRef).values({c: bindparam(c) for c in _LIFE_COLUMNS})),
    )


def _typed(prefix: str, table: Any, columns: Sequence[str]) -> Select[Any]:
    return select(*(bindparam(f"{prefix}{c}", type_=table.__table__.c[c].type) for c in columns))


def with_rollup(written: CTE, *, with_ref: bool) -> Select[Any]:
    """One PostgreSQL statement: `written` (a ledger insert-or-ignore returning its id, as a
    CTE) and, for each row it returns, the adds to the rollup (data-modifying CTEs).

    Its parameters: the ledger insert's, plus `rollup_params` of the call. A duplicate
    (nothing written, no id returned) adds nothing, as in `add_call`'s caller.
    """
    dialect = "postgresql"
    insert = _insert(dialect)
    from_written = _typed("d_", UsageDay, _DAY_COLUMNS).select_from(written)
    adds = [_adding_day(dialect, insert(UsageDay).from_select(_DAY_COLUMNS, from_written))]
    if with_ref:
        ref = _typed("r_", UsageRefDay, _REF_COLUMNS).select_from(written)
        life = _typed("l_", UsageRef, _LIFE_COLUMNS).select_from(written)
        adds.append(_adding_ref(dialect, insert(UsageRefDay).from_select(_REF_COLUMNS, ref)))
        adds.append(_adding_life(dialect, insert(UsageRef).from_select(_LIFE_COLUMNS, life)))
    names = ("rollup_day", "rollup_ref_day", "rollup_ref")
    return select(written.c.id).add_cte(*(a.cte(n) for a, n in zip(adds, names, strict=False)))


def sums(
    call: RolledCall, sign: int
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """The parameters of the day, ref-day and ref-life adds (None: the call has no ref)."""
    day = utc_day(call.created_at)
    day_sums = {
        "day": day,
        "user_id": call.user_id,
        "model": call.model,
        "purpose": call.purpose,
        "calls": sign,
        "input_tokens": sign * call.input_tokens,
        "cached_tokens": sign * call.cached_tokens,
        "output_tokens": sign * call.output_tokens,
        "reasoning_tokens": sign * call.reasoning_tokens,
        "cost_nusd": sign * call.cost_nusd,
    }
    if call.ref_type is None or call.ref_id is None:
        return day_sums, None, None
    sums = {
        "ref_type": call.ref_type,
        "ref_id": call.ref_id,
        "calls": sign,
        "tokens": sign * (call.input_tokens + call.output_tokens),
        "cost_nusd": sign * call.cost_nusd,
        "last_call_at": call.created_at,
    }
    return (
        day_sums,
        {**sums, "day": day, "user_id": call.user_id},
        {**sums, "first_day": day, "last_day": day},
    )


def rollup_params(call: RolledCall) -> tuple[dict[str, Any], bool]:
    """The parameters `with_ref` adds to the ledger insert's for `call`, and whether the
    call has a ref (which `with_rollup` variant to run)."""
    day, ref, life = sums(call, 1)
    params = {f"d_{k}": v for k, v in day.items()}
    if ref is None or life is None:
        return params, False
    params.update({f"r_{k}": v for k, v in ref.items()})
    params.update({f"l_{k}": v for k, v in life.items()})
    return params, True


def add_call(connection: Connection, call: RolledCall, *, sign: int = 1) -> None:
    """Add one ledger row to the rollup (`sign=-1` takes it out), in the caller's transaction."""
    day_upsert, ref_upsert, life_upsert = upserts(connection.dialect.name)
    day, ref, life = sums(call, sign)
    connection.execute(day_upsert, day)
    if ref is not None and life is not None:
        connection.execute(ref_upsert, ref)
        connection.execute(life_upsert, life)


def remove_call(connection: Connection, call: RolledCall) -> None:
    """Take one ledger row out of the rollup, dropping groups it leaves without calls."""
    add_call(connection, call, sign=-1)
    day = utc_day(call.created_at)
    connection.execute(
        delete(UsageDay).where(
            UsageDay.day == day,
            UsageDay.user_id == call.user_id,
            UsageDay.model == call.model,
            UsageDay.purpose == call.purpose,
            UsageDay.calls == 0,
        )
    )
    if call.ref_type is not None and call.ref_id is not None:
        connection.execute(
            delete(UsageRefDay).where(
                UsageRefDay.ref_type == call.ref_type,
                UsageRefDay.day == day,
                UsageRefDay.ref_id == call.ref_id,
                UsageRefDay.user_id == call.user_id,
                UsageRefDay.calls == 0,
            )
        )
        connection.execute(
            delete(UsageRef).where(
                UsageRef.ref_type == call.ref_type,
                UsageRef.ref_id == call.ref_id,
                UsageRef.calls == 0,
            )
        )


def ledger_day(dialect: str) -> ColumnElement[str]:
    """The UTC calendar day of a ledger row as `YYYY-MM-DD`, computed in SQL."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", LedgerEntry.created_at), "YYYY-MM-DD")
    # SQLite stores UTC datetimes as ISO text: the day is its first ten characters.
    return func.substr(LedgerEntry.created_at, 1, 10)


def rebuild(engine: Engine) -> tuple[int, int]:
    """Recompute the rollup from the ledger in one transaction; (day rows, ref rows).

    On PostgreSQL the ledger is locked against writes meanwhile (reads go on), so no call
    lands between the delete and the recount; SQLite writers wait for the write lock anyway.
    """
    with engine.begin() as connection:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.execute(sql_text("LOCK TABLE usage_ledger IN SHARE MODE"))
        connection.execute(delete(UsageRef))
        connection.execute(delete(UsageRefDay))
        connection.execute(delete(UsageDay))
        day = ledger_day(dialect)
        connection.execute(
            UsageDay.__table__.insert().from_select(  # type: ignore[attr-defined]
                ["day", "user_id", "model", "purpose", *_DAY_SUMS, "cost_nusd"],
                _day_sums(day),
            )
        )
        connection.execute(
            UsageRefDay.__table__.insert().from_select(  # type: ignore[attr-defined]
                ["ref_type", "ref_id", "day", "user_id", *_REF_SUMS, "last_call_at"],
                _ref_sums(day),
            )
        )
        connection.execute(
            UsageRef.__table__.insert().from_select(  # type: ignore[attr-defined]
                ["ref_type", "ref_id", "first_day", "last_day", *_REF_SUMS, "last_call_at"],
                _life_sums(day),
            )
        )
        # Counted, not taken from rowcount, which some drivers leave at -1 here.
        days = int(connection.scalar(select(func.count()).select_from(UsageDay)) or 0)
        refs = int(connection.scalar(select(func.count()).select_from(UsageRefDay)) or 0)
    logger.info("rollup rebuilt day_rows=%d ref_rows=%d", days, refs)
    return days, refs


def _day_sums(day: ColumnElement[str]) -> Any:
    keys = (day, LedgerEntry.user_id, LedgerEntry.model, LedgerEntry.purpose)
    return select(
        *keys,
        func.count(),
        *(func.sum(getattr(LedgerEntry, c)) for c in _DAY_SUMS[1:]),
        func.sum(LedgerEntry.cost_nusd),
    ).group_by(*keys)


def _ref_sums(day: ColumnElement[str]) -> Any:
    keys = (LedgerEntry.ref_type, LedgerEntry.ref_id, day, LedgerEntry.user_id)
    return (
        select(
            *keys,
            func.count(),
            func.sum(LedgerEntry.input_tokens + LedgerEntry.output_tokens),
            func.sum(LedgerEntry.cost_nusd),
            func.max(LedgerEntry.created_at),
        )
        .where(LedgerEntry.ref_type.is_not(None), LedgerEntry.ref_id.is_not(None))
        .group_by(*keys)
    )


def _life_sums(day: ColumnElement[str]) -> Any:
    keys = (LedgerEntry.ref_type, LedgerEntry.ref_id)
    return (
        select(
            *keys,
            func.min(day),
            func.max(day),
            func.count(),
            func.sum(LedgerEntry.input_tokens + LedgerEntry.output_tokens),
            func.sum(LedgerEntry.cost_nusd),
            func.max(LedgerEntry.created_at),
        )
        .where(LedgerEntry.ref_type.is_not(None), LedgerEntry.ref_id.is_not(None))
        .group_by(*keys)
    )


def differences(engine: Engine) -> int:
    """How many rollup groups differ from a recount of the ledger (0: they agree)."""
    with engine.connect() as connection:
        day = ledger_day(connection.dialect.name)
        found = 0
        for stored, recount in (
            (_regrouped_days(), _day_sums(day)),
            (_regrouped_refs(), _ref_sums(day)),
            (_stored_lives(), _life_sums(day)),
        ):
            mine = _by_key(connection.execute(stored))
            theirs = _by_key(connection.execute(recount))
            found += sum(mine.get(k) != theirs.get(k) for k in mine.keys() | theirs.keys())
    return found


def _regrouped_days() -> Any:
    # Rows of deleted users (NULL) may share a key: regroup as the ledger recount groups.
    keys = (UsageDay.day, UsageDay.user_id, UsageDay.model, UsageDay.purpose)
    sums = (func.sum(getattr(UsageDay, c)) for c in (*_DAY_SUMS, "cost_nusd"))
    return select(*keys, *sums).group_by(*keys).having(func.sum(UsageDay.calls) != 0)


def _regrouped_refs() -> Any:
    keys = (UsageRefDay.ref_type, UsageRefDay.ref_id, UsageRefDay.day, UsageRefDay.user_id)
    sums = (func.sum(getattr(UsageRefDay, c)) for c in _REF_SUMS)
    return (
        select(*keys, *sums, func.max(UsageRefDay.last_call_at))
        .group_by(*keys)
        .having(func.sum(UsageRefDay.calls) != 0)
    )


def _stored_lives() -> Any:
    return select(
        UsageRef.ref_type,
        UsageRef.ref_id,
        UsageRef.first_day,
        UsageRef.last_day,
        *(getattr(UsageRef, c) for c in _REF_SUMS),
        UsageRef.last_call_at,
    ).where(UsageRef.calls != 0)


def _by_key(rows: Any) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    # Keys are the first four columns (of usage_refs: the reference and its days).
    return {tuple(row[:4]): tuple(_plain(v) for v in row[4:]) for row in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value if value is None else int(value)
