"""`make run` with only the embedded defaults: web, emulator and Redis come up together."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from config.settings import EMULATOR_DEV_TOKEN
from tests.support.appserver import PROJECT_ROOT
from tests.support.net import free_port, wait_for_http

pytestmark = pytest.mark.e2e


def test_make_run__serves_health_and_ready_within_60s_on_embedded_defaults(
    tmp_path: Path,
) -> None:
    port, emulator_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "AIRTABLE_ENDPOINT_URL", "AIRTABLE_TOKEN"}
    }
    env |= {"VAR_DIR": str(tmp_path / "var"), "EMULATOR_PORT": str(emulator_port)}
    log = (tmp_path / "make-run.log").open("w")
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/ready", timeout=60)
        assert time.monotonic() - started < 60
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        whoami = httpx.get(
            f"http://127.0.0.1:{emulator_port}/v0/meta/whoami",
            headers={"Authorization": f"Bearer {EMULATOR_DEV_TOKEN}"},
        )
        assert whoami.status_code == 200
        assert (tmp_path / "var" / "app.db").exists()
        assert (tmp_path / "var" / "emulator.db").exists()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    assert not (tmp_path / "var" / "redis.sock").exists(), "embedded Redis left running"
