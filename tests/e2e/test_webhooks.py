"""The Webhooks page in Chromium: create an endpoint (secret shown once), send a test
event that a local receiver verifies with that secret, see it in the delivery log, replay
it with the same webhook-id, rotate, disable and delete."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from config.settings import Settings
from services.container import Services, build_services
from tests.integration.webhooks.conftest import dispatching
from tests.integration.webhooks.receiver import HookReceiver, hook_receiver, verify_with_package
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.browser import pick_option

pytestmark = pytest.mark.e2e
SLOW = 30_000  # a full page run on a busy machine


def button(page: Page, name: str) -> Locator:
    """The one button called `name`, once a rerun has stopped showing the old page's too."""
    found = page.get_by_test_id("stMain").get_by_role("button", name=name, exact=True)
    expect(found).to_have_count(1, timeout=SLOW)
    return found


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    with hook_receiver() as server:
        yield server


@pytest.fixture
def worker_services(app_settings: Settings) -> Iterator[Services]:
    built = build_services(
        app_settings.model_copy(
            update={"webhook_allow_private_targets": True, "webhook_poll_seconds": 0.1}
        )
    )
    try:
        yield built
    finally:
        built.close()


def test_webhooks_page__create_test_log_replay_rotate_disable_delete(
    app_server: AppServer, worker_services: Services, receiver: HookReceiver, page: Page
) -> None:
    user = make_user(worker_services, name="Hooks")
    sign_in(page, app_server.url, user.email)
    page.goto(f"{app_server.url}/webhooks")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Webhooks")).to_be_visible(timeout=SLOW)

    main.get_by_label("Endpoint URL").fill(receiver.url)
    main.get_by_label("Description (optional)").fill("The team's relay")
    # The pick must show as a chip before the form is submitted.
    pick_option(
        main.get_by_test_id("stMultiSelect"), re.compile(r"\(change\.applied\)"), "change.applied"
    )
    button(page, "Create endpoint").click()

    code = main.get_by_test_id("stCode")
    expect(code).to_contain_text("whsec_", timeout=SLOW)
    secret = code.inner_text().strip()
    expect(main.get_by_text("it is not shown again", exact=False)).to_be_visible()
    button(page, "I have copied the secret").click()
    expect(main.get_by_test_id("stCode")).to_have_count(0, timeout=SLOW)
    expect(main.get_by_text(receiver.url).first).to_be_visible()
    assert secret not in page.content()

    with dispatching(worker_services):
        button(page, "Send test event").click()
        receiver.wait_for(1, timeout=30)
        first = receiver.at("/hook")[0]
        assert verify_with_package(secret, first)

        expect(page.get_by_test_id("stToast")).to_contain_text("Test event queued", timeout=SLOW)
        page.reload()
        expect(main.get_by_role("heading", name=receiver.url)).to_be_visible(timeout=SLOW)
        main.get_by_text("Delivery log").click()
        expect(main.get_by_text("webhook.test · ✅ delivered", exact=False)).to_be_visible(
            timeout=SLOW
        )
        expect(main.get_by_text(first.webhook_id, exact=False)).to_be_visible()
        button(page, "Replay").click()
        receiver.wait_for(2, timeout=30)
        assert receiver.at("/hook")[1].webhook_id == first.webhook_id

    button(page, "Rotate secret").click()
    expect(main.get_by_test_id("stCode")).to_contain_text("whsec_", timeout=SLOW)
    rotated = main.get_by_test_id("stCode").inner_text().strip()
    assert rotated != secret
    expect(main.get_by_text("previous secret also signs until", exact=False)).to_be_visible()
    button(page, "I have copied the secret").click()

    button(page, "Disable").click()
    expect(main.get_by_text(re.compile(r"^Disabled · created"))).to_be_visible(timeout=SLOW)
    expect(button(page, "Send test event")).to_be_disabled()
    button(page, "Enable").click()
    expect(main.get_by_text(re.compile(r"^Enabled · created"))).to_be_visible(timeout=SLOW)

    button(page, "Delete").click()
    button(page, "Yes, delete").click()
    expect(main.get_by_text("No endpoints yet.")).to_be_visible(timeout=SLOW)
    assert worker_services.webhooks.list_for(user) == []
