import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from config.settings import Settings
from services.airtable.proposals import ProposalStore
from services.container import Services, build_services
from services.errors import StoreUnavailableError
from services.redis_store import EmbeddedRedis, RedisUnavailableError, check_redis, connect_redis


def test_embedded__starts_persists_and_restarts(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    client = connect_redis(None, tmp_path)
    try:
        client.set("greeting", "hello")
        embedded.stop()
        assert not embedded.is_running()
        client = connect_redis(None, tmp_path)
        assert client.get("greeting") == b"hello"
    finally:
        embedded.stop()


def test_embedded__concurrent_starts_share_one_server(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            embedded.ensure_running()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        pid = int(embedded.pid_path.read_text())
        assert embedded.client().info("server")["process_id"] == pid
    finally:
        embedded.stop()


def test_connect__uses_the_url_when_given(redis_url: str, tmp_path: Path) -> None:
    client = connect_redis(redis_url, tmp_path)
    assert client.ping()
    assert not (tmp_path / "redis.sock").exists()


def test_check_redis__names_redis_when_down() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    with pytest.raises(StoreUnavailableError) as excinfo:
        check_redis(client)
    assert excinfo.value.store == "redis"


@pytest.fixture
def outage(settings: Settings, tmp_path: Path) -> Iterator[tuple[Services, EmbeddedRedis]]:
    """Services on an embedded Redis of their own (never the shared one), running."""
    own = settings.model_copy(
        update={
            "redis_url": None,
            "var_dir": tmp_path / "own-redis",
            "github_client_id": "client-id",
            "github_client_secret": SecretStr("client-secret"),
        }
    )
    embedded = EmbeddedRedis(own.var_dir)
    built = build_services(own)
    try:
        yield built, embedded
    finally:
        built.close()
        embedded.stop()


def _token(services: Services) -> str:
    user = services.accounts.register(email="ana@example.com", password="correct horse battery")
    return services.api_tokens.create(user_id=user.id, name="ci").token


STORE_CALLS: dict[str, Callable[[Services, str], object]] = {
    "sessions.create": lambda s, _: s.sign_ins.create(1),
    "sessions.resolve": lambda s, _: s.sign_ins.resolve("some-session-token"),
    "flash.put": lambda s, _: s.flash.put("Signed out."),
    "flash.take": lambda s, _: s.flash.take("some-flash-id"),
    "conversations.create": lambda s, _: s.conversations.create(user_id=1),
    "conversations.find": lambda s, _: s.conversations.find(user_id=1),
    "throttle (sign-in)": lambda s, _: s.accounts.authenticate(
        email="ana@example.com", password="wrong password", address="127.0.0.1"
    ),
    "api_tokens.verify": lambda s, token: s.api_tokens.verify(token),
    "proposals.load": lambda s, _: ProposalStore(s.redis, prefix="t:").load("p_1", 1),
    "github.start": lambda s, _: s.github and s.github.start("http://127.0.0.1/callback"),
}


@pytest.mark.sql
@pytest.mark.parametrize("call", STORE_CALLS, ids=list(STORE_CALLS))
def test_store_client__every_store_reports_a_stopped_redis_as_unavailable(
    outage: tuple[Services, EmbeddedRedis], services: Services, call: str
) -> None:
    on_own_redis, embedded = outage
    token = _token(services)  # same SQL and signing key; `services` empties SQL afterwards
    embedded.stop()
    with pytest.raises(StoreUnavailableError) as excinfo:
        STORE_CALLS[call](on_own_redis, token)
    assert excinfo.value.store == "redis"
    assert "Redis" in str(excinfo.value)


def test_store_client__stays_a_redis_error_for_code_that_falls_back(tmp_path: Path) -> None:
    client = connect_redis("redis://127.0.0.1:1/0", tmp_path)
    pipe = client.pipeline()
    pipe.set("key", "value")
    with pytest.raises(redis.ConnectionError) as excinfo:
        pipe.execute()
    assert isinstance(excinfo.value, RedisUnavailableError)


def test_store_client__lets_command_errors_through(redis_url: str, tmp_path: Path) -> None:
    client = connect_redis(redis_url, tmp_path)
    key = f"t{uuid.uuid4().hex[:10]}:text"
    client.set(key, "not a number", ex=60)
    with pytest.raises(redis.ResponseError) as excinfo:
        client.incr(key)
    assert not isinstance(excinfo.value, StoreUnavailableError)


def test_store_client__reconnects_when_redis_returns(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    client = connect_redis(None, tmp_path)
    try:
        client.set("greeting", "hello")
        embedded.stop()
        with pytest.raises(RedisUnavailableError):
            client.get("greeting")
        embedded.ensure_running()
        assert client.get("greeting") == b"hello"
    finally:
        embedded.stop()


def test_keep_running__restarts_a_killed_server_from_its_append_only_file(
    tmp_path: Path,
) -> None:
    embedded = EmbeddedRedis(tmp_path)
    client = connect_redis(None, tmp_path)
    stop = threading.Event()
    watchdog = threading.Thread(
        target=embedded.keep_running, args=(stop,), kwargs={"every_seconds": 0.1}
    )
    try:
        client.set("greeting", "hello")
        killed = int(embedded.pid_path.read_text())
        watchdog.start()
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _answers_as_another_process(client, killed):
            time.sleep(0.1)
        assert client.get("greeting") == b"hello"
        assert embedded.socket_path.exists()
    finally:
        stop.set()
        watchdog.join(timeout=5)
        embedded.stop()


def _answers_as_another_process(client: redis.Redis, killed: int) -> bool:
    try:
        return int(client.info("server")["process_id"]) != killed
    except RedisUnavailableError:
        return False
