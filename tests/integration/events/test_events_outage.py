"""`WS /api/events` while its Redis stops and starts again (a server on its own Redis)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.container import Services, build_services
from services.events.types import CHANGE_APPLIED
from services.redis_store import EmbeddedRedis
from tests.support.accounts import make_user
from tests.support.appserver import AppServer, run_app_server
from tests.support.event_sockets import close_code, next_events, open_events

pytestmark = pytest.mark.sql


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    embedded = EmbeddedRedis(tmp_path / "redis")
    embedded.ensure_running()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def server(sql_url: str, own_redis: EmbeddedRedis, tmp_path: Path) -> Iterator[AppServer]:
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": f"unix://{own_redis.socket_path}",
        "REDIS_KEY_PREFIX": f"out{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(tmp_path / "var"),
        "LLM_PROVIDER": "none",
        "EVENTS_AUTH_RECHECK_SECONDS": "1",
    }
    with run_app_server(env, tmp_path / "server.log") as running:
        yield running


@pytest.fixture
def services(server: AppServer) -> Iterator[Services]:
    built = build_services(server.settings())
    yield built
    built.close()


def test_events__survive_a_redis_restart_and_refuse_new_sockets_while_it_is_down(
    server: AppServer, services: Services, own_redis: EmbeddedRedis
) -> None:
    user = make_user(services)
    token = services.api_tokens.create(user_id=user.id, name="outage").token

    async def scenario() -> tuple[list[dict], str, int | None, list[dict]]:
        ws = await open_events(server.url, token=token)
        services.events.publish(CHANGE_APPLIED, {"n": 1}, user_id=user.id)
        before = await next_events(ws, 1)
        own_redis.stop()
        dropped = services.events.publish(CHANGE_APPLIED, {"n": 2}, user_id=user.id)
        refused = await open_events(server.url, token=token)
        refused_code = await close_code(refused)
        own_redis.ensure_running()
        await asyncio.sleep(3)  # the server's reader reconnects within a second or two
        services.events.publish(CHANGE_APPLIED, {"n": 3}, user_id=user.id)
        after = await next_events(ws, 1, timeout=10)
        await ws.close()
        return before, dropped.id, refused_code, after

    started = time.monotonic()
    before, dropped_id, refused_code, after = asyncio.run(scenario())
    assert [e["data"]["n"] for e in before] == [1]
    assert dropped_id == ""
    assert refused_code == 1013
    assert [e["data"]["n"] for e in after] == [3]
    assert time.monotonic() - started < 60
    assert "live events reader lost Redis" in server.log()
