import threading
from pathlib import Path

import pytest
import redis

from services.errors import StoreUnavailableError
from services.redis_store import EmbeddedRedis, check_redis, connect_redis


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
