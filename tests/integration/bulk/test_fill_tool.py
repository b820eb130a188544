"""The fill_field tool proposes (a card with the numbers) and runs nothing; bad input comes
back as a tool error the model can act on."""

from __future__ import annotations

import pytest

from services.bulk.store import FillStatus
from services.container import Services
from services.orm import User
from tests.integration.airtable.fixtures import call_tool as call
from tests.integration.bulk.conftest import OPTIONS, Contacts
from tests.support.fake_gemini import FakeGeminiServer
from tools.bulk import bulk_tools

pytestmark = pytest.mark.sql


def test_fill_field__returns_a_card_and_starts_nothing(
    fill_services: Services, owner: User, contacts: Contacts, gemini: FakeGeminiServer
) -> None:
    (tool,) = bulk_tools(fill_services)
    message = call(
        tool,
        owner.id,
        contacts.base_id,
        table="Contacts",
        field="Sentiment",
        read_fields=["Notes"],
        instruction="Classify the sentiment",
        filters=[{"field": "Name", "op": "contains", "value": "Contact 00"}],
    )
    card = message.artifact
    assert card["kind"] == "bulk_fill_proposal"
    assert card["matching"] == 100
    assert card["to_fill"] == 100 - 100 // 6 - 1  # 0, 6, ..., 96 already have one
    assert card["options"] == OPTIONS
    assert "Nothing runs until the person presses Confirm" in message.text
    info = fill_services.bulk_fills.get(owner.id, card["fill_id"])
    assert info.status == FillStatus.PROPOSED
    assert gemini.request_count == 0


def test_fill_field__an_unsupported_field_is_a_tool_error(
    fill_services: Services, owner: User, contacts: Contacts
) -> None:
    (tool,) = bulk_tools(fill_services)
    message = call(
        tool,
        owner.id,
        contacts.base_id,
        table="Contacts",
        field="Shout",
        read_fields=["Notes"],
        instruction="Shout it",
    )
    assert message.status == "error"
    assert "Shout is a formula field, which a fill cannot write" in message.text
