"""Worked cases of the three-way merge, one rule each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.sync.merge import POLICIES, Policy, RecordState, Resolution, merge_record

T1 = datetime(2026, 1, 1, 10, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 11, tzinfo=UTC)


def _state(base: dict | None, at: dict | None, sq: dict | None, **times: datetime) -> RecordState:
    return RecordState(base, at, sq, times.get("a"), times.get("s"))


@pytest.mark.parametrize("policy", POLICIES)
def test_merge__both_changed_to_the_same_value_writes_nothing(policy: Policy) -> None:
    out = merge_record(_state({"x": 1}, {"x": 2}, {"x": 2}), policy=policy, delete_rule="propagate")
    assert out.to_airtable.action == out.to_sql.action == "none"
    assert out.snapshot == {"x": 2}
    assert not out.conflicts


def test_merge__one_side_changed_is_copied_to_the_other() -> None:
    out = merge_record(
        _state({"x": 1, "y": 1}, {"x": 5, "y": 1}, {"x": 1, "y": 7}),
        policy="manual",
        delete_rule="propagate",
    )
    assert dict(out.to_sql.values) == {"x": 5}
    assert dict(out.to_airtable.values) == {"y": 7}
    assert out.snapshot == {"x": 5, "y": 7}


@pytest.mark.parametrize(
    ("policy", "times", "expected"),
    [
        ("airtable_wins", {}, "a"),
        ("sql_wins", {}, "s"),
        ("newest_wins", {"a": T1, "s": T2}, "s"),
        ("newest_wins", {"a": T2, "s": T1}, "a"),
        ("newest_wins", {"a": T1, "s": T1}, "a"),
    ],
)
def test_merge__conflict_follows_the_policy(
    policy: Policy, times: dict[str, datetime], expected: str
) -> None:
    out = merge_record(
        _state({"x": 1}, {"x": "a"}, {"x": "s"}, **times), policy=policy, delete_rule="keep"
    )
    assert out.snapshot == {"x": expected}
    assert not out.conflicts


def test_merge__manual_holds_the_field_and_syncs_the_rest() -> None:
    out = merge_record(
        _state({"x": 1, "y": 1}, {"x": 2, "y": 9}, {"x": 3, "y": 1}),
        policy="manual",
        delete_rule="keep",
    )
    assert [(c.field, c.base, c.airtable, c.sql) for c in out.conflicts] == [("x", 1, 2, 3)]
    assert dict(out.to_sql.values) == {"y": 9}
    assert out.to_airtable.action == "none"
    assert out.snapshot == {"x": 1, "y": 9}


def test_merge__a_resolution_goes_to_both_sides() -> None:
    out = merge_record(
        _state({"x": 1}, {"x": 2}, {"x": 3}),
        policy="manual",
        delete_rule="keep",
        resolution=Resolution(values={"x": 4}),
    )
    assert dict(out.to_airtable.values) == dict(out.to_sql.values) == {"x": 4}
    assert out.snapshot == {"x": 4}
    assert not out.conflicts


def test_merge__delete_is_propagated_or_kept_and_flagged() -> None:
    gone = merge_record(_state({"x": 1}, None, {"x": 1}), policy="manual", delete_rule="propagate")
    assert gone.to_sql.action == "delete"
    assert gone.snapshot is None
    kept = merge_record(_state({"x": 1}, None, {"x": 1}), policy="manual", delete_rule="keep")
    assert kept.to_sql.action == "none"
    assert kept.flag == "deleted in Airtable"


def test_merge__an_edit_survives_a_delete_unless_the_deleting_side_wins() -> None:
    state = _state({"x": 1}, None, {"x": 2})
    back = merge_record(state, policy="newest_wins", delete_rule="propagate")
    assert back.to_airtable.action == "create"
    assert dict(back.to_airtable.values) == {"x": 2}
    lost = merge_record(state, policy="airtable_wins", delete_rule="propagate")
    assert lost.to_sql.action == "delete"


def test_merge__first_run_match_by_key_treats_differences_as_conflicts() -> None:
    out = merge_record(
        _state(None, {"k": 1, "x": 2}, {"k": 1, "x": 3}), policy="manual", delete_rule="keep"
    )
    assert [c.field for c in out.conflicts] == ["x"]
    assert out.snapshot == {"k": 1}


def test_merge__one_way_makes_the_target_equal_to_the_source() -> None:
    out = merge_record(
        _state({"x": 1}, {"x": 1}, {"x": 5}),
        policy="manual",
        delete_rule="keep",
        direction="a_to_s",
    )
    assert dict(out.to_sql.values) == {"x": 1}
    assert out.to_airtable.action == "none"
    only_target = merge_record(
        _state(None, None, {"x": 5}), policy="manual", delete_rule="keep", direction="a_to_s"
    )
    assert only_target.to_airtable.action == "none"
    assert only_target.snapshot is None
