"""A worker SIGKILLed in the middle of a fill: after a restart the fill finishes, no
finished batch is asked again and no cell is written twice."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.orm import RecordChange
from services.bulk.planning import FillRequest
from services.bulk.store import FillStatus
from tests.integration.bulk.conftest import MODEL, OPTIONS, llm_services, make_contacts, reply
from tests.support.accounts import make_user
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.workflows import start_worker_process, stop_worker_process

pytestmark = pytest.mark.sql
EMPTY = 500
_DAY = re.compile(r"Call on day (\d+)")


@pytest.fixture
def own_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(tokens={DEV_TOKEN: None}) as server:
        yield server


def asked_days(gemini: FakeGeminiServer) -> Counter[int]:
    """How often each record (by its Notes' day number) was sent to the model."""
    days: Counter[int] = Counter()
    for request in gemini.requests:
        days.update(int(d) for d in _DAY.findall(json.dumps(request.body)))
    return days


@pytest.mark.usefixtures("services")  # its cleanup empties the tables afterwards
def test_sigkill_mid_fill__resumes_without_asking_or_writing_twice(
    fill_settings: Settings, own_emulator: EmulatorServer, gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    contacts = make_contacts(own_emulator)
    gemini.default_reply = reply(input_tokens=600)
    with llm_services(fill_settings, own_emulator, gemini) as services:
        owner = make_user(services, name="Owner")
        card = services.bulk_fills.propose(
            owner.id,
            FillRequest(
                base_id=contacts.base_id,
                table="Contacts",
                field="Sentiment",
                sources=["Notes"],
                instruction="Classify the sentiment.",
            ),
        )
        requests.post(f"{own_emulator.url}/_emulator/stats/reset", timeout=10)
        log = tmp_path / "worker.log"
        env = {
            # Airtable's own pace: 50 write requests take about 10 s.
            "AIRTABLE_REQUESTS_PER_SECOND": "5",
            "LLM_PROVIDER": "gemini",
            "GOOGLE_API_KEY": FAKE_GEMINI_KEY,
            "GEMINI_BASE_URL": gemini.url,
            "DEFAULT_MODEL": MODEL,
            "LLM_MAX_RETRIES": "0",
            "RATE_USER_REQUESTS_PER_MINUTE": "10000",
            "RATE_USER_TOKENS_PER_MINUTE": "100000000",
        }
        worker = start_worker_process(services, "fill-worker", log, **env)
        try:
            services.bulk_fills.start(owner.id, card["fill_id"])
            deadline = time.monotonic() + 120
            while services.bulk_fills.get(owner.id, card["fill_id"]).filled < 150:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                assert worker.poll() is None, log.read_text()[-3000:]
                time.sleep(0.02)
            stop_worker_process(worker, kill=True)
            killed_at = services.bulk_fills.get(owner.id, card["fill_id"])
            assert killed_at.status == FillStatus.RUNNING
            assert killed_at.filled < EMPTY
            worker = start_worker_process(services, "fill-worker", log, **env)
            deadline = time.monotonic() + 180
            while services.bulk_fills.get(owner.id, card["fill_id"]).status != "succeeded":
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        finally:
            stop_worker_process(worker)
        info = services.bulk_fills.get(owner.id, card["fill_id"])
        assert info.filled == EMPTY
        asked = asked_days(gemini)
        assert len(asked) == EMPTY
        # Only the batch in flight when the worker died (40 records) may have been asked again.
        again = [day for day, times in asked.items() if times > 1]
        assert len(again) <= 40, again
        assert all(times <= 2 for times in asked.values())
        with services.sql() as session:
            rows, distinct = session.execute(
                select(func.count(), func.count(func.distinct(RecordChange.record_id))).where(
                    RecordChange.change_set_id == card["fill_id"]
                )
            ).one()
        assert rows == distinct == EMPTY
        routes = requests.get(f"{own_emulator.url}/_emulator/stats", timeout=10).json()["routes"]
        assert routes.get("PATCH /v0/{baseId}/{tableIdOrName}") == EMPTY // 10
        assert all(f.get("Sentiment") in OPTIONS for f in contacts.rows().values())
