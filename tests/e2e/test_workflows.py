"""Workflows in Chromium, with a real worker process (`python manage.py worker`): create one
as YAML, run it, approve on the Run page and see it succeed; in Chat, run one only on
Confirm, and save a drafted one.

The real Gemini client talks to a fake Gemini server; Airtable is the shared emulator,
with a fresh base per test for what the runs write.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from emulator.testing import EmulatorServer
from services.container import Services
from tests.integration.airtable.fixtures import FreshBase, create_fresh_base
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import PROJECT_ROOT, AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall
from tests.support.gemini_app import gemini_app
from tests.support.workflows import wait_for_run

pytestmark = pytest.mark.e2e
# Each step waits for a Streamlit rerun, a worker or a model turn: generous on a busy machine.
SLOW = 60_000


@pytest.fixture(autouse=True)
def patient(page: Page) -> None:
    page.set_default_timeout(SLOW)


@contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python manage.py worker` on the app server's stores; stopped with SIGTERM."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def wf_app(
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    var_dir = tmp_path_factory.mktemp("wf-app")
    with (
        gemini_app(gemini, emulator, sql_url, redis_url, var_dir) as (server, services),
        worker_process(dict(server.env), var_dir / "worker.log"),
    ):
        yield server, services


@pytest.fixture
def base(emulator: EmulatorServer) -> FreshBase:
    return create_fresh_base(emulator)


def definition(name: str, base_id: str) -> str:
    return f"""\
name: {name}
base: {base_id}
inputs:
  - {{name: status, type: text}}
steps:
  - id: todo
    type: find_records
    table: Tasks
    where: [{{field: Status, op: equals, value: "{{{{ inputs.status }}}}"}}]
    fields: [Name]
  - id: finish
    type: update_records
    table: Tasks
    records: "{{{{ steps.todo.records }}}}"
    set: {{Status: Done}}
  - id: ok
    type: approval
    message: "Marked {{{{ steps.finish.count }}}} tasks done. Keep them?"
  - id: tell
    type: notify
    message: "Finished {{{{ steps.finish.count }}}} tasks"
"""


def _choose(page: Page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True).first
    for attempt in range(3):
        # A rerun still drawing the page can close the list under the click: open it again.
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    expect(box).to_have_value(option, timeout=SLOW)


def _yaml_box(page: Page, text: str) -> None:
    page.get_by_role("tab", name="YAML").click()
    box = page.get_by_label("Definition (YAML or JSON)", exact=True)
    box.fill(text)
    box.press("Tab")


def test_workflow__created_as_yaml_runs_waits_for_approval_and_succeeds(
    wf_app: tuple[AppServer, Services], base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Flow")
    todo = [i for i, f in base.snapshot().items() if f.get("Status") == "Todo"]
    assert todo
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/workflows")
    expect(page.get_by_role("heading", name="New workflow")).to_be_visible(timeout=SLOW)

    broken = definition("Finish todo", base.id).replace("set: {Status: Done}", "set: {Stat: Done}")
    _yaml_box(page, broken)
    page.get_by_role("button", name="Validate").last.click()
    expect(page.get_by_text('Step "finish", field "set.Stat"')).to_be_visible(timeout=SLOW)

    _yaml_box(page, definition("Finish todo", base.id))
    page.get_by_role("button", name="Validate").last.click()
    expect(page.get_by_text("Valid: every step")).to_be_visible(timeout=SLOW)
    page.get_by_role("button", name="Create workflow").last.click()
    expect(page.get_by_role("heading", name="Finish todo")).to_be_visible(timeout=SLOW)
    summary = page.get_by_text("finish: update records in Tasks (fields: Status)")
    expect(summary).to_be_visible(timeout=SLOW)

    status = page.get_by_label("Status", exact=True)
    status.fill("Todo")
    status.press("Tab")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("heading", name="Run of Finish todo")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("Step ok waits for your approval.")).to_be_visible(timeout=SLOW)
    after_write = base.snapshot()
    assert all(after_write[i]["Status"] == "Done" for i in todo)

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Succeeded", exact=True)).to_be_visible(timeout=SLOW)
    main = page.get_by_test_id("stMainBlockContainer")  # the notify step's toast says it too
    expect(main.get_by_text(f"Finished {len(todo)} tasks")).to_be_visible(timeout=SLOW)
    run = services.workflow_runs.list_for(user)[0]
    assert run.status == "succeeded"
    assert [s.status for s in run.steps] == ["succeeded"] * 4


def escalate(base_id: str) -> str:
    return f"""\
name: Escalate overdue tasks
base: {base_id}
inputs:
  - {{name: assignee, type: text}}
steps:
  - id: todo
    type: find_records
    table: Tasks
    where: [{{field: Status, op: equals, value: Todo}}]
  - id: flag
    type: update_records
    table: Tasks
    records: "{{{{ steps.todo.records }}}}"
    set: {{Notes: "Escalated for {{{{ inputs.assignee }}}}"}}
"""


def _ask(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def test_chat__run_workflow_shows_the_card_and_runs_only_on_confirm(
    wf_app: tuple[AppServer, Services], gemini: FakeGeminiServer, base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Chatter")
    services.workflows.create(user.id, escalate(base.id))
    todo = [i for i, f in base.snapshot().items() if f.get("Status") == "Todo"]
    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall(
                    "run_workflow",
                    {
                        "workflow": "Escalate overdue tasks",
                        "inputs": [{"name": "assignee", "value": "Ana"}],
                    },
                )
            ],
        ),
        ScriptedReply(text="Press Confirm to run it."),
        ScriptedReply(text="Escalate for Ana"),  # the conversation title
    )
    sign_in(page, server.url, user.email)
    _ask(page, "run Escalate overdue tasks for Ana")
    expect(page.get_by_text("Run workflow Escalate overdue tasks")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("flag: update records in Tasks")).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("cell", name="Ana", exact=True)).to_be_visible(timeout=SLOW)
    assert services.workflow_runs.list_for(user) == []  # nothing before Confirm

    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Started: run")).to_be_visible(timeout=SLOW)
    (run,) = services.workflow_runs.list_for(user)
    assert (run.trigger, run.inputs) == ("chat", {"assignee": "Ana"})
    finished = wait_for_run(services, run.id)
    assert finished.status == "succeeded"
    after = base.snapshot()
    assert all(after[i]["Notes"] == "Escalated for Ana" for i in todo)
    page.reload()
    expect(page.get_by_text("Started: run")).to_be_visible(timeout=SLOW)
    assert len(services.workflow_runs.list_for(user)) == 1  # a reload starts no second run


def test_chat__draft_workflow_shows_valid_yaml_that_saves(
    wf_app: tuple[AppServer, Services], gemini: FakeGeminiServer, base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Drafter")
    drafted = escalate(base.id).replace("Escalate overdue tasks", "Flag todo tasks weekly")
    drafted = drafted.replace(
        "steps:", 'trigger: {schedule: {cron: "0 9 * * MON", timezone: "Europe/Berlin"}}\nsteps:'
    )
    drafted = drafted.replace("type: text}", "type: text, required: false}")
    gemini.script(
        ScriptedReply(
            text="", tool_calls=[ScriptedToolCall("draft_workflow", {"definition": drafted})]
        ),
        ScriptedReply(text="Here is a draft; press Save to keep it."),
        ScriptedReply(text="Weekly flagging"),
    )
    sign_in(page, server.url, user.email)
    _ask(page, "every Monday at 9 flag the todo tasks")
    expect(page.get_by_text("Draft workflow Flag todo tasks weekly")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("cron: 0 9 * * MON")).to_be_visible(timeout=SLOW)
    assert services.workflows.list_for(user) == []
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved (disabled until you enable it).")).to_be_visible(timeout=SLOW)
    (saved,) = services.workflows.list_for(user)
    assert (saved.name, saved.trigger, saved.enabled) == (
        "Flag todo tasks weekly",
        "schedule",
        False,
    )


def test_workflow__built_in_the_form_saves_and_runs(
    wf_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Former")
    sign_in(page, server.url, user.email)
    page.goto(f"{server.url}/workflows")
    expect(page.get_by_role("heading", name="New workflow")).to_be_visible(timeout=SLOW)
    name = page.get_by_label("Name", exact=True)
    name.fill("Say hello")
    name.press("Tab")
    _choose(page, "Step 1 type", "notify")
    # Until the rerun ends, the find_records settings box can stand beside the new one.
    page.wait_for_function(
        """() => {
            const boxes = document.querySelectorAll(
                'textarea[aria-label="Step 1 settings (YAML)"]');
            return boxes.length === 1 && boxes[0].value.startsWith("message: Done");
        }""",
        timeout=SLOW,
    )
    settings = page.get_by_label("Step 1 settings (YAML)", exact=True)
    settings.fill("message: Hello from the form")
    settings.press("Tab")
    expect(page.get_by_text("message: Hello from the form").first).to_be_visible(timeout=SLOW)
    page.get_by_role("button", name="Create workflow").first.click()
    expect(page.get_by_role("heading", name="Say hello")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("nothing (it only reads and notifies)")).to_be_visible(timeout=SLOW)

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("Succeeded", exact=True)).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("Hello from the form").first).to_be_visible(timeout=SLOW)
    (saved,) = services.workflows.list_for(user)
    assert [s.type for s in saved.definition.steps] == ["notify"]


def test_run_page__cancel_while_waiting_undoes_what_the_run_wrote(
    wf_app: tuple[AppServer, Services], base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Canceller")
    workflow = services.workflows.create(user.id, definition("Finish then ask", base.id))
    before = base.snapshot()
    sign_in(page, server.url, user.email)
    run = services.workflow_runs.start(user, workflow.id, {"status": "Doing"}, "manual")
    page.goto(f"{server.url}/workflow_run?run={run.id}")
    expect(page.get_by_text("Step ok waits for your approval.")).to_be_visible(timeout=SLOW)
    assert base.snapshot() != before  # the update step wrote
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible(timeout=SLOW)
    assert base.snapshot() == before  # and the cancel undid it
    expect(page.get_by_text("Compensation:").first).to_be_visible(timeout=SLOW)


def _unread(page: Page) -> int:
    bell = page.get_by_role("link", name=re.compile(r"Notifications: \d+ unread"))
    expect(bell).to_be_visible(timeout=SLOW)
    found = re.search(r"Notifications: (\d+) unread", bell.inner_text())
    assert found is not None
    return int(found.group(1))


def test_run__the_run_page_follows_it_live_and_chat_toasts_when_one_finishes(
    wf_app: tuple[AppServer, Services], base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Watcher")
    workflow = services.workflows.create(user.id, definition("Watch me", base.id))
    sign_in(page, server.url, user.email)

    first = services.workflow_runs.start(user, workflow.id, {"status": "Todo"}, "manual")
    page.goto(f"{server.url}/workflow_run?run={first.id}")
    expect(page.get_by_text("Step ok waits for your approval.")).to_be_visible(timeout=SLOW)
    services.workflow_runs.approve(user, first.id, True, "from elsewhere")  # not on this page
    expect(page.get_by_text("Succeeded", exact=True)).to_be_visible(timeout=SLOW)

    page.goto(server.url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=SLOW)
    before = _unread(page)
    second = services.workflow_runs.start(user, workflow.id, {"status": "Doing"}, "manual")
    wait_for_run(services, second.id, statuses=frozenset({"waiting_approval"}))
    services.workflow_runs.approve(user, second.id, True, "")
    toast = page.get_by_test_id("stToast").filter(has_text="Workflow run succeeded")
    expect(toast.first).to_be_visible(timeout=SLOW)
    expect(toast.first).to_contain_text(second.id)
    page.wait_for_function(
        "n => [...document.querySelectorAll('a')].some(a => {"
        " const m = a.innerText.match(/Notifications: (\\d+) unread/);"
        " return m && Number(m[1]) > n; })",
        arg=before,
        timeout=SLOW,
    )
    page.get_by_role("link", name=re.compile(r"Notifications: \d+ unread")).click()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("link", name="Notifications: 0 unread")).to_be_visible(timeout=SLOW)


def test_chat__a_waiting_run_is_approved_from_its_card_in_chat(
    wf_app: tuple[AppServer, Services], gemini: FakeGeminiServer, base: FreshBase, page: Page
) -> None:
    server, services = wf_app
    user = make_user(services, name="Approver")
    workflow = services.workflows.create(user.id, definition("Approve in chat", base.id))
    run = services.workflow_runs.start(user, workflow.id, {"status": "Todo"}, "manual")
    wait_for_run(services, run.id, statuses=frozenset({"waiting_approval"}))
    gemini.script(
        ScriptedReply(
            text="", tool_calls=[ScriptedToolCall("get_workflow_run", {"run_id": run.id})]
        ),
        ScriptedReply(text="It waits for your approval: use the buttons on the card."),
        ScriptedReply(text="Approve a run"),  # the conversation title
    )
    sign_in(page, server.url, user.email)
    _ask(page, f"approve run {run.id}")
    expect(page.get_by_text("Step ok waits for your approval.")).to_be_visible(timeout=SLOW)
    assert services.workflow_runs.get(user, run.id).status == "waiting_approval"  # not by itself

    page.get_by_role("button", name="Approve", exact=True).click()
    finished = wait_for_run(services, run.id)
    assert finished.status == "succeeded"
    assert finished.steps[2].summary == "approved: answered in chat"
