"""Bulk fill fixtures: services on the emulator with the fake Gemini as the provider, a
DBOS worker in this process, and a Contacts table of 600 records."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from pyairtable import Api
from pydantic import SecretStr

from config.settings import LLMProvider, Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import User
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply
from tests.support.workflows import WorkerHandle, in_process_worker

pytestmark = pytest.mark.sql

OPTIONS = ["Positive", "Neutral", "Negative"]
CONTACTS = 600
PREFILLED_EVERY = 6  # every 6th contact already has a Sentiment (100 of 600)
MODEL = "gemini-2.5-flash-lite"


@dataclass
class Contacts:
    base_id: str
    api: Api

    def rows(self) -> dict[str, dict[str, object]]:
        return {r["id"]: r["fields"] for r in self.api.table(self.base_id, "Contacts").all()}


def answers(count: int = 40, *, bad: dict[int, str] | None = None) -> str:
    """A model reply for a batch: record n gets OPTIONS[n % 3] (or `bad[n]`)."""
    reply = {str(n): (bad or {}).get(n, OPTIONS[n % 3]) for n in range(1, count + 1)}
    return json.dumps(reply)


def reply(
    count: int = 40, *, input_tokens: int = 900, bad: dict[int, str] | None = None
) -> ScriptedReply:
    return ScriptedReply(
        text=answers(count, bad=bad), input_tokens=input_tokens, output_tokens=8 * count
    )


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        server.default_reply = reply()
        yield server


@pytest.fixture
def fill_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "workflow_step_backoff_seconds": 0.05,
            "workflow_dbos_schema": f"dbos_{uuid.uuid4().hex[:10]}",
            "budget_min_output_tokens": 256,
            "rate_user_requests_per_minute": 10_000,
            "rate_user_tokens_per_minute": 100_000_000,
        }
    )


def llm_services(
    settings: Settings, emulator: EmulatorServer, gemini: FakeGeminiServer, **updates: Any
) -> AbstractContextManager[Services]:
    return services_on(
        settings,
        emulator.url,
        llm_provider=LLMProvider.GEMINI,
        google_api_key=SecretStr(FAKE_GEMINI_KEY),
        gemini_base_url=gemini.url,
        llm_max_retries=0,
        default_model=MODEL,
        **updates,
    )


@pytest.fixture
def fill_services(
    fill_settings: Settings, services: Services, emulator: EmulatorServer, gemini: FakeGeminiServer
) -> Iterator[Services]:
    with llm_services(fill_settings, emulator, gemini) as built:
        yield built


@pytest.fixture
def owner(fill_services: Services) -> User:
    return make_user(fill_services, name="Owner")


@pytest.fixture
def worker(fill_services: Services) -> Iterator[WorkerHandle]:
    with in_process_worker(fill_services) as handle:
        yield handle


def make_contacts(server: EmulatorServer, count: int = CONTACTS) -> Contacts:
    api = Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None)
    base = api.create_base(
        "wspBulkFill",
        f"CRM {uuid.uuid4().hex[:8]}",
        [
            {
                "name": "Contacts",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {"name": "Notes", "type": "multilineText"},
                    {
                        "name": "Sentiment",
                        "type": "singleSelect",
                        "options": {"choices": [{"name": o} for o in OPTIONS]},
                    },
                    {"name": "Score", "type": "number", "options": {"precision": 0}},
                    {"name": "Due", "type": "date", "options": {"dateFormat": {"name": "iso"}}},
                    {"name": "Shout", "type": "formula", "options": {"formula": "UPPER({Name})"}},
                ],
            }
        ],
    )
    moods = ["loved the demo", "asked for a refund", "will think about it"]
    rows = []
    for i in range(count):
        fields: dict[str, Any] = {
            "Name": f"Contact {i:04d}",
            "Notes": f"Call on day {i}: the customer {moods[i % 3]}. Follow up next week.",
        }
        if i % PREFILLED_EVERY == 0:
            fields["Sentiment"] = "Neutral"
        rows.append(fields)
    api.table(base.id, "Contacts").batch_create(rows)
    return Contacts(base.id, api)


@pytest.fixture
def contacts(emulator: EmulatorServer) -> Contacts:
    return make_contacts(emulator)
