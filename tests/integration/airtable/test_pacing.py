"""Pacing through Redis: slots shared by every client, and polite retries after a 429."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests
from pydantic import SecretStr

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.airtable.pacing import PacedAdapter, PacingPolicy, SharedRateLimiter, base_id_of
from services.container import Services, build_services
from services.errors import AirtableError
from services.orm import User
from tests.integration.airtable.fixtures import emulator_stats
from tests.support.accounts import make_user
from tests.support.stores import delete_prefixed_keys

pytestmark = pytest.mark.sql
PROJECTS = "appDemoProjects00"


@pytest.fixture(scope="module")
def limited_emulator() -> Iterator[EmulatorServer]:
    """An emulator enforcing Airtable's limits, with a 1 s penalty instead of 30 s."""
    with EmulatorServer(seed="demo", rate_limit=True, penalty_seconds=1.0) as server:
        yield server


def _services(settings: Settings, server: EmulatorServer, **overrides: object) -> Services:
    return build_services(
        settings.model_copy(
            update={
                "airtable_endpoint_url": server.url,
                "airtable_token": SecretStr(DEV_TOKEN),
                "airtable_retry_max_wait_seconds": 2.0,
                **overrides,
            }
        )
    )


def test_limiter__a_slot_in_flight_is_not_given_away_when_its_window_passes(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    policy = PacingPolicy(per_base=1, per_token=50, window_ms=1000, wait_timeout_seconds=1.5)
    limiter = SharedRateLimiter(client, prefix=prefix, policy=policy)
    slow = limiter.acquire(PROJECTS, "token")
    time.sleep(1.1)  # still waiting for its answer
    with pytest.raises(AirtableError, match="busy"):
        limiter.acquire(PROJECTS, "token")
    limiter.release(slow)
    started = time.monotonic()
    limiter.release(limiter.acquire(PROJECTS, "token"))
    assert time.monotonic() - started >= 0.9  # a full window after the answer
    delete_prefixed_keys(client, prefix)


def test_base_id_of__reads_the_base_from_any_api_path() -> None:
    assert base_id_of("http://x/v0/appDemoProjects00/Tasks?offset=1") == PROJECTS
    assert base_id_of("http://x/v0/meta/bases/appDemoProjects00/tables") == PROJECTS
    assert base_id_of("http://x/v0/meta/bases") is None
    assert base_id_of("http://x/v0/meta/whoami") is None


def test_limiter__two_clients_on_one_redis_share_five_slots_a_second(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    policy = PacingPolicy(per_base=5, per_token=50, window_ms=1000)
    limiters = [SharedRateLimiter(client, prefix=prefix, policy=policy) for _ in range(2)]
    stamps: list[float] = []
    lock = threading.Lock()

    def take(limiter: SharedRateLimiter) -> None:
        for _ in range(6):
            slot = limiter.acquire(PROJECTS, "token")
            with lock:
                stamps.append(time.monotonic())
            limiter.release(slot)  # the request was answered

    threads = [threading.Thread(target=take, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stamps.sort()
    assert len(stamps) == 12
    # In any window of one second at most five requests start.
    assert all(later - earlier >= 0.99 for earlier, later in zip(stamps, stamps[5:], strict=False))
    delete_prefixed_keys(client, prefix)


def test_gateway__paced_requests_never_trip_airtables_limit(
    settings: Settings, services: Services, limited_emulator: EmulatorServer
) -> None:
    built = _services(settings, limited_emulator)
    user = make_user(built)
    before = emulator_stats(limited_emulator)["statuses"].get("429", 0)
    pages = list(built.airtable.pages(user.id, PROJECTS, "Projects"))
    for _ in range(12):
        built.airtable_records.search(user.id, PROJECTS, "Projects", limit=1)
    assert sum(len(p) for p in pages) == 40
    assert emulator_stats(limited_emulator)["statuses"].get("429", 0) == before
    delete_prefixed_keys(built.redis, settings.redis_key_prefix)
    built.close()


def test_gateway__waits_out_a_429_and_retries(
    settings: Settings, services: Services, limited_emulator: EmulatorServer
) -> None:
    # A limiter set far above Airtable's limit: the emulator answers 429 and the adapter
    # must honour Retry-After and try again until every call succeeds.
    built = _services(settings, limited_emulator, airtable_requests_per_second=100)
    user: User = make_user(built)
    built.airtable.schema(user.id, "appDemoInventory0")
    before = emulator_stats(limited_emulator)["statuses"].get("429", 0)
    totals = [
        built.airtable_records.search(user.id, "appDemoInventory0", "Suppliers", limit=1).total
        for _ in range(8)
    ]
    assert totals == [30] * 8
    assert emulator_stats(limited_emulator)["statuses"].get("429", 0) > before
    delete_prefixed_keys(built.redis, settings.redis_key_prefix)
    built.close()


class _DropsReusedConnections:
    """An HTTP server that answers the first request of a connection and closes the
    connection, without a reply, when a second request comes on it: what a client sees
    when it reuses a kept-alive connection as the server closes it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            reader = connection.makefile("rb")
            for answered in (True, False):
                line = reader.readline().decode()
                if not line:
                    return
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                reader.read(length)
                self.requests.append(line.split()[0])
                if not answered:
                    return  # closed with no reply
                body = b'{"records": []}'
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )

    def close(self) -> None:
        self._listener.close()


def test_adapter__repeats_a_get_on_a_dropped_connection_but_never_a_post(
    services: Services,
) -> None:
    server = _DropsReusedConnections()
    limiter = SharedRateLimiter(
        services.redis, prefix=f"t{uuid.uuid4().hex[:8]}:", policy=PacingPolicy()
    )
    session = requests.Session()
    session.mount("http://", PacedAdapter(limiter, PacingPolicy(), "token"))
    url = f"{server.url}/v0/{PROJECTS}/Tasks"
    try:
        assert session.get(url, timeout=5).json() == {"records": []}
        # The kept-alive connection is reused and dropped: the GET goes again, on a new one.
        assert session.get(url, timeout=5).json() == {"records": []}
        assert server.requests == ["GET", "GET", "GET"]
        # The same again for a POST, which Airtable may have applied: not repeated.
        with pytest.raises(requests.ConnectionError):
            session.post(url, json={"records": []}, timeout=5)
        assert server.requests == ["GET", "GET", "GET", "POST"]
    finally:
        session.close()
        server.close()
