"""The chat's context gauge in Chromium: it rises turn by turn and drops once older turns
are summarised (a 250-token window, so the fifth turn folds the first three)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from emulator.testing import EmulatorServer
from services.container import Services
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply
from tests.support.gemini_app import gemini_app

pytestmark = pytest.mark.e2e

ANSWER = "Answer {n}: " + "the tasks look fine. " * 10  # about 70 tokens with its question


@pytest.fixture(scope="module")
def small_window_app(
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    var_dir = tmp_path_factory.mktemp("gauge-app")
    with gemini_app(
        gemini, emulator, sql_url, redis_url, var_dir, CONVERSATION_WINDOW_TOKENS="250"
    ) as app:
        yield app


def _ask(page: Page, text: str, answer: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_text(answer[:30]).last).to_be_visible(timeout=30_000)


def _history_percent(page: Page, sent: int) -> int:
    gauge = page.locator(".st-key-context-gauge")
    # The gauge is redrawn once the turn is saved: wait for this turn's figure.
    expect(gauge).to_contain_text(f"({sent:,} sent)", timeout=30_000)
    match = re.search(r"history (\d+)% of the 250-token window", gauge.inner_text())
    assert match is not None, gauge.inner_text()
    return int(match.group(1))


def test_context_gauge__rises_each_turn_and_drops_after_a_summary(
    small_window_app: tuple[AppServer, Services], gemini: FakeGeminiServer, page: Page
) -> None:
    server, services = small_window_app
    user = make_user(services, name="Talker")
    sign_in(page, server.url, user.email)

    seen: list[int] = []
    for turn in range(1, 5):
        answer = ANSWER.format(n=turn)
        replies = [ScriptedReply(text=answer, input_tokens=1_000 * turn)]
        if turn == 1:
            replies.append(ScriptedReply(text="Small talk"))  # the title
        gemini.script(*replies)
        _ask(page, f"Question number {turn}?", answer)
        seen.append(_history_percent(page, 1_000 * turn))
    assert seen == sorted(seen)
    assert len(set(seen)) == 4
    assert seen[-1] > 100  # the history outgrew the window: the next turn summarises
    expect(page.locator(".st-key-context-gauge")).not_to_contain_text("summarised")

    # Turn 5: the summary call comes first, then the answer.
    gemini.script(
        ScriptedReply(text="Earlier: three questions about tasks, all fine."),
        ScriptedReply(text=ANSWER.format(n=5), input_tokens=900),
    )
    _ask(page, "Question number 5?", ANSWER.format(n=5))
    after = _history_percent(page, 900)
    assert after < seen[-1]
    assert after < seen[2]
    gauge = page.locator(".st-key-context-gauge")
    expect(gauge).to_contain_text(re.compile(r"\d+ older messages summarised \(\d{4}-"))
    expect(gauge).to_contain_text("0.1% of the model's 1,048,576 tokens")
