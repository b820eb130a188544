"""The workflow step `fill_field`: checked against the base when saved, run in the worker
as one bulk fill (one change set), its outcome a step output."""

from __future__ import annotations

import pytest

from services.bulk.store import FillStatus
from services.container import Services
from services.orm import User
from services.workflows.definition import WorkflowDefinition
from services.workflows.types import WorkflowDefinitionError
from tests.integration.bulk.conftest import OPTIONS, Contacts
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.workflows import WorkerHandle, wait_for_run

pytestmark = pytest.mark.sql


def definition(base_id: str, field: str = "Sentiment") -> dict[str, object]:
    return {
        "name": "Classify new contacts",
        "base": base_id,
        "steps": [
            {
                "id": "classify",
                "type": "fill_field",
                "table": "Contacts",
                "field": field,
                "read": ["Notes"],
                "instruction": "Classify the customer's sentiment.",
                "where": [{"field": "Name", "op": "contains", "value": "Contact 00"}],
            },
            {"id": "tell", "type": "notify", "message": "{{ steps.classify.filled }} filled"},
        ],
    }


def test_fill_field_step__fills_the_records_as_one_change_set(
    fill_services: Services,
    owner: User,
    contacts: Contacts,
    gemini: FakeGeminiServer,
    worker: WorkerHandle,
) -> None:
    workflow = fill_services.workflows.create(owner.id, definition(contacts.base_id))
    run = fill_services.workflow_runs.start(owner, workflow.id, {})
    done = wait_for_run(fill_services, run.id, timeout=120)
    assert done.status == "succeeded", done
    rows = contacts.rows().values()
    chosen = [r for r in rows if str(r["Name"]).startswith("Contact 00")]
    assert all(r.get("Sentiment") in OPTIONS for r in chosen)
    assert all("Sentiment" not in r for r in rows if r not in chosen and r.get("Sentiment") is None)
    fills = fill_services.bulk_fills.store.latest(owner.id)
    assert len(fills) == 1
    assert fills[0].status == FillStatus.SUCCEEDED
    assert fills[0].filled == 83
    assert gemini.request_count == 3  # 83 records, 40 a call
    undo = fill_services.bulk_fills.undo(owner.id, fills[0].id)
    assert undo.done == 83


def test_fill_field_step__an_unknown_field_is_refused_when_saved(
    fill_services: Services, owner: User, contacts: Contacts
) -> None:
    with pytest.raises(WorkflowDefinitionError, match=r'Step "classify", field "field"'):
        fill_services.workflows.create(owner.id, definition(contacts.base_id, "Mood"))


def test_schema__lists_fill_field() -> None:
    schema = WorkflowDefinition.model_json_schema()
    assert "FillField" in schema["$defs"]
    assert schema["$defs"]["FillField"]["properties"]["type"]["const"] == "fill_field"
