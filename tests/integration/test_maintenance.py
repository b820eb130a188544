"""The `maintenance` process settles a reservation whose caller died, and outlives outages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import Settings
from services.budget.ledger import find_call
from services.budget.pricing import CostEstimate
from services.budget.types import Purpose
from services.container import Services, build_services
from services.maintenance import run_forever
from services.redis_store import EmbeddedRedis
from tests.support.appserver import PROJECT_ROOT

pytestmark = pytest.mark.sql


def test_maintenance_process__settles_a_leaked_reservation(
    settings: Settings, services: Services
) -> None:
    short = build_services(settings.model_copy(update={"budget_reservation_lease_seconds": 1}))
    user = short.accounts.register(email="ana@example.com", password="correct horse battery")
    worst = CostEstimate(input_tokens=10, output_tokens=100, input_nusd=3_000, total_nusd=90_000)
    reservation = short.budget_guard.reserve(
        user_id=user.id, model="gemini-2.5-flash", purpose=Purpose.CHAT, estimate=worst
    )
    env = {
        **os.environ,
        "DATABASE_URL": settings.sql_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "VAR_DIR": str(settings.var_dir),
        "BUDGET_RESERVATION_LEASE_SECONDS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "maintenance", "--every", "0.2"], cwd=PROJECT_ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 20
        row = None
        while time.monotonic() < deadline:
            row = find_call(short.sql, reservation.request_id)
            if row is not None:
                break
            time.sleep(0.2)
        assert row is not None, "the maintenance process did not settle the leaked reservation"
        assert (row.status, row.cost_nusd) == ("expired", 3_000)
    finally:
        process.terminate()
        process.wait(timeout=10)
        short.close()
    assert process.returncode == 0


def _run_in_thread(services: Services, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_forever, args=(services,), kwargs={"every_seconds": 0.05, "stop": stop}
    )
    thread.start()
    return thread


def _wait_for(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_run_forever__survives_a_redis_outage_logs_it_once_and_resumes(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own = settings.model_copy(update={"redis_url": None, "var_dir": tmp_path / "own-redis"})
    embedded = EmbeddedRedis(own.var_dir)
    on_own_redis = build_services(own)
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="services.maintenance")
    thread = _run_in_thread(on_own_redis, stop)
    try:
        embedded.stop()
        assert _wait_for(lambda: "maintenance paused: redis unavailable" in caplog.text)
        time.sleep(1.5)  # several backed-off passes fail meanwhile
        assert thread.is_alive()
        assert caplog.text.count("maintenance paused") == 1
        embedded.ensure_running()
        assert _wait_for(lambda: "maintenance resumed" in caplog.text)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
        on_own_redis.close()
        embedded.stop()


def test_run_forever__survives_a_database_outage(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every connection is refused, as when PostgreSQL is down.
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/down"}
    )
    on_no_database = build_services(down)
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="services.maintenance")
    thread = _run_in_thread(on_no_database, stop)
    try:
        assert _wait_for(lambda: "maintenance paused: database unavailable" in caplog.text)
        time.sleep(1.0)
        assert thread.is_alive()
        assert caplog.text.count("maintenance paused") == 1
    finally:
        stop.set()
        thread.join(timeout=10)
        on_no_database.close()
