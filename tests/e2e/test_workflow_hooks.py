"""The workflow editor in Chromium: a webhook-triggered workflow shows its hook URL and its
secret once (after creation and after Rotate), and a record-triggered one names the
Airtable webhook that serves it."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from emulator.testing import EmulatorServer
from services.container import Services
from tests.integration.airtable.fixtures import create_fresh_base
from tests.integration.webhooks.test_inbound import signed
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e
SLOW = 60_000

HOOKED = """\
name: {name}
inputs:
  - {{name: who, type: text}}
trigger: {{webhook: {{}}}}
steps:
  - id: tell
    type: notify
    message: "Hello {{{{ inputs.who }}}}"
"""


def _secret_on_page(page: Page) -> str:
    code = page.get_by_text(re.compile(r"^whsec_")).first
    expect(code).to_be_visible(timeout=SLOW)
    return str(code.inner_text()).strip()


def test_webhook_workflow__shows_url_and_secret_once_and_rotates(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    page.set_default_timeout(SLOW)
    user = make_user(app_services, name="Hooker")
    name = f"Hooked {uuid.uuid4().hex[:6]}"
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/workflows")
    expect(page.get_by_role("heading", name="New workflow")).to_be_visible(timeout=SLOW)
    page.get_by_role("tab", name="YAML").click()
    box = page.get_by_label("Definition (YAML or JSON)", exact=True)
    box.fill(HOOKED.format(name=name))
    box.press("Tab")
    page.get_by_role("button", name="Create workflow").last.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible(timeout=SLOW)
    (workflow,) = app_services.workflows.list_for(user)
    hook = app_services.inbound_hooks.hook_of(user, workflow.id)
    assert hook is not None
    url = f"{app_server.url}/api/hooks/{hook.id}"  # the server's PUBLIC_URL
    expect(page.get_by_text(url)).to_be_visible(timeout=SLOW)
    first = _secret_on_page(page)

    page.reload()
    expect(page.get_by_text(url)).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("Signing secret: hidden", exact=False)).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(re.compile(r"^whsec_"))).to_have_count(0)

    page.get_by_role("button", name="Rotate secret").click()
    second = _secret_on_page(page)
    assert second != first
    app_services.workflows.set_enabled(user, workflow.id, True)
    with httpx.Client(base_url=app_server.url) as http:
        data, headers = signed(first, {"who": "Ada"})
        assert http.post(f"/api/hooks/{hook.id}", content=data, headers=headers).status_code == 401
        data, headers = signed(second, {"who": "Ada"})
        assert http.post(f"/api/hooks/{hook.id}", content=data, headers=headers).status_code == 202


def test_record_workflow__names_the_airtable_webhook_that_serves_it(
    app_server: AppServer, app_services: Services, emulator: EmulatorServer, page: Page
) -> None:
    page.set_default_timeout(SLOW)
    base = create_fresh_base(emulator)
    user = make_user(app_services, name="Watcher")
    workflow = app_services.workflows.create(
        user.id,
        {
            "name": f"On done {uuid.uuid4().hex[:6]}",
            "base": base.id,
            "trigger": {"record": {"table": "Tasks", "on": ["updated"], "fields": ["Status"]}},
            "steps": [{"id": "tell", "type": "notify", "message": "Changed"}],
        },
    )
    app_services.workflows.set_enabled(user, workflow.id, True)
    served = app_services.airtable_webhooks.serving(user, workflow.id)
    assert served is not None
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/workflows?w={workflow.id}")
    expect(page.get_by_role("heading", name="Record trigger")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(f"Served by Airtable webhook {served.airtable_id}")).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_text("last ping: none yet")).to_be_visible(timeout=SLOW)
