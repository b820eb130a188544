"""LLM steps go through the budget guard, charged to the owner as `workflow_run`; a
refusal fails the step and the run compensates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from config.settings import LLMProvider, Settings
from emulator.testing import EmulatorServer
from services.budget.orm import LedgerEntry
from services.container import Services
from services.prompts.library import PromptDraft
from services.prompts.variables import Variable, VariableType
from tests.integration.airtable.fixtures import FreshBase
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply
from tests.support.workflows import in_process_worker, wait_for_run


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


def llm_services(
    wf_settings: Settings, emulator: EmulatorServer, gemini: FakeGeminiServer, **budget: object
) -> Iterator[Services]:
    return services_on(
        wf_settings,
        emulator.url,
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini.url,
        llm_max_retries=0,
        **budget,
    )


def summary_workflow(services: Services, owner_id: int, base: FreshBase) -> str:
    services.prompts.create(
        user_id=owner_id,
        draft=PromptDraft(
            name="Summarise",
            template="Summarise these rows: {{rows}}",
            variables=[Variable("rows", VariableType.LONG_TEXT)],
        ),
    )
    workflow = services.workflows.create(
        owner_id,
        {
            "name": "Summarise todo",
            "base": base.id,
            "steps": [
                {
                    "id": "mark",
                    "type": "update_records",
                    "table": "Tasks",
                    "where": [{"field": "Status", "op": "equals", "value": "Todo"}],
                    "set": {"Notes": "summarised"},
                },
                {
                    "id": "summary",
                    "type": "run_prompt",
                    "prompt": "Summarise",
                    "inputs": {"rows": "{{ steps.mark.record_ids | tojson }}"},
                },
            ],
        },
    )
    return workflow.id


def test_run_prompt__is_charged_to_the_owner_as_workflow_run(
    wf_settings: Settings, emulator: EmulatorServer, gemini: FakeGeminiServer, base: FreshBase
) -> None:
    gemini.default_reply = ScriptedReply(text="Eight tasks are marked.")
    with llm_services(wf_settings, emulator, gemini) as services, in_process_worker(services):
        owner = make_user(services, name="Owner")
        workflow_id = summary_workflow(services, owner.id, base)
        run = services.workflow_runs.start(owner, workflow_id, {})
        done = wait_for_run(services, run.id)
        assert done.status == "succeeded", done
        assert done.steps[1].summary == "Eight tasks are marked."
        with services.sql() as session:
            rows = list(session.scalars(select(LedgerEntry)))
        assert [(r.purpose, r.ref_type, r.ref_id, r.user_id) for r in rows] == [
            ("workflow_run", "workflow_run", run.id, owner.id)
        ]
        assert done.cost_usd == pytest.approx(rows[0].cost_nusd / 1e9)
        assert done.cost_usd > 0


def test_run_prompt__refused_by_the_budget_fails_the_run_and_compensates(
    wf_settings: Settings, emulator: EmulatorServer, gemini: FakeGeminiServer, base: FreshBase
) -> None:
    budget = {"budget_user_day_tokens": 5}
    with (
        llm_services(wf_settings, emulator, gemini, **budget) as services,
        in_process_worker(services),
    ):
        owner = make_user(services, name="Owner")
        workflow_id = summary_workflow(services, owner.id, base)
        before = base.snapshot()
        run = services.workflow_runs.start(owner, workflow_id, {})
        done = wait_for_run(services, run.id)
        assert done.status == "compensated", done
        assert done.steps[1].status == "failed"
        assert "budget" in (done.steps[1].error or "").lower()
        assert base.snapshot() == before
        assert gemini.request_count == 0
