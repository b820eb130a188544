"""Proposals, apply, undo and cancel against a throw-away base, audited in SQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from emulator.testing import EmulatorServer
from services.airtable.change_sets import ApplyResult
from services.airtable.filters import Condition
from services.airtable.orm import ChangeSet, RecordChange
from services.container import Services
from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase, emulator_stats
from tests.support.accounts import make_user

pytestmark = pytest.mark.sql
NOT_DONE = [Condition(field="Done", op="equals", value="false")]


def _writes(server: EmulatorServer, base_id: str) -> int:
    routes = emulator_stats(server)["routes"]
    return sum(n for route, n in routes.items() if route.split()[0] in ("POST", "PATCH", "DELETE"))


def test_proposal__stores_the_exact_diff_and_writes_nothing(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    before = fresh_base.snapshot()
    proposal = airtable_services.airtable_proposals.update(
        member.id,
        fresh_base.id,
        "Tasks",
        filters=[Condition(field="Status", op="equals", value="todo")],
        values={"Status": "Doing", "Hours": 1.5},
    )
    todo = {i: f for i, f in before.items() if f["Status"] == "Todo"}
    assert {c.record_id for c in proposal.changes} == set(todo)
    names = proposal.field_names
    for change in proposal.changes:
        current = todo[str(change.record_id)]
        after = {names[f]: v for f, v in change.after.items()}
        assert {names[f]: v for f, v in change.before.items()} == {
            name: current.get(name) for name in after
        }
        assert after["Status"] == "Doing"
        assert ("Hours" in after) == (current.get("Hours") != 1.5)
    assert fresh_base.snapshot() == before


def test_apply_then_undo__restores_the_table_exactly(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    planner, log = airtable_services.airtable_proposals, airtable_services.airtable_changes
    before = fresh_base.snapshot()
    update = planner.update(
        member.id,
        fresh_base.id,
        "Tasks",
        filters=NOT_DONE,
        values={"Status": "Done", "Done": True, "Notes": None, "Owner": ["Carla"]},
    )
    progress: list[tuple[int, int]] = []
    result = log.apply(update.id, member.id, progress=lambda d, t: progress.append((d, t)))
    changed = fresh_base.snapshot()
    assert result.status == "applied"
    assert result.done == len(update.changes) == 17
    assert progress == [(10, 17), (17, 17)]
    assert all(f.get("Done") for f in changed.values())
    create = planner.create(
        member.id, fresh_base.id, "Tasks", [{"Name": f"New {i}", "Hours": i} for i in range(12)]
    )
    created = log.apply(create.id, member.id)
    assert len(created.created_ids) == 12
    log.undo(created.change_set_id, member.id)
    log.undo(result.change_set_id, member.id)
    assert fresh_base.snapshot() == before


def test_delete_then_undo__recreates_the_records_and_records_the_new_ids(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    planner, log = airtable_services.airtable_proposals, airtable_services.airtable_changes
    before = fresh_base.snapshot()
    proposal = planner.delete(
        member.id,
        fresh_base.id,
        "Tasks",
        filters=[Condition(field="Hours", op="lt", value="3")],
    )
    log.apply(proposal.id, member.id)
    assert len(fresh_base.snapshot()) == len(before) - 6
    undo = log.undo(proposal.id, member.id)
    after = fresh_base.snapshot()
    assert sorted(after.values(), key=str) == sorted(before.values(), key=str)
    with airtable_services.sql() as session:
        rows = session.scalars(
            select(RecordChange).where(RecordChange.change_set_id == undo.change_set_id)
        ).all()
    assert {r.source_record_id for r in rows} == {c.record_id for c in proposal.changes}
    assert {r.record_id for r in rows} == set(after) - set(before)


def test_apply_twice__writes_once(
    airtable_services: Services,
    member: User,
    fresh_base: FreshBase,
    airtable_emulator: EmulatorServer,
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Once"}]
    )
    first = log.apply(proposal.id, member.id)
    writes = _writes(airtable_emulator, fresh_base.id)
    second = log.apply(proposal.id, member.id)
    assert not first.already_done
    assert second.already_done
    assert second.created_ids == first.created_ids
    assert _writes(airtable_emulator, fresh_base.id) == writes
    assert sum(f.get("Name") == "Once" for f in fresh_base.snapshot().values()) == 1


def test_apply_from_two_threads_at_once__writes_once(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": f"Race {i}"} for i in range(15)]
    )
    results: list[ApplyResult] = []
    start = threading.Barrier(2)

    def click() -> None:
        start.wait()
        results.append(log.apply(proposal.id, member.id))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.already_done for r in results) == [False, True]
    names = [f.get("Name", "") for f in fresh_base.snapshot().values()]
    assert sum(n.startswith("Race ") for n in names) == 15
    with airtable_services.sql() as session:
        audited = session.scalars(
            select(RecordChange).where(RecordChange.change_set_id == proposal.id)
        ).all()
    assert len(audited) == 15


def test_audit__records_who_what_and_before_after_values(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    target_id, target = next(iter(fresh_base.snapshot().items()))
    proposal = airtable_services.airtable_proposals.update(
        member.id, fresh_base.id, "Tasks", updates={target_id: {"Hours": 99}}
    )
    airtable_services.airtable_changes.apply(proposal.id, member.id)
    with airtable_services.sql() as session:
        row = session.scalars(select(RecordChange)).one()
        change_set = session.get(ChangeSet, proposal.id)
    hours = proposal.changes[0].after
    assert (row.user_id, row.base_id, row.record_id, row.action) == (
        member.id,
        fresh_base.id,
        target_id,
        "update",
    )
    assert row.after == hours
    assert list(row.before.values()) == [target["Hours"]]
    assert change_set is not None
    assert change_set.status == "applied"
    assert change_set.conversation_id is None
    assert change_set.finished_at is not None


def test_apply__refuses_someone_elses_proposal(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    other = make_user(airtable_services, name="Other")
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Mine"}]
    )
    with pytest.raises(NotAllowedError):
        airtable_services.airtable_changes.apply(proposal.id, other.id)
    applied = airtable_services.airtable_changes.apply(proposal.id, member.id)
    with pytest.raises(NotAllowedError):
        airtable_services.airtable_changes.undo(applied.change_set_id, other.id)


def test_apply__refuses_an_expired_proposal(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    planner = airtable_services.airtable_proposals
    planner._ttl = planner._ttl.__class__(seconds=1)
    proposal = planner.create(member.id, fresh_base.id, "Tasks", [{"Name": "Too late"}])
    time.sleep(1.2)
    before = fresh_base.snapshot()
    with pytest.raises(NotFoundError, match="expired"):
        airtable_services.airtable_changes.apply(proposal.id, member.id)
    assert fresh_base.snapshot() == before


def test_apply__refuses_when_records_changed_since_the_proposal(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    record_id = next(iter(fresh_base.snapshot()))
    proposal = airtable_services.airtable_proposals.update(
        member.id, fresh_base.id, "Tasks", updates={record_id: {"Hours": 42}}
    )
    fresh_base.api.table(fresh_base.id, "Tasks").update(record_id, {"Hours": 7})
    with pytest.raises(InvalidInputError, match="changed since"):
        airtable_services.airtable_changes.apply(proposal.id, member.id)
    assert fresh_base.snapshot()[record_id]["Hours"] == 7


def test_undo__refuses_to_overwrite_later_edits_unless_forced(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    record_id, fields = next(iter(fresh_base.snapshot().items()))
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.update(
        member.id, fresh_base.id, "Tasks", updates={record_id: {"Hours": 42}}
    )
    log.apply(proposal.id, member.id)
    fresh_base.api.table(fresh_base.id, "Tasks").update(record_id, {"Hours": 43})
    with pytest.raises(InvalidInputError, match="edited after"):
        log.undo(proposal.id, member.id)
    assert log.state(proposal.id, member.id) == "applied"
    log.undo(proposal.id, member.id, force=True)
    assert log.state(proposal.id, member.id) == "undone"
    again = log.undo(proposal.id, member.id)
    assert again.already_done
    assert fresh_base.snapshot()[record_id].get("Hours") == fields.get("Hours")


def test_cancel__discards_the_proposal(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Never"}]
    )
    assert log.state(proposal.id, member.id) == "pending"
    log.cancel(proposal.id, member.id)
    assert log.state(proposal.id, member.id) == "closed"
    with pytest.raises(NotFoundError):
        log.apply(proposal.id, member.id)


def test_upsert__updates_matches_and_creates_the_rest(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    proposal = airtable_services.airtable_proposals.upsert(
        member.id,
        fresh_base.id,
        "Tasks",
        [{"Name": "task 03", "Hours": 30}, {"Name": "Task 99", "Owner": ["Ben"]}],
        ["Name"],
    )
    assert proposal.counts() == {"create": 1, "update": 1, "delete": 0}
    airtable_services.airtable_changes.apply(proposal.id, member.id)
    by_name = {f["Name"]: f for f in fresh_base.snapshot().values()}
    assert by_name["Task 03"]["Hours"] == 30
    assert by_name["Task 99"]["Owner"] == [fresh_base.people["Ben"]]


def test_bad_values__are_refused_before_anything_is_stored(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    planner = airtable_services.airtable_proposals
    with pytest.raises(InvalidInputError, match='Did you mean "Doing"'):
        planner.create(member.id, fresh_base.id, "Tasks", [{"Status": "Doin"}])
    with pytest.raises(InvalidInputError, match="computed"):
        planner.create(member.id, fresh_base.id, "Tasks", [{"Double": 4}])
    with pytest.raises(InvalidInputError, match='No People record is named "Zed"'):
        planner.create(member.id, fresh_base.id, "Tasks", [{"Owner": ["Zed"]}])
    with pytest.raises(InvalidInputError, match='Did you mean "Hours"'):
        planner.create(member.id, fresh_base.id, "Tasks", [{"Hour": 3}])
    with pytest.raises(InvalidInputError, match="Nothing would change"):
        planner.update(member.id, fresh_base.id, "Tasks", filters=NOT_DONE, values={"Done": False})


def test_app_writes__are_reported_to_the_change_feed(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    from services.airtable.change_feed import RecordChange as Reported

    seen: list[Reported] = []
    airtable_services.airtable.feed.subscribe(seen.extend)
    planner, log = airtable_services.airtable_proposals, airtable_services.airtable_changes
    create = planner.create(member.id, fresh_base.id, "Tasks", [{"Name": "Fed", "Hours": 2}])
    created = log.apply(create.id, member.id)
    update = planner.update(
        member.id,
        fresh_base.id,
        "Tasks",
        filters=[Condition(field="Name", op="equals", value="Fed")],
        values={"Hours": 3},
    )
    updated = log.apply(update.id, member.id)
    log.undo(updated.change_set_id, member.id)
    log.undo(created.change_set_id, member.id)
    kinds = [(c.kind, c.source, c.record_id) for c in seen]
    new_id = created.created_ids[0]
    assert kinds == [
        ("created", "app", new_id),
        ("updated", "app", new_id),
        ("updated", "app", new_id),
        ("deleted", "app", new_id),
    ]
    assert seen[1].changed_fields
    assert all(f.startswith("fld") for f in seen[1].changed_fields)
    assert 3 in seen[1].fields.values()
    assert seen[0].user_id == member.id
