"""Prompt runs through the guarded model: stored with inputs, output, tokens and cost."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.messages import AIMessage
from sqlalchemy import select

from agents.prompt_runs import NEW_CHAT
from emulator.seed import PROJECT_TRACKER_ID
from emulator.seed_crm import SALES_CRM_ID
from services.budget.budgets import BudgetOverrides
from services.budget.errors import SpendLimitExceededError
from services.budget.orm import LedgerEntry
from services.budget.types import Purpose, RefType
from services.container import Services
from services.conversations import is_error_entry
from services.errors import InvalidInputError
from services.llm.errors import ProviderUnavailableError
from services.orm import User
from services.prompts.library import PromptDraft, PromptLibrary, RunMode
from services.prompts.runs import PromptRunStore, RunStatus
from services.prompts.variables import Variable, VariableType
from tests.integration.prompts.conftest import MakeRunner
from tests.support.scripted_model import answer

pytestmark = pytest.mark.sql

DRAFT = PromptDraft(
    name="Summary",
    template="Summarise {{status}} tasks due {{due}}.",
    variables=[
        Variable(
            "status",
            VariableType.FIELD_OPTIONS,
            base_id=PROJECT_TRACKER_ID,
            table="Tasks",
            field="Status",
        ),
        Variable("due", VariableType.DATE),
    ],
)


def test_run__text_generation_is_stored_with_tokens_and_cost(
    prompt_services: Services,
    library: PromptLibrary,
    runs: PromptRunStore,
    ana: User,
    make_runner: MakeRunner,
) -> None:
    prompt = library.create(user_id=ana.id, draft=DRAFT)
    runner, model = make_runner(answer("Three tasks are done."))
    streamed: list[str] = []
    result = runner.run(
        user_id=ana.id,
        prompt_id=prompt.id,
        values={"status": "Done", "due": "2026-12-01"},
        on_token=streamed.append,
    )
    assert result.output == "Three tasks are done."
    assert "".join(streamed) == result.output
    assert "Summarise Done tasks due 2026-12-01." in model.calls[0][-1].text
    assert result.tokens > 0
    assert result.cost_nusd > 0
    [stored] = runs.history(user_id=ana.id)
    assert (stored.id, stored.output, stored.tokens, stored.cost_nusd) == (
        result.run_id,
        result.output,
        result.tokens,
        result.cost_nusd,
    )
    assert stored.inputs == {"status": "Done", "due": "2026-12-01"}
    assert stored.prompt_name == "Summary"
    with prompt_services.sql() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.ref_id == result.run_id)
        ).one()
    assert (entry.purpose, entry.ref_type) == (Purpose.PROMPT_RUN.value, RefType.RUN.value)


def test_run__bad_input_stores_nothing_and_calls_no_model(
    library: PromptLibrary, runs: PromptRunStore, ana: User, make_runner: MakeRunner
) -> None:
    prompt = library.create(user_id=ana.id, draft=DRAFT)
    runner, model = make_runner(answer("never"))
    with pytest.raises(InvalidInputError, match="is not an option of Status"):
        runner.run(user_id=ana.id, prompt_id=prompt.id, values={"status": "Nope", "due": "x"})
    assert runs.history(user_id=ana.id) == []
    assert model.calls == []


def test_run__with_tools_answers_through_the_agent(
    library: PromptLibrary,
    runs: PromptRunStore,
    ana: User,
    make_runner: MakeRunner,
    prompt_services: Services,
) -> None:
    draft = PromptDraft(
        name="Tools",
        template="How many tasks?",
        variables=[],
        mode=RunMode.TOOLS,
        base_id=PROJECT_TRACKER_ID,
    )
    prompt = library.create(user_id=ana.id, draft=draft)
    runner, _ = make_runner(answer("There are many tasks."))
    result = runner.run(user_id=ana.id, prompt_id=prompt.id, values={})
    assert result.output == "There are many tasks."
    # Kept in the prompt's run history only: no chat conversation clutters the sidebar.
    assert result.conversation_id == ""
    assert prompt_services.conversations.find(user_id=ana.id) == []
    assert result.cost_nusd > 0
    assert runs.history(user_id=ana.id, prompt_id=prompt.id)[0].output == result.output
    with prompt_services.sql() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.ref_id == result.run_id)).all()
    answers = [r for r in rows if r.purpose == "prompt_run"]
    assert answers  # charged to the prompt run, so cost pages count it there
    assert {r.ref_type for r in answers} == {"run"}


def test_run__with_tools_works_on_the_base_its_base_picker_chose(
    library: PromptLibrary, ana: User, make_runner: MakeRunner, prompt_services: Services
) -> None:
    draft = PromptDraft(
        name="Any base",
        template="Describe {{base}}.",
        variables=[Variable("base", VariableType.BASE)],
        mode=RunMode.TOOLS,
        base_id=PROJECT_TRACKER_ID,
    )
    prompt = library.create(user_id=ana.id, draft=draft)
    runner, model = make_runner(answer("It tracks deals."))
    result = runner.run(user_id=ana.id, prompt_id=prompt.id, values={"base": "Sales CRM"})
    assert result.output == "It tracks deals."
    system = model.calls[0][0].text
    assert SALES_CRM_ID in system
    assert PROJECT_TRACKER_ID not in system


def test_prompt_names__name_the_prompt_each_run_ran(
    library: PromptLibrary, runs: PromptRunStore, ana: User, make_runner: MakeRunner
) -> None:
    prompt = library.create(user_id=ana.id, draft=DRAFT)
    runner, _ = make_runner(answer("Two tasks."))
    result = runner.run(
        user_id=ana.id, prompt_id=prompt.id, values={"status": "Done", "due": "2026-12-01"}
    )
    assert runs.prompt_names([result.run_id, "gone"]) == {result.run_id: "Summary"}
    assert runs.prompt_names([]) == {}


TOOLS_DRAFT = PromptDraft(
    name="Tools",
    template="How many tasks?",
    variables=[],
    mode=RunMode.TOOLS,
    base_id=PROJECT_TRACKER_ID,
)


def _provider_down(_messages: object) -> AIMessage:
    raise ConnectionError("the provider went away")


@pytest.mark.parametrize("mode", [RunMode.TOOLS, RunMode.TEXT])
def test_run__failed_at_the_provider_is_kept_as_failed_with_no_conversation(
    library: PromptLibrary,
    runs: PromptRunStore,
    ana: User,
    make_runner: MakeRunner,
    prompt_services: Services,
    mode: RunMode,
) -> None:
    prompt = library.create(user_id=ana.id, draft=replace(TOOLS_DRAFT, mode=mode))
    runner, _ = make_runner(_provider_down)
    with pytest.raises(ProviderUnavailableError) as excinfo:
        runner.run(user_id=ana.id, prompt_id=prompt.id, values={})
    assert prompt_services.conversations.find(user_id=ana.id) == []
    [failed] = runs.history(user_id=ana.id, prompt_id=prompt.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error == str(excinfo.value)
    assert (failed.output, failed.tokens, failed.cost_nusd) == ("", 0, 0)


def test_run__refused_by_the_budget_is_kept_as_failed_next_to_answered_runs(
    library: PromptLibrary,
    runs: PromptRunStore,
    ana: User,
    make_runner: MakeRunner,
    prompt_services: Services,
) -> None:
    prompt = library.create(user_id=ana.id, draft=DRAFT)
    values = {"status": "Done", "due": "2026-12-01"}
    runner, model = make_runner(answer("Three tasks are done."), answer("never sent"))
    answered = runner.run(user_id=ana.id, prompt_id=prompt.id, values=values)
    prompt_services.budget_guard.budgets.set_user_budget(ana.id, BudgetOverrides(day_tokens=1))

    with pytest.raises(SpendLimitExceededError) as excinfo:
        runner.run(user_id=ana.id, prompt_id=prompt.id, values=values)

    assert len(model.calls) == 1  # the refused run never reached the model
    refused, ok = runs.history(user_id=ana.id, prompt_id=prompt.id)
    assert (refused.status, refused.error) == (RunStatus.FAILED, str(excinfo.value))
    assert refused.failed
    assert "budget" in refused.error.lower()
    assert (refused.inputs, refused.tokens, refused.cost_nusd) == (values, 0, 0)
    assert (ok.id, ok.status, ok.error, ok.failed) == (answered.run_id, RunStatus.OK, "", False)


@pytest.mark.parametrize("mode", [RunMode.TOOLS, RunMode.TEXT])
def test_run__started_from_chat_appears_in_that_conversation(
    library: PromptLibrary,
    runs: PromptRunStore,
    ana: User,
    make_runner: MakeRunner,
    prompt_services: Services,
    mode: RunMode,
) -> None:
    prompt = library.create(user_id=ana.id, draft=replace(TOOLS_DRAFT, mode=mode))
    chat = prompt_services.conversations.create(user_id=ana.id, base_id=PROJECT_TRACKER_ID)
    runner, _ = make_runner(answer("There are 12 tasks."), answer("Task count"))
    result = runner.run(user_id=ana.id, prompt_id=prompt.id, values={}, conversation_id=chat.id)
    assert result.conversation_id == chat.id
    stored = prompt_services.conversations.messages(user_id=ana.id, conversation_id=chat.id)
    assert [(m.type, m.text) for m in stored] == [
        ("human", "How many tasks?"),
        ("ai", "There are 12 tasks."),
    ]
    assert [c.id for c in prompt_services.conversations.find(user_id=ana.id)] == [chat.id]
    assert runs.history(user_id=ana.id)[0].output == "There are 12 tasks."


@pytest.mark.parametrize("mode", [RunMode.TOOLS, RunMode.TEXT])
def test_run__failed_from_chat_keeps_the_error_in_that_conversation(
    library: PromptLibrary,
    ana: User,
    make_runner: MakeRunner,
    prompt_services: Services,
    mode: RunMode,
) -> None:
    prompt = library.create(user_id=ana.id, draft=replace(TOOLS_DRAFT, mode=mode))
    chat = prompt_services.conversations.create(user_id=ana.id, base_id=PROJECT_TRACKER_ID)
    runner, _ = make_runner(_provider_down)
    with pytest.raises(ProviderUnavailableError) as excinfo:
        runner.run(user_id=ana.id, prompt_id=prompt.id, values={}, conversation_id=chat.id)
    stored = prompt_services.conversations.messages(user_id=ana.id, conversation_id=chat.id)
    assert [m.text for m in stored] == ["How many tasks?", str(excinfo.value)]
    assert is_error_entry(stored[-1])
    titled = prompt_services.conversations.get(user_id=ana.id, conversation_id=chat.id)
    assert titled.title == "How many tasks?"


def test_run__from_chat_with_no_conversation_open_makes_one_only_for_good_input(
    library: PromptLibrary, ana: User, make_runner: MakeRunner, prompt_services: Services
) -> None:
    prompt = library.create(user_id=ana.id, draft=DRAFT)
    runner, _ = make_runner(answer("Two tasks."))
    with pytest.raises(InvalidInputError):
        runner.run(
            user_id=ana.id, prompt_id=prompt.id, values={"status": "Nope"}, conversation_id=NEW_CHAT
        )
    assert prompt_services.conversations.find(user_id=ana.id) == []
    result = runner.run(
        user_id=ana.id,
        prompt_id=prompt.id,
        values={"status": "Done", "due": "2026-12-01"},
        conversation_id=NEW_CHAT,
    )
    [made] = prompt_services.conversations.find(user_id=ana.id)
    assert made.id == result.conversation_id
    assert made.title == "Summarise Done tasks due 2026-12-01."
