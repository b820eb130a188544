"""Every page in Chromium through axe-core, signed out, as a member and as an admin.

A page fails on any serious or critical violation from our own markup; violations from
Streamlit's chrome are excused only as listed in `tests/e2e/axe_known.py`. Each page must
also have exactly one h1 and headings that never skip a level (h1, then h2 sections).

With `AXE_REPORT=<file>` every violation found (any impact, excused or not) is appended to
that file as one JSON line per page, for before/after comparisons.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from services.budget.ledger import LedgerRecord, record_call
from services.budget.types import CallStatus, Purpose
from services.container import Services
from services.orm import Role, User
from tests.e2e.axe_known import STREAMLIT_CHROME
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

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
    expect(page.locator('[data-testid="stMain"]')).to_be_visible()
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
    levels = headings(page)
    assert [level for level, _ in levels].count(1) == 1, f"{state}: one h1, got {levels}"
    for (before, _), (level, text) in zip(levels, levels[1:], strict=False):
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
    sign_in(page, app_server.url, user.email)
    failures: list[str] = []
    for path in paths:
        page.goto(f"{app_server.url}/{path}")
        try:
            check_page(page, f"{role} /{path}")
        except AssertionError as failure:  # every page is audited, then all failures shown
            failures.append(str(failure))
    assert not failures, "\n".join(failures)
