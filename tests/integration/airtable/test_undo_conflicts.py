"""Undo never silently overwrites later edits, and concurrent confirms write once."""

from __future__ import annotations

import threading

import pytest

from services.airtable.change_sets import ApplyResult, UndoConflictError
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.airtable.fixtures import FreshBase

pytestmark = pytest.mark.sql


def test_undo_of_a_create__refuses_when_the_record_was_edited_since(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Fresh", "Hours": 2}]
    )
    created = log.apply(proposal.id, member.id).created_ids[0]
    fresh_base.api.table(fresh_base.id, "Tasks").update(created, {"Notes": "added by Ben"})

    with pytest.raises(UndoConflictError, match=r"Fresh \(Notes\)") as refused:
        log.undo(proposal.id, member.id)

    assert [(r.record_id, r.fields) for r in refused.value.edited] == [(created, ["Notes"])]
    assert fresh_base.snapshot()[created]["Notes"] == "added by Ben"
    assert log.state(proposal.id, member.id) == "applied"
    log.undo(proposal.id, member.id, force=True)
    assert created not in fresh_base.snapshot()


def test_undo_of_a_create__goes_ahead_when_the_record_is_untouched(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Brief", "Status": "Todo"}]
    )
    created = log.apply(proposal.id, member.id).created_ids[0]
    log.undo(proposal.id, member.id)
    assert created not in fresh_base.snapshot()


def test_undo_of_an_update__names_the_records_and_fields_edited_since(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    (first, _), (second, _) = list(fresh_base.snapshot().items())[:2]
    proposal = airtable_services.airtable_proposals.update(
        member.id,
        fresh_base.id,
        "Tasks",
        updates={first: {"Hours": 40, "Status": "Doing"}, second: {"Hours": 41}},
    )
    log.apply(proposal.id, member.id)
    fresh_base.api.table(fresh_base.id, "Tasks").update(first, {"Status": "Done"})

    with pytest.raises(UndoConflictError, match=r"1 record was edited") as refused:
        log.undo(proposal.id, member.id)

    assert [(r.record_id, r.fields) for r in refused.value.edited] == [(first, ["Status"])]
    assert fresh_base.snapshot()[second]["Hours"] == 41


def test_undo_of_a_delete_then_redo__refuses_when_the_recreated_record_was_edited(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    target = next(iter(fresh_base.snapshot()))
    proposal = airtable_services.airtable_proposals.delete(
        member.id, fresh_base.id, "Tasks", record_ids=[target]
    )
    log.apply(proposal.id, member.id)
    undo = log.undo(proposal.id, member.id)
    recreated = undo.created_ids[0]
    assert recreated in fresh_base.snapshot()
    fresh_base.api.table(fresh_base.id, "Tasks").update(recreated, {"Hours": 99})

    with pytest.raises(UndoConflictError, match="Hours"):
        log.undo(undo.change_set_id, member.id)
    assert fresh_base.snapshot()[recreated]["Hours"] == 99


def test_undo__counts_a_record_deleted_since_as_edited(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Short-lived"}]
    )
    created = log.apply(proposal.id, member.id).created_ids[0]
    fresh_base.api.table(fresh_base.id, "Tasks").delete(created)
    with pytest.raises(UndoConflictError, match="deleted"):
        log.undo(proposal.id, member.id)


def test_apply_from_five_threads__one_writes_and_the_others_hear_it_was_applied(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    record_id = next(iter(fresh_base.snapshot()))
    proposal = airtable_services.airtable_proposals.update(
        member.id, fresh_base.id, "Tasks", updates={record_id: {"Hours": 77}}
    )
    results: list[ApplyResult] = []
    errors: list[Exception] = []
    start = threading.Barrier(5)

    def click() -> None:
        start.wait()
        try:
            results.append(log.apply(proposal.id, member.id))
        except InvalidInputError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(r.already_done for r in results) == [False, True, True, True, True]
    assert fresh_base.snapshot()[record_id]["Hours"] == 77


def test_apply__a_stale_proposal_stays_refused_and_cannot_be_undone(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    log = airtable_services.airtable_changes
    record_id = next(iter(fresh_base.snapshot()))
    proposal = airtable_services.airtable_proposals.update(
        member.id, fresh_base.id, "Tasks", updates={record_id: {"Hours": 5}}
    )
    fresh_base.api.table(fresh_base.id, "Tasks").update(record_id, {"Hours": 6})
    with pytest.raises(InvalidInputError, match="changed since"):
        log.apply(proposal.id, member.id)
    with pytest.raises(InvalidInputError, match="changed since"):
        log.apply(proposal.id, member.id)
    with pytest.raises(InvalidInputError, match="never applied"):
        log.undo(proposal.id, member.id)
    assert log.state(proposal.id, member.id) == "stale"
    assert fresh_base.snapshot()[record_id]["Hours"] == 6
