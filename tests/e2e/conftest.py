"""Browser-test fixtures: an app server whose model is the real Gemini client talking to a
fake Gemini server, on the shared emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing import EmulatorServer
from services.container import Services
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer
from tests.support.gemini_app import gemini_app


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture(scope="module")
def chat_app(
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    """The app with Gemini configured (pointed at `gemini`) and services sharing its stores."""
    var_dir = tmp_path_factory.mktemp("llm-app")
    with gemini_app(gemini, emulator, sql_url, redis_url, var_dir) as app:
        yield app
