"""Every page in Chromium through axe-core, signed out, as a member and as an admin.

A page fails on any serious or critical violation from our own markup; violations from
Streamlit's chrome are excused only as listed in `tests/e2e/axe_known.py`. Each page must
also have exactly one h1 and headings that never skip a level (h1, then h2 sections).

With `AXE_REPORT=<file>` every violation found (any impact, excused or not) is appended to
that file as one JSON line per page, for before/after comparisons.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyairtable
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.budget.ledger import LedgerRecord, record_call
from services.budget.types import CallStatus, Purpose
from services.container import Services
from services.orm import Role, User
from services.prompts.library import PromptDraft
from tests.e2e.axe_known import STREAMLIT_CHROME
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer, script_status_change

pytestmark = pytest.mark.e2e

FAILING_IMPACTS = {"serious", "critical"}
SIGNED_OUT = ["signin", "register", "reset_password"]
MEMBER = ["", "prompts", "account", "usage", "admin_costs"]
ADMIN = ["", "prompts", "account", "usage", "admin_users", "admin_costs", "status"]

_AXE = Axe()


@dataclass(frozen=True)
class Found:
    rule: str
    impact: str
    target: str
    excused: bool


def wait_for_page(page: Page) -> None:
    """Until Streamlit has finished running the page's script and drawn it."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    expect(page.locator("main")).to_be_visible()
    page.wait_for_timeout(500)  # the last deltas of the run are painted


def audit(page: Page) -> list[Found]:
    """Every violation axe finds on `page`, each node marked excused or not."""
    results = _AXE.run(page).response
    found: list[Found] = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            found.append(
                Found(
                    rule=violation["id"],
                    impact=node.get("impact") or violation.get("impact") or "unknown",
                    target=target,
                    excused=_excused(page, violation["id"], node["target"]),
                )
            )
    return found


def _excused(page: Page, rule: str, target: list[Any]) -> bool:
    containers = [known.within for known in STREAMLIT_CHROME if known.rule == rule]
    if not containers or len(target) != 1:  # a target inside an iframe or shadow root: ours
        return False
    inside: bool = page.evaluate(
        "([selector, containers]) => { const el = document.querySelector(selector);"
        " return !!el && containers.some(c => el.closest(c) !== null); }",
        [target[0], containers],
    )
    return inside


def headings(page: Page) -> list[tuple[int, str]]:
    """The level and text of every visible heading, in document order."""
    raw: list[list[Any]] = page.evaluate(
        "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6,[role=heading]')]"
        ".filter(h => h.offsetParent !== null)"
        ".map(h => [Number(h.getAttribute('aria-level') || h.tagName.substring(1)),"
        " h.innerText.trim()])"
    )
    return [(int(level), text) for level, text in raw]


def check_page(page: Page, state: str) -> None:
    wait_for_page(page)
    found = audit(page)
    report = os.environ.get("AXE_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            line = {"state": state, "violations": [f.__dict__ for f in found]}
            out.write(json.dumps(line) + "\n")
    failing = [f for f in found if f.impact in FAILING_IMPACTS and not f.excused]
    assert not failing, f"{state}: axe violations from our markup: {failing}"
    assert page.locator('a[href^="mailto:"]').count() == 0, f"{state}: an email became a link"
    levels = headings(page)
    assert [level for level, _ in levels].count(1) == 1, f"{state}: one h1, got {levels}"
    for (before, _), (level, text) in itertools.pairwise(levels):
        assert level <= before + 1, f"{state}: heading {text!r} skips a level: {levels}"


def _spend(services: Services, user: User) -> None:
    """One ledger row, so My usage and Costs draw their charts."""
    record_call(
        services.sql,
        LedgerRecord(
            request_id=uuid.uuid4().hex,
            user_id=user.id,
            purpose=Purpose.CHAT.value,
            ref_type=None,
            ref_id=None,
            provider="gemini",
            model="gemini-2.5-flash",
            input_tokens=1000,
            cached_tokens=0,
            output_tokens=234,
            reasoning_tokens=0,
            cost_nusd=1_000_000,
            reserved_nusd=1_000_000,
            latency_ms=0,
            status=CallStatus.OK,
            created_at=datetime.now(UTC),
        ),
    )


@pytest.mark.parametrize("path", SIGNED_OUT)
def test_axe__signed_out_pages_have_no_serious_violations(
    app_server: AppServer, page: Page, path: str
) -> None:
    page.goto(f"{app_server.url}/{path}")
    check_page(page, f"signed out /{path}")


@pytest.mark.parametrize(("role", "paths"), [(Role.MEMBER, MEMBER), (Role.ADMIN, ADMIN)])
def test_axe__signed_in_pages_have_no_serious_violations(
    app_server: AppServer, app_services: Services, page: Page, role: Role, paths: list[str]
) -> None:
    user = make_user(app_services, role=role)
    _spend(app_services, user)
    # An open prompt shows its run history (an h2 under the prompt's h1).
    prompt = app_services.prompts.create(
        user_id=user.id, draft=PromptDraft(name="Weekly summary", template="Sum up.", variables=[])
    )
    sign_in(page, app_server.url, user.email)
    failures: list[str] = []
    for path in [*paths, f"prompts?p={prompt.id}"]:
        page.goto(f"{app_server.url}/{path}")
        try:
            check_page(page, f"{role} /{path}")
        except AssertionError as failure:  # every page is audited, then all failures shown
            failures.append(str(failure))
    assert not failures, "\n".join(failures)


def _ask(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def _tab_to(page: Page, label: str, most: int) -> int:
    """Press Tab until the link named `label` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == label:
            return presses
    raise AssertionError(f"{label!r} not reached in {most} Tab presses")


def test_chat__skip_links_reach_the_question_box_and_the_base_picker_first(
    chat_app: tuple[AppServer, Services], page: Page
) -> None:
    server, services = chat_app
    user = make_user(services, name="Keyboard")
    sign_in(page, server.url, user.email)
    wait_for_page(page)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()

    page.goto(server.url)  # from a fresh load: nothing focused yet
    wait_for_page(page)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
    assert _tab_to(page, "Skip to the question box", most=2) <= 2
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_focused()

    page.goto(server.url)
    wait_for_page(page)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible()
    assert _tab_to(page, "Skip to the base picker", most=3) <= 3
    page.keyboard.press("Enter")
    expect(
        page.locator("main").get_by_test_id("stSelectbox").first.locator("input")
    ).to_be_focused()
    # The signed-in line is text: no Tab stop, no mailto: link.
    expect(page.get_by_text(f"Signed in as {user.email}")).to_be_visible()
    assert page.locator('a[href^="mailto:"]').count() == 0


def test_chat__open_conversation_passes_axe_and_confirm_returns_focus_to_the_card(
    chat_app: tuple[AppServer, Services],
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    page: Page,
) -> None:
    server, services = chat_app
    user = make_user(services, name="Confirmer")
    tasks = pyairtable.Api(DEV_TOKEN, endpoint_url=emulator.url).table(PROJECT_TRACKER_ID, "Tasks")
    record = tasks.first(formula="{Status}='Todo'")
    assert record is not None
    script_status_change(
        gemini,
        record["id"],
        "Blocked",
        reply="I proposed the change; please confirm it.",
        title="Block a task",
    )
    sign_in(page, server.url, user.email)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Project Tracker").click()
    _ask(page, f"Mark {record['fields']['Name']} as Blocked")
    expect(page.get_by_text("Proposed change to Tasks")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Block a task", level=1)).to_be_visible(timeout=30_000)

    check_page(page, "member / (open conversation, change card)")

    confirm = page.get_by_role("button", name="Confirm")
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Applied.", exact=True)).to_be_visible()
    page.wait_for_function(
        "() => document.activeElement.closest('[class*=\"st-key-card-\"]') !== null"
    )
    focused = page.evaluate("() => document.activeElement.textContent")
    assert "Applied." in focused
    tasks.update(record["id"], {"Status": "Todo"})  # leave the shared base as it was
