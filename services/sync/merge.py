"""The three-way merge of one synced record: Airtable's state, SQL's state and the last
synced snapshot decide, field by field, what is copied where.

Pure: no I/O, no clocks. Values are already converted to one canonical form (see
`services/sync/convert.py`), so equal means `==`. A side's state is `None` when the record
is absent there (never created, or deleted).

Rules, per field of a record present on both sides:
- unchanged on both, or changed on both to the same value: nothing;
- changed on one side: copied to the other;
- changed on both to different values: the policy decides. `airtable_wins` / `sql_wins`
  pick that side; `newest_wins` picks the side modified later (ties to Airtable);
  `manual` holds the field as a conflict, writes nothing for it and keeps its snapshot
  value, so the next run finds it again until someone resolves it. The record's other
  fields still sync.

Creates and deletes:
- present on one side only, never synced: created on the other side;
- deleted on one side, unchanged on the other: the job's delete rule decides: `propagate`
  deletes it there too, `keep` keeps the surviving copy and flags it;
- deleted on one side, edited on the other: the policy's side wins when the policy
  names the deleting side (`airtable_wins` when Airtable deleted); otherwise the edit
  is kept and the record re-created on the deleting side (an edit is a change a person
  made after the delete could be seen; a delete is never allowed to silently drop it);
- deleted on both: the snapshot is dropped.

One-way jobs make the target equal to the source: target-side edits of synced records
are overwritten, deletes in the source follow the delete rule, and records created only
in the target are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Policy = Literal["airtable_wins", "sql_wins", "newest_wins", "manual"]
DeleteRule = Literal["propagate", "keep"]
Direction = Literal["both", "a_to_s", "s_to_a"]
Side = Literal["airtable", "sql"]

POLICIES: tuple[Policy, ...] = ("airtable_wins", "sql_wins", "newest_wins", "manual")
DELETE_RULES: tuple[DeleteRule, ...] = ("propagate", "keep")
DIRECTIONS: tuple[Direction, ...] = ("both", "a_to_s", "s_to_a")

Values = Mapping[str, Any]


class _Missing:
    """A field the snapshot never held (a record matched by key on its first run)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class RecordState:
    """One record as both sides and the snapshot hold it, keyed by mapping name."""

    base: Values | None
    airtable: Values | None
    sql: Values | None
    airtable_modified: datetime | None = None
    sql_modified: datetime | None = None


@dataclass(frozen=True)
class FieldConflict:
    """A field changed on both sides to different values, held for a person (`manual`)."""

    field: str
    base: Any
    airtable: Any
    sql: Any


@dataclass(frozen=True)
class Resolution:
    """What a person chose for held conflicts: per field, the value both sides get;
    for a delete flag, the side whose state (present or absent) both sides take."""

    values: Mapping[str, Any] = field(default_factory=dict)
    record_side: Side | None = None


Action = Literal["none", "create", "update", "delete"]


@dataclass(frozen=True)
class SideWrite:
    """What to do on one side: create (all values), update (changed values) or delete."""

    action: Action = "none"
    values: Mapping[str, Any] = field(default_factory=dict)


NO_WRITE = SideWrite()


@dataclass(frozen=True)
class Outcome:
    """The writes for each side, the snapshot to keep (None: forget the record), held
    conflicts, and `flag` when a delete was not propagated (`keep`)."""

    to_airtable: SideWrite
    to_sql: SideWrite
    snapshot: Values | None
    conflicts: tuple[FieldConflict, ...] = ()
    flag: str | None = None


def merge_record(
    state: RecordState,
    *,
    policy: Policy,
    delete_rule: DeleteRule,
    direction: Direction = "both",
    resolution: Resolution | None = None,
) -> Outcome:
    """The outcome of syncing one record (see the module docstring for the rules)."""
    if direction != "both":
        return _one_way(state, direction, delete_rule)
    if resolution is not None and resolution.record_side is not None:
        return _take_side(state, resolution.record_side)
    a, s, base = state.airtable, state.sql, state.base
    if a is None and s is None:
        return Outcome(NO_WRITE, NO_WRITE, None)
    if a is not None and s is not None:
        return _merge_fields(state, a, s, policy, resolution)
    if base is None:
        return _take_side(state, "airtable" if a is not None else "sql")
    return _one_deleted(state, policy, delete_rule)


def _merge_fields(
    state: RecordState, a: Values, s: Values, policy: Policy, resolution: Resolution | None
) -> Outcome:
    base = state.base or {}
    resolved = resolution.values if resolution is not None else {}
    to_a: dict[str, Any] = {}
    to_s: dict[str, Any] = {}
    snapshot: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for name in sorted(set(a) | set(s)):
        av, sv, bv = a.get(name), s.get(name), base.get(name, MISSING)
        if name in resolved:
            value = resolved[name]
        elif av == sv:
            snapshot[name] = av
            continue
        elif av == bv:
            value = sv
        elif sv == bv:
            value = av
        else:
            winner = _winner(state, policy)
            if winner is None:
                conflicts.append(FieldConflict(name, None if bv is MISSING else bv, av, sv))
                if bv is not MISSING:
                    snapshot[name] = bv
                continue
            value = av if winner == "airtable" else sv
        if av != value:
            to_a[name] = value
        if sv != value:
            to_s[name] = value
        snapshot[name] = value
    return Outcome(
        SideWrite("update", to_a) if to_a else NO_WRITE,
        SideWrite("update", to_s) if to_s else NO_WRITE,
        snapshot,
        tuple(conflicts),
    )


def _winner(state: RecordState, policy: Policy) -> Side | None:
    if policy == "airtable_wins":
        return "airtable"
    if policy == "sql_wins":
        return "sql"
    if policy == "manual":
        return None
    a_time, s_time = state.airtable_modified, state.sql_modified
    if s_time is not None and (a_time is None or s_time > a_time):
        return "sql"
    return "airtable"


def _one_deleted(state: RecordState, policy: Policy, delete_rule: DeleteRule) -> Outcome:
    """The record is gone from one side and was synced before."""
    deleted: Side = "airtable" if state.airtable is None else "sql"
    survivor_side: Side = "sql" if deleted == "airtable" else "airtable"
    survivor = state.sql if deleted == "airtable" else state.airtable
    assert survivor is not None
    assert state.base is not None
    edited = any(survivor.get(k) != state.base.get(k, MISSING) for k in survivor)
    if edited:
        deleting_side_wins = policy == f"{deleted}_wins"
        if deleting_side_wins and delete_rule == "propagate":
            return _take_side(state, deleted)
        return _take_side(state, survivor_side)
    if delete_rule == "propagate":
        return _take_side(state, deleted)
    return Outcome(NO_WRITE, NO_WRITE, state.base, flag=f"deleted in {_label(deleted)}")


def _take_side(state: RecordState, side: Side) -> Outcome:
    """Both sides take `side`'s state: its values, or its absence."""
    values = state.airtable if side == "airtable" else state.sql
    other = state.sql if side == "airtable" else state.airtable
    if values is None:
        write = SideWrite("delete") if other is not None else NO_WRITE
        to_other = write
        snapshot = None
    elif other is None:
        to_other = SideWrite("create", dict(values))
        snapshot = dict(values)
    else:
        changed = {k: v for k, v in values.items() if other.get(k) != v}
        to_other = SideWrite("update", changed) if changed else NO_WRITE
        snapshot = dict(values)
    if side == "airtable":
        return Outcome(NO_WRITE, to_other, snapshot)
    return Outcome(to_other, NO_WRITE, snapshot)


def _one_way(state: RecordState, direction: Direction, delete_rule: DeleteRule) -> Outcome:
    source: Side = "airtable" if direction == "a_to_s" else "sql"
    values = state.airtable if source == "airtable" else state.sql
    target = state.sql if source == "airtable" else state.airtable
    if values is None:
        if state.base is None or target is None:
            # Created in the target only, or gone from both: not this job's business.
            return Outcome(NO_WRITE, NO_WRITE, None)
        if delete_rule == "keep":
            return Outcome(NO_WRITE, NO_WRITE, state.base, flag=f"deleted in {_label(source)}")
    # A record deleted in the target by hand is restored from the source.
    return _take_side(state, source)


def _label(side: Side) -> str:
    return "Airtable" if side == "airtable" else "SQL"
