"""`http_request` with `sign: true`: signed with the owner's endpoint secret for that URL,
and refused when saving a workflow that has no such endpoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from config.settings import Settings
from services.container import Services, build_services
from services.orm import User
from services.webhooks.signing import message_id
from services.workflows.types import WorkflowDefinitionError
from tests.integration.webhooks.receiver import HookReceiver, verify_by_hand, verify_with_package
from tests.support.accounts import make_user
from tests.support.workflows import in_process_worker, wait_for_run

pytestmark = pytest.mark.sql


@pytest.fixture
def wf_services(hook_settings: Settings, services: Services) -> Iterator[Services]:
    built = build_services(
        hook_settings.model_copy(
            update={
                "workflow_http_allow_private": True,
                "workflow_step_backoff_seconds": 0.05,
                "workflow_dbos_schema": f"dbos_{uuid.uuid4().hex[:10]}",
            }
        )
    )
    try:
        yield built
    finally:
        built.close()


def _definition(url: str) -> dict[str, object]:
    return {
        "name": f"Tell {uuid.uuid4().hex[:6]}",
        "inputs": [{"name": "who", "type": "text"}],
        "steps": [
            {
                "id": "post",
                "type": "http_request",
                "url": url,
                "sign": True,
                "body": {"text": "hello {{ inputs.who }}"},
            }
        ],
    }


def test_signed_step__refused_at_validation_without_an_endpoint_at_that_url(
    wf_services: Services, receiver: HookReceiver
) -> None:
    owner = make_user(wf_services, name="Owner")
    with pytest.raises(WorkflowDefinitionError, match=r'Step "post", field "sign".*Webhooks page'):
        wf_services.workflows.create(owner.id, _definition(receiver.url))
    other = make_user(wf_services, name="Other")
    wf_services.webhooks.create(other, url=receiver.url, events=["change.applied"])
    with pytest.raises(WorkflowDefinitionError, match='Step "post"'):
        wf_services.workflows.create(owner.id, _definition(receiver.url))  # not theirs
    with pytest.raises(WorkflowDefinitionError, match=r'Step "post", field "url".*fixed URL'):
        wf_services.workflows.create(owner.id, _definition("{{ inputs.who }}"))


def test_signed_step__is_signed_with_the_owners_endpoint_secret(
    wf_services: Services, receiver: HookReceiver
) -> None:
    owner: User = make_user(wf_services, name="Owner")
    created = wf_services.webhooks.create(owner, url=receiver.url, events=["change.applied"])
    workflow = wf_services.workflows.create(owner.id, _definition(receiver.url))
    with in_process_worker(wf_services):
        run = wf_services.workflow_runs.start(owner, workflow.id, {"who": "Ana"})
        done = wait_for_run(wf_services, run.id)
    assert done.status == "succeeded", done
    got = receiver.at("/hook")[0]
    assert verify_with_package(created.secret, got) == {"text": "hello Ana"}
    assert verify_by_hand(created.secret, got)
    assert got.webhook_id == message_id(run.id, "post")
    assert json.loads(got.body) == {"text": "hello Ana"}
