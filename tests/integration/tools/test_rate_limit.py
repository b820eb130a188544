"""Two processes, twenty concurrent tool calls on one base, Airtable's limit enforced."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from tests.integration.airtable.fixtures import emulator_stats
from tests.integration.tools.rate_limit_worker import BASE
from tests.support.accounts import make_user
from tests.support.appserver import PROJECT_ROOT

pytestmark = pytest.mark.sql


@pytest.fixture(scope="module")
def limited_emulator() -> Iterator[EmulatorServer]:
    """5 requests/s per base, 429 with Retry-After beyond it (1 s penalty instead of 30)."""
    with EmulatorServer(seed="demo", rate_limit=True, penalty_seconds=1.0) as server:
        yield server


def test_twenty_calls_from_two_processes__all_succeed_without_tripping_the_limit(
    settings: Settings, services: Services, limited_emulator: EmulatorServer
) -> None:
    user = make_user(services)
    config = {
        "database_url": settings.database_url,
        "redis_url": settings.redis_url,
        "redis_key_prefix": settings.redis_key_prefix,
        "var_dir": str(settings.var_dir),
        "llm_provider": "none",
        "airtable_endpoint_url": limited_emulator.url,
        "airtable_token": DEV_TOKEN,
        "airtable_retry_max_wait_seconds": 2.0,
    }
    # Two real processes (not a multiprocessing pool, which hangs forever if a child dies).
    request = json.dumps({"config": config, "user_id": user.id, "count": 10})
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.tools.rate_limit_worker", request],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results: list[tuple[str, str]] = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
        results += [(status, line) for status, line in json.loads(out.strip().splitlines()[-1])]
    stats = emulator_stats(limited_emulator)
    assert len(results) == 20
    assert all(status == "success" for status, _ in results), results
    projects = Api(DEV_TOKEN, endpoint_url=limited_emulator.url).table(BASE, "Projects").all()
    active = sum(1 for p in projects if p["fields"].get("Status") == "Active")
    owners = len({p["fields"]["Owner"] for p in projects})
    assert {line for _, line in results} == {
        f"Projects: {active} records match; showing 3.",
        f"Projects: sum of Budget over 40 matching records, by Owner ({owners} groups):",
    }
    assert stats["statuses"].get("429", 0) <= 2
    assert stats["bases"][BASE] >= 20
