"""The `maintenance` process settles a reservation whose caller died."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from config.settings import Settings
from services.budget.ledger import find_call
from services.budget.pricing import CostEstimate
from services.budget.types import Purpose
from services.container import Services, build_services
from tests.support.appserver import PROJECT_ROOT

pytestmark = pytest.mark.sql


def test_maintenance_process__settles_a_leaked_reservation(
    settings: Settings, services: Services
) -> None:
    short = build_services(settings.model_copy(update={"budget_reservation_lease_seconds": 1}))
    user = short.accounts.register(email="ana@example.com", password="correct horse battery")
    worst = CostEstimate(input_tokens=10, output_tokens=100, input_nusd=3_000, total_nusd=90_000)
    reservation = short.models.budget_guard.reserve(
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
            row = find_call(short.sessions, reservation.request_id)
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
