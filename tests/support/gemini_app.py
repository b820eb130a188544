"""An app server whose model is the real Gemini client talking to a fake Gemini server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services, build_services
from tests.support.appserver import AppServer, run_app_server
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer


@contextmanager
def gemini_app(
    gemini: FakeGeminiServer,
    emulator: EmulatorServer,
    sql_url: str,
    redis_url: str,
    var_dir: Path,
    **extra_env: str,
) -> Iterator[tuple[AppServer, Services]]:
    """An app server with Gemini configured (pointed at `gemini`), and services on its stores."""
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"llm{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "AIRTABLE_ENDPOINT_URL": emulator.url,
        "AIRTABLE_TOKEN": DEV_TOKEN,
        "LLM_PROVIDER": "gemini",
        "GOOGLE_API_KEY": FAKE_GEMINI_KEY,
        "GEMINI_BASE_URL": gemini.url,
        # This emulator has no rate limit; Airtable's 5 requests/s would only slow the tests.
        "AIRTABLE_REQUESTS_PER_SECOND": "100",
        "AIRTABLE_TOKEN_REQUESTS_PER_SECOND": "100",
        **extra_env,
    }
    with run_app_server(env, var_dir / "server.log") as server:
        services = build_services(server.settings())
        try:
            yield server, services
        finally:
            services.close()
