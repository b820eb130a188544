"""A fill over 600 contacts with the fake Gemini: every empty cell filled with a valid
option, filled cells untouched, the ledger within the preview, one change set that Undo
reverts; a budget for about half stops it at about half, and Resume finishes it."""

from __future__ import annotations

import math
import time

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from emulator.testing import EmulatorServer
from services.airtable.orm import RecordChange
from services.budget.budgets import BudgetOverrides
from services.budget.orm import LedgerEntry
from services.bulk.planning import FillRequest
from services.bulk.store import FillInfo, FillStatus
from services.container import Services
from services.errors import InvalidInputError
from services.orm import User
from tests.integration.bulk.conftest import (
    CONTACTS,
    OPTIONS,
    PREFILLED_EVERY,
    Contacts,
    llm_services,
    reply,
)
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.workflows import WorkerHandle

pytestmark = pytest.mark.sql
EMPTY = CONTACTS - CONTACTS // PREFILLED_EVERY  # 500


def sentiment(contacts: Contacts) -> FillRequest:
    return FillRequest(
        base_id=contacts.base_id,
        table="Contacts",
        field="Sentiment",
        sources=["Notes"],
        instruction="Classify the customer's sentiment from their notes.",
    )


def wait_for_fill(
    services: Services, user: User, fill_id: str, statuses: set[str], timeout: float = 120
) -> FillInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = services.bulk_fills.get(user.id, fill_id)
        if info.status in statuses:
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"fill {fill_id} still {info.status}: {info}")
        time.sleep(0.2)


def ledger(services: Services, fill_id: str) -> tuple[int, int]:
    with services.sql() as session:
        total, calls = session.execute(
            select(func.coalesce(func.sum(LedgerEntry.cost_nusd), 0), func.count()).where(
                LedgerEntry.ref_id == fill_id, LedgerEntry.purpose == "bulk_fill"
            )
        ).one()
    return int(total), int(calls)


def test_fill__fills_every_empty_cell_once_within_the_preview_and_undoes_as_one(
    fill_services: Services,
    owner: User,
    contacts: Contacts,
    gemini: FakeGeminiServer,
    worker: WorkerHandle,
) -> None:
    before = contacts.rows()
    card = fill_services.bulk_fills.propose(owner.id, sentiment(contacts))
    assert card["to_fill"] == EMPTY
    assert card["matching"] == CONTACTS
    assert card["options"] == OPTIONS
    assert card["field_type"] == "single select"
    cost = card["cost"]
    assert cost["calls"] == math.ceil(EMPTY / 40)
    # The fake provider counts 10% more input than the offline estimate per call.
    gemini.default_reply = reply(input_tokens=int(cost["input_tokens"] / cost["calls"] * 1.1))
    assert gemini.request_count == 0  # a preview calls no model

    fill_services.bulk_fills.start(owner.id, card["fill_id"])
    fill_services.bulk_fills.start(owner.id, card["fill_id"])  # a second Confirm: nothing
    info = wait_for_fill(fill_services, owner, card["fill_id"], {FillStatus.SUCCEEDED})

    after = contacts.rows()
    assert info.filled == EMPTY
    assert info.failed == 0
    for record_id, fields in after.items():
        assert fields.get("Sentiment") in OPTIONS
        if before[record_id].get("Sentiment"):
            assert fields["Sentiment"] == before[record_id]["Sentiment"] == "Neutral"
    assert gemini.request_count == cost["calls"]
    spent, calls = ledger(fill_services, card["fill_id"])
    assert calls == cost["calls"]
    assert cost["min_nusd"] <= spent <= cost["max_nusd"]
    assert info.cost_nusd == spent
    with fill_services.sql() as session:
        written = session.scalar(
            select(func.count(func.distinct(RecordChange.record_id))).where(
                RecordChange.change_set_id == card["fill_id"]
            )
        )
    assert written == EMPTY

    undo = fill_services.bulk_fills.undo(owner.id, card["fill_id"])
    assert undo.done == EMPTY
    assert contacts.rows() == before
    with pytest.raises(InvalidInputError, match="only a paused one resumes"):
        fill_services.bulk_fills.resume(owner.id, card["fill_id"])


def test_fill__a_budget_for_half_pauses_at_about_half_and_resume_finishes(
    fill_services: Services,
    owner: User,
    contacts: Contacts,
    gemini: FakeGeminiServer,
    worker: WorkerHandle,
) -> None:
    card = fill_services.bulk_fills.propose(owner.id, sentiment(contacts))
    cost = card["cost"]
    per_call = int(cost["input_tokens"] / cost["calls"])
    gemini.default_reply = reply(input_tokens=per_call)
    budgets = fill_services.budget_guard.budgets
    half = cost["expected_nusd"] // 2
    budgets.set_user_budget(owner.id, BudgetOverrides(day_nusd=half, month_nusd=0))

    fill_services.bulk_fills.start(owner.id, card["fill_id"])
    paused = wait_for_fill(fill_services, owner, card["fill_id"], {FillStatus.PAUSED})
    spent, calls = ledger(fill_services, card["fill_id"])
    assert spent <= half
    assert 0.3 * EMPTY <= paused.filled <= 0.6 * EMPTY, paused
    assert paused.pending == EMPTY - paused.filled
    assert "budget" in paused.error
    assert gemini.request_count == calls

    budgets.set_user_budget(owner.id, BudgetOverrides(day_nusd=0, month_nusd=0))
    fill_services.bulk_fills.resume(owner.id, card["fill_id"])
    done = wait_for_fill(fill_services, owner, card["fill_id"], {FillStatus.SUCCEEDED})
    assert done.filled == EMPTY
    assert done.pending == 0
    assert all(f.get("Sentiment") in OPTIONS for f in contacts.rows().values())
    _, calls = ledger(fill_services, card["fill_id"])
    assert calls == gemini.request_count == cost["calls"]


def test_fill__answers_that_fit_no_option_are_listed_not_written(
    fill_services: Services,
    owner: User,
    contacts: Contacts,
    gemini: FakeGeminiServer,
    worker: WorkerHandle,
) -> None:
    gemini.default_reply = reply(bad={3: "Ecstatic", 4: ""})
    card = fill_services.bulk_fills.propose(owner.id, sentiment(contacts))
    fill_services.bulk_fills.start(owner.id, card["fill_id"])
    info = wait_for_fill(fill_services, owner, card["fill_id"], {FillStatus.SUCCEEDED})
    batches = card["cost"]["calls"]
    assert info.failed == 2 * batches
    assert info.filled == EMPTY - 2 * batches
    reasons = {f.reason for f in info.failures}
    assert '"Ecstatic" is not an option of Sentiment' in reasons
    assert "no answer for this record" in reasons
    rows = contacts.rows()
    failed = {f.record_id for f in info.failures}
    assert all("Sentiment" not in rows[r] for r in failed)
    assert all(f.get("Sentiment") in OPTIONS for r, f in rows.items() if r not in failed)


def test_propose__refuses_with_the_numbers(
    fill_settings: Settings,
    emulator: EmulatorServer,
    gemini: FakeGeminiServer,
    fill_services: Services,
    owner: User,
    contacts: Contacts,
) -> None:
    fills = fill_services.bulk_fills
    request = sentiment(contacts)
    with (
        llm_services(fill_settings, emulator, gemini, bulk_fill_max_records=100) as small,
        pytest.raises(InvalidInputError, match="write 500 records, more than the 100"),
    ):
        small.bulk_fills.propose(owner.id, request)
    formula = FillRequest(**{**request.__dict__, "field": "Shout"})
    with pytest.raises(InvalidInputError, match="Shout is a formula field, which a fill cannot"):
        fills.propose(owner.id, formula)
    bad = FillRequest(**{**request.__dict__, "field": "Sentiment", "sources": ["Sentiment"]})
    with pytest.raises(InvalidInputError, match="both read and filled"):
        fills.propose(owner.id, bad)
    fill_services.budget_guard.budgets.set_user_budget(
        owner.id, BudgetOverrides(day_nusd=1000, month_nusd=0)
    )
    with pytest.raises(InvalidInputError, match=r"expected to cost \$.* left of your budget"):
        fills.propose(owner.id, request)


def test_fill__a_cell_filled_after_the_preview_is_left_alone(
    fill_services: Services,
    owner: User,
    contacts: Contacts,
    worker: WorkerHandle,
) -> None:
    card = fill_services.bulk_fills.propose(owner.id, sentiment(contacts))
    empty = [r for r, f in contacts.rows().items() if not f.get("Sentiment")]
    contacts.api.table(contacts.base_id, "Contacts").update(empty[7], {"Sentiment": "Negative"})
    fill_services.bulk_fills.start(owner.id, card["fill_id"])
    info = wait_for_fill(fill_services, owner, card["fill_id"], {FillStatus.SUCCEEDED})
    assert info.filled == EMPTY - 1
    assert contacts.rows()[empty[7]]["Sentiment"] == "Negative"
    with fill_services.sql() as session:
        touched = session.scalar(
            select(func.count()).where(
                RecordChange.change_set_id == card["fill_id"], RecordChange.record_id == empty[7]
            )
        )
    assert touched == 0
