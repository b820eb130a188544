"""`WS /api/events` on two real web servers sharing one Redis and one database."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.container import Services, build_services
from services.events.types import BUDGET_ALERT, CHANGE_APPLIED, CHANGE_UNDONE, EVENT_TYPES
from services.orm import Role, User, UserStatus
from tests.support.accounts import make_user
from tests.support.appserver import AppServer, run_app_server
from tests.support.event_sockets import close_code, next_events, open_events

pytestmark = pytest.mark.sql


@dataclass(frozen=True)
class Servers:
    a: AppServer
    b: AppServer
    services: Services  # built here, as a worker would be: publishes from outside both


@pytest.fixture(scope="module")
def servers(
    sql_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    var_dir = tmp_path_factory.mktemp("events-var")
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"ev{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "LLM_PROVIDER": "none",
        "EVENTS_HEARTBEAT_SECONDS": "0.5",
        "EVENTS_AUTH_RECHECK_SECONDS": "1",
        "EVENTS_CLIENT_BUFFER": "20",
        "EVENTS_STREAM_MAXLEN": "200",
    }
    with (
        run_app_server(env, Path(var_dir) / "a.log") as a,
        run_app_server(env, Path(var_dir) / "b.log") as b,
    ):
        services = build_services(a.settings(events_stream_maxlen=200))
        try:
            yield Servers(a, b, services)
        finally:
            services.close()


def _token(services: Services, user: User) -> str:
    return services.api_tokens.create(user_id=user.id, name="events test").token


def test_events__closes_4401_before_any_event_without_valid_credentials(servers: Servers) -> None:
    async def scenario() -> list[int | None]:
        codes = []
        for token in (None, "not-a-token"):
            ws = await open_events(servers.a.url, token=token)
            codes.append(await close_code(ws))
            assert ws.close_reason
        ws = await open_events(servers.a.url, cookie="no-such-session", origin=servers.a.url)
        codes.append(await close_code(ws))
        return codes

    assert asyncio.run(scenario()) == [4401, 4401, 4401]


def test_events__refuses_unknown_types_listing_the_valid_ones(servers: Servers) -> None:
    token = _token(servers.services, make_user(servers.services))

    async def scenario() -> tuple[list[dict], int | None]:
        ws = await open_events(servers.a.url, token=token, types="change.applied,nope")
        messages = await next_events(ws, 1, timeout=5)
        return messages, await close_code(ws)

    messages, code = asyncio.run(scenario())
    assert code == 4400
    assert messages[0]["type"] == "error"
    assert messages[0]["data"]["code"] == "unknown_types"
    assert "nope" in messages[0]["data"]["message"]
    assert messages[0]["data"]["valid_types"] == list(EVENT_TYPES)


def test_events__each_user_gets_only_their_own_and_admins_also_org_ones(servers: Servers) -> None:
    services = servers.services
    ann, bob = make_user(services, name="Ann"), make_user(services, name="Bob")
    admin = make_user(services, role=Role.ADMIN, name="Admin")
    tokens = [_token(services, u) for u in (ann, bob, admin)]

    async def scenario() -> list[list[dict]]:
        sockets = [await open_events(servers.a.url, token=t) for t in tokens]
        services.events.publish(CHANGE_APPLIED, {"for": "ann"}, user_id=ann.id)
        services.events.publish(CHANGE_UNDONE, {"for": "bob"}, user_id=bob.id)
        services.events.publish(BUDGET_ALERT, {"for": "org"}, user_id=None)
        services.events.publish(CHANGE_APPLIED, {"for": "admin"}, user_id=admin.id)
        got = [await next_events(ws, 3, timeout=3) for ws in sockets]
        for ws in sockets:
            await ws.close()
        return got

    ann_got, bob_got, admin_got = asyncio.run(scenario())
    assert [e["data"]["for"] for e in ann_got] == ["ann"]
    assert [e["data"]["for"] for e in bob_got] == ["bob"]
    assert [e["data"]["for"] for e in admin_got] == ["org", "admin"]
    assert set(ann_got[0]) == {"id", "type", "timestamp", "data"}
    assert ann_got[0]["type"] == CHANGE_APPLIED


def test_events__types_filter_passes_only_those_types(servers: Servers) -> None:
    services = servers.services
    user = make_user(services)
    token = _token(services, user)

    async def scenario() -> list[dict]:
        ws = await open_events(servers.a.url, token=token, types="change.undone")
        services.events.publish(CHANGE_APPLIED, {"n": 1}, user_id=user.id)
        services.events.publish(CHANGE_UNDONE, {"n": 2}, user_id=user.id)
        got = await next_events(ws, 2, timeout=2)
        await ws.close()
        return got

    assert [e["data"]["n"] for e in asyncio.run(scenario())] == [2]


def test_events__resume_replays_every_missed_event_once_in_order(servers: Servers) -> None:
    services = servers.services
    user = make_user(services)
    token = _token(services, user)

    async def scenario() -> tuple[list[dict], list[dict]]:
        ws = await open_events(servers.a.url, token=token)
        services.events.publish(CHANGE_APPLIED, {"n": 0}, user_id=user.id)
        first = await next_events(ws, 1)
        await ws.close()
        for n in range(1, 51):
            services.events.publish(CHANGE_APPLIED, {"n": n}, user_id=user.id)
        # on the other server: any server resumes any stream
        ws = await open_events(servers.b.url, token=token, last_event_id=first[0]["id"])
        replayed = await next_events(ws, 50)
        services.events.publish(CHANGE_APPLIED, {"n": 51}, user_id=user.id)
        after = await next_events(ws, 2, timeout=2)
        await ws.close()
        return replayed, after

    replayed, after = asyncio.run(scenario())
    assert [e["data"]["n"] for e in replayed] == list(range(1, 51))
    assert len({e["id"] for e in replayed}) == 50
    assert [e["data"]["n"] for e in after] == [51]


def test_events__malformed_or_too_old_last_event_id_gets_an_error_then_live_events(
    servers: Servers,
) -> None:
    services = servers.services
    user = make_user(services)
    token = _token(services, user)

    async def one(last_event_id: str, n: int) -> list[dict]:
        ws = await open_events(servers.a.url, token=token, last_event_id=last_event_id)
        error = await next_events(ws, 1, timeout=5)
        services.events.publish(CHANGE_APPLIED, {"n": n}, user_id=user.id)
        live = await next_events(ws, 1, timeout=5)
        await ws.close()
        return error + live

    malformed = asyncio.run(one("yesterday", 1))
    too_old = asyncio.run(one("1-0", 2))
    assert malformed[0]["type"] == "error"
    assert malformed[0]["data"]["code"] == "last_event_id_malformed"
    assert malformed[1]["data"] == {"n": 1}
    assert too_old[0]["data"]["code"] == "last_event_id_too_old"
    assert too_old[1]["data"] == {"n": 2}


def test_events__resume_from_before_the_length_cap_reports_missed_events(servers: Servers) -> None:
    services = servers.services
    user = make_user(services)
    first = services.events.publish(CHANGE_APPLIED, {"n": 0}, user_id=user.id)
    for n in range(1, 202):  # the stream keeps 200: the event after `first` is gone
        services.events.publish(CHANGE_APPLIED, {"n": n}, user_id=user.id)
    token = _token(services, user)

    async def scenario() -> list[dict]:
        ws = await open_events(servers.a.url, token=token, last_event_id=first.id)
        got = await next_events(ws, 1, timeout=5)
        await ws.close()
        return got

    assert asyncio.run(scenario())[0]["data"]["code"] == "last_event_id_too_old"


def test_events__sends_heartbeats_while_idle(servers: Servers) -> None:
    token = _token(servers.services, make_user(servers.services))

    async def scenario() -> list[str]:
        ws = await open_events(servers.a.url, token=token)
        kinds = []
        for _ in range(2):
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 3))["type"])
        await ws.close()
        return kinds

    assert asyncio.run(scenario()) == ["heartbeat", "heartbeat"]


@pytest.mark.parametrize("how", ["revoke token", "disable user", "demote admin"])
def test_events__closes_4401_within_5s_when_credentials_stop_being_valid(
    servers: Servers, how: str
) -> None:
    services = servers.services
    admin = make_user(services, role=Role.ADMIN)
    user = make_user(services, role=Role.ADMIN if how == "demote admin" else Role.MEMBER)
    issued = services.api_tokens.create(user_id=user.id, name="revocable")

    async def scenario() -> tuple[int | None, float]:
        ws = await open_events(servers.a.url, token=issued.token)
        await asyncio.sleep(0.3)
        started = time.monotonic()
        if how == "revoke token":
            services.api_tokens.revoke(user_id=user.id, jti=issued.jti)
        elif how == "disable user":
            services.accounts.set_status(
                actor_id=admin.id, user_id=user.id, status=UserStatus.DISABLED
            )
        else:  # no longer an admin: must stop reading the org stream
            services.accounts.set_role(actor_id=admin.id, user_id=user.id, role=Role.MEMBER)
        code = await close_code(ws, timeout=5)
        return code, time.monotonic() - started

    code, took = asyncio.run(scenario())
    assert code == 4401
    assert took < 5


def test_events__cookie_socket_needs_our_origin_and_closes_on_sign_out(servers: Servers) -> None:
    services = servers.services
    user = make_user(services)
    cookie = services.sign_ins.create(user.id)

    async def scenario() -> tuple[int | None, list[dict], int | None]:
        foreign = await open_events(servers.a.url, cookie=cookie, origin="https://evil.example")
        refused = await close_code(foreign)
        ws = await open_events(servers.a.url, cookie=cookie, origin=servers.a.url)
        services.events.publish(CHANGE_APPLIED, {"n": 1}, user_id=user.id)
        got = await next_events(ws, 1)
        services.sign_ins.end(cookie)
        return refused, got, await close_code(ws, timeout=5)

    refused, got, signed_out = asyncio.run(scenario())
    assert refused == 4403
    assert got[0]["data"] == {"n": 1}
    assert signed_out == 4401


def test_events__clients_on_both_servers_get_what_a_third_process_published(
    servers: Servers,
) -> None:
    services = servers.services
    user = make_user(services)
    token = _token(services, user)

    async def scenario() -> tuple[list[dict], list[dict]]:
        on_a = await open_events(servers.a.url, token=token)
        on_b = await open_events(servers.b.url, token=token)
        published = services.events.publish(CHANGE_APPLIED, {"n": 7}, user_id=user.id)
        got_a, got_b = await next_events(on_a, 1), await next_events(on_b, 1)
        await on_a.close()
        await on_b.close()
        assert got_a[0]["id"] == published.id
        return got_a, got_b

    got_a, got_b = asyncio.run(scenario())
    assert got_a == got_b


def test_events__a_client_that_stops_reading_is_closed_4408(servers: Servers) -> None:
    services = servers.services
    user = make_user(services)
    token = _token(services, user)
    filler = "x" * 60_000  # fills the socket buffers fast, then the 20-event queue

    async def scenario() -> int | None:
        ws = await open_events(servers.a.url, token=token)
        # A steady live flow, paced so that the server's reader keeps up with the capped
        # stream (200 kept): all at once, a loaded server may fall 200 behind and replay
        # the rest in one go, and with nothing live after it no queue ever overflows.
        for n in range(600):
            services.events.publish(CHANGE_APPLIED, {"n": n, "pad": filler}, user_id=user.id)
            if n % 20 == 19:
                await asyncio.sleep(0.05)
        await asyncio.sleep(2)
        return await close_code(ws, timeout=20)

    assert asyncio.run(scenario()) == 4408
