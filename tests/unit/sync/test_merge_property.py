"""Random interleavings of edits, creates and deletes on both sides between sync runs.

The sides are two dicts of records; a tiny driver applies `merge_record`'s outcomes to
them. The expected result comes from `Model`, written from the issue's rules without
calling the merge: after every run both sides must hold what the model says, and after
a final run both sides are equal except for fields held in `manual` and flagged deletes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sync.merge import (
    DELETE_RULES,
    POLICIES,
    DeleteRule,
    Policy,
    RecordState,
    Resolution,
    merge_record,
)

FIELDS = ("f0", "f1", "f2")
VALUE = st.one_of(st.none(), st.integers(0, 3))
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    values: dict[str, Any]
    modified: int


@dataclass
class World:
    """Both sides, the driver's snapshots and a logical clock (each write ticks it)."""

    sides: dict[str, dict[str, Row]] = field(default_factory=lambda: {"a": {}, "s": {}})
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: int = 0
    created: int = 0

    def tick(self) -> int:
        self.clock += 1
        return self.clock


def _time(row: Row | None) -> datetime | None:
    return None if row is None else EPOCH + timedelta(seconds=row.modified)


def run_sync(
    world: World,
    policy: Policy,
    rule: DeleteRule,
    resolutions: dict[str, Resolution],
) -> tuple[set[tuple[str, str]], set[str], int]:
    """One sync run; returns held (key, field) conflicts, flagged keys and writes made."""
    held: set[tuple[str, str]] = set()
    flagged: set[str] = set()
    writes = 0
    a_side, s_side = world.sides["a"], world.sides["s"]
    for key in sorted(set(a_side) | set(s_side) | set(world.snapshots)):
        a, s = a_side.get(key), s_side.get(key)
        state = RecordState(
            base=world.snapshots.get(key),
            airtable=None if a is None else dict(a.values),
            sql=None if s is None else dict(s.values),
            airtable_modified=_time(a),
            sql_modified=_time(s),
        )
        out = merge_record(state, policy=policy, delete_rule=rule, resolution=resolutions.get(key))
        for side, write in (("a", out.to_airtable), ("s", out.to_sql)):
            rows = world.sides[side]
            if write.action == "create":
                rows[key] = Row(dict(write.values), world.tick())
            elif write.action == "update":
                rows[key].values.update(write.values)
                rows[key].modified = world.tick()
            elif write.action == "delete":
                del rows[key]
            writes += write.action != "none"
        if out.snapshot is None:
            world.snapshots.pop(key, None)
        else:
            world.snapshots[key] = dict(out.snapshot)
        held |= {(key, c.field) for c in out.conflicts}
        if out.flag:
            flagged.add(key)
    return held, flagged, writes


class Model:
    """What each side should hold after a run, from the rules in plain terms.

    It tracks `agreed`: the values both sides last agreed on per record. A side "changed"
    a field when its value differs from the agreed one.
    """

    def __init__(self, policy: Policy, rule: DeleteRule) -> None:
        self.policy = policy
        self.rule = rule
        self.agreed: dict[str, dict[str, Any]] = {}

    def expect(
        self, world: World, resolutions: dict[str, Resolution]
    ) -> tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any] | None], set[Any]]:
        """Expected Airtable and SQL contents after the run, and the held conflicts."""
        exp_a: dict[str, dict[str, Any] | None] = {}
        exp_s: dict[str, dict[str, Any] | None] = {}
        held: set[Any] = set()
        a_side, s_side = world.sides["a"], world.sides["s"]
        for key in set(a_side) | set(s_side) | set(self.agreed):
            a, s, agreed = a_side.get(key), s_side.get(key), self.agreed.get(key)
            res = resolutions.get(key)
            if res is not None and res.record_side is not None:
                chosen = a if res.record_side == "airtable" else s
                final = None if chosen is None else dict(chosen.values)
                exp_a[key] = exp_s[key] = final
                self._agree(key, final)
            elif a is not None and s is not None:
                exp_a[key], exp_s[key] = self._fields(key, a, s, res, held)
            elif a is None and s is None:
                self.agreed.pop(key, None)
            elif agreed is None:
                only = a if a is not None else s
                assert only is not None
                exp_a[key] = exp_s[key] = dict(only.values)
                self.agreed[key] = dict(only.values)
            else:
                survivor, gone = (s, "airtable") if a is None else (a, "sql")
                assert survivor is not None
                kept = dict(survivor.values)
                if survivor.values != agreed:
                    loses = self.policy == f"{gone}_wins" and self.rule == "propagate"
                    final = None if loses else kept
                    exp_a[key] = exp_s[key] = final
                    self._agree(key, final)
                elif self.rule == "propagate":
                    exp_a[key] = exp_s[key] = None
                    self._agree(key, None)
                else:
                    exp_a[key] = None if a is None else kept
                    exp_s[key] = None if s is None else kept
        return exp_a, exp_s, held

    def _agree(self, key: str, values: dict[str, Any] | None) -> None:
        if values is None:
            self.agreed.pop(key, None)
        else:
            self.agreed[key] = values

    def _fields(
        self, key: str, a: Row, s: Row, res: Resolution | None, held: set[Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        agreed = self.agreed.get(key)
        out_a, out_s, new_agreed = {}, {}, {}
        for name in FIELDS:
            av, sv = a.values[name], s.values[name]
            if res is not None and name in res.values:
                final = res.values[name]
            elif agreed is None:
                raise AssertionError("keys are never created on both sides")
            else:
                a_changed, s_changed = av != agreed[name], sv != agreed[name]
                if a_changed and s_changed and av != sv:
                    final = self._policy_pick(av, sv, a.modified, s.modified)
                    if final is _HELD:
                        held.add((key, name))
                        out_a[name], out_s[name] = av, sv
                        new_agreed[name] = agreed[name]
                        continue
                elif a_changed:
                    final = av
                elif s_changed:
                    final = sv
                else:
                    final = agreed[name]
            out_a[name] = out_s[name] = new_agreed[name] = final
        self.agreed[key] = new_agreed
        return out_a, out_s

    def _policy_pick(self, av: Any, sv: Any, a_time: int, s_time: int) -> Any:
        if self.policy == "manual":
            return _HELD
        if self.policy == "airtable_wins":
            return av
        if self.policy == "sql_wins":
            return sv
        return sv if s_time > a_time else av


_HELD = object()

OP = st.tuples(
    st.sampled_from(("a", "s")),
    st.sampled_from(("edit", "edit", "edit", "create", "delete")),
    st.integers(0, 3),
    st.sampled_from(FIELDS),
    VALUE,
)
ROUND = st.tuples(st.lists(OP, max_size=10), st.booleans(), st.lists(VALUE, max_size=3))


def apply_op(world: World, op: tuple[str, str, int, str, Any]) -> None:
    side, kind, index, name, value = op
    rows = world.sides[side]
    if kind == "create":
        world.created += 1
        rows[f"r{world.created:03d}"] = Row(
            {f: (value if f == name else index % 3) for f in FIELDS}, world.tick()
        )
        return
    if not rows:
        return
    key = sorted(rows)[index % len(rows)]
    if kind == "delete":
        del rows[key]
    else:
        rows[key].values[name] = value
        rows[key].modified = world.tick()


def _contents(rows: dict[str, Row]) -> dict[str, dict[str, Any]]:
    return {k: dict(r.values) for k, r in rows.items()}


def _expected(exp: dict[str, dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in exp.items() if v is not None}


@settings(max_examples=400, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    rule=st.sampled_from(DELETE_RULES),
    rounds=st.lists(ROUND, min_size=1, max_size=6),
)
def test_merge__random_interleavings_end_equal_and_lose_only_what_the_policy_says(
    policy: Policy, rule: DeleteRule, rounds: list[Any]
) -> None:
    world, model = World(), Model(policy, rule)
    held: set[tuple[str, str]] = set()
    for ops, resolve, picks in rounds:
        for op in ops:
            apply_op(world, op)
        resolutions = _resolutions(held, picks) if resolve else {}
        exp_a, exp_s, exp_held = model.expect(world, resolutions)
        held, flagged, _ = run_sync(world, policy, rule, resolutions)
        assert _contents(world.sides["a"]) == _expected(exp_a)
        assert _contents(world.sides["s"]) == _expected(exp_s)
        assert held == exp_held
    # A final run with no new edits changes nothing, and the sides agree except for
    # held fields and flagged (kept) deletes.
    _, _, writes = run_sync(world, policy, rule, {})
    assert writes == 0
    held, flagged, _ = run_sync(world, policy, rule, {})
    a, s = _contents(world.sides["a"]), _contents(world.sides["s"])
    for key in set(a) | set(s):
        if key in flagged:
            assert rule == "keep"
            assert (key in a) != (key in s)
            continue
        assert key in a
        assert key in s
        for name in FIELDS:
            if (key, name) not in held:
                assert a[key][name] == s[key][name]
    if policy != "manual":
        assert not held


def _resolutions(held: set[tuple[str, str]], picks: list[Any]) -> dict[str, Resolution]:
    chosen: dict[str, dict[str, Any]] = {}
    for (key, name), value in zip(sorted(held), picks, strict=False):
        chosen.setdefault(key, {})[name] = value
    return {key: Resolution(values=values) for key, values in chosen.items()}
