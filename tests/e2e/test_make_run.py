"""`make run` with only the embedded defaults: web, emulator and Redis come up together,
and outlive the embedded Redis dying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from config.settings import EMULATOR_DEV_TOKEN, load_settings
from services.container import build_services
from tests.support.accounts import make_user, sign_in
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


# The outage lasts from the kill until the watchdog's first check, this long after start.
REDIS_CHECK_EVERY_S = 55
OUTAGE_WAIT_S = 60


def _embedded_env(tmp_path: Path, emulator_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "AIRTABLE_ENDPOINT_URL", "AIRTABLE_TOKEN"}
    }
    return env | {"VAR_DIR": str(tmp_path / "var"), "EMULATOR_PORT": str(emulator_port)}


@contextmanager
def _manage_run(tmp_path: Path, port: int, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py run` (what `make run` runs) on the embedded defaults; stopped on exit."""
    with (tmp_path / "manage-run.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run", "--port", str(port), *options],
            cwd=PROJECT_ROOT,
            env=_embedded_env(tmp_path, free_port()),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _children(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its command line."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    below: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return {child: _command_line(child) for child in below}


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited


def _client_of(page: Page, url: str) -> httpx.Client:
    """An HTTP client with the browser's session cookie."""
    cookies = {
        c["name"]: c["value"] for c in page.context.cookies() if "name" in c and "value" in c
    }
    return httpx.Client(base_url=url, cookies=cookies, timeout=30)


def test_make_run__outlives_a_killed_embedded_redis_and_recovers_without_a_restart(
    tmp_path: Path, page: Page
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = ("--maintenance-every", "1", "--redis-check-every", str(REDIS_CHECK_EVERY_S))
    started = time.monotonic()
    with _manage_run(tmp_path, port, *options) as manager:
        wait_for_http(f"{url}/api/ready", timeout=60)
        settings = load_settings(database_url=None, redis_url=None, var_dir=tmp_path / "var")
        services = build_services(settings)
        user = make_user(services)
        # Signing in through the browser also makes the web process build its page
        # services now: built later, they would start the embedded Redis themselves.
        sign_in(page, url, user.email)
        client = _client_of(page, url)
        names = ("streamlit run server.py", "-m emulator", "manage.py maintenance")
        processes = {
            pid: command
            for pid, command in _children(manager.pid).items()
            if any(name in command for name in names)
        }
        for name in names:
            assert any(name in command for command in processes.values()), name

        os.kill(int((tmp_path / "var" / "redis.pid").read_text()), signal.SIGKILL)
        killed = time.monotonic()
        assert killed - started < REDIS_CHECK_EVERY_S - 5, "too slow to start: no outage left"
        wait_for_http(f"{url}/api/ready", timeout=5, expect=503)
        me = client.get("/api/me")
        assert (me.status_code, me.json()["error"]["store"]) == (503, "redis")
        page.reload()
        expect(page.get_by_text("Temporarily unavailable")).to_be_visible()

        time.sleep(max(0.0, killed + OUTAGE_WAIT_S - time.monotonic()))
        assert manager.poll() is None, "the process manager stopped"
        assert [command for pid, command in processes.items() if not _alive(pid)] == []
        wait_for_http(f"{url}/api/ready", timeout=10)
        assert client.get("/api/me").json()["email"] == user.email  # the session survived
        page.context.clear_cookies()
        sign_in(page, url, user.email)
        client.close()
        services.close()
    assert not (tmp_path / "var" / "redis.sock").exists(), "embedded Redis left running"
    log = (tmp_path / "manage-run.log").read_text()
    assert "restarting it from its append-only file" in log
    assert log.count("maintenance paused: redis unavailable") == 1
    assert "maintenance resumed" in log
