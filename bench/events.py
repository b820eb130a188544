"""Benchmark: 200 WebSocket clients of `WS /api/events` each receive 100 live events.

Starts the real web process (`streamlit run server.py`) on a fresh SQLite file and the
embedded Redis (or `REDIS_URL`), signs up 20 users with an API token each, connects 10
clients per user (200 sockets), then publishes 100 events per user from this process
(2,000 publishes, 20,000 deliveries) at `--rate` publishes per second, each carrying its
publish time. Every client checks it got its user's 100 events, in order, once each.
Baseline, same run and same publish pattern: 200 raw Redis `XREAD BLOCK` readers on the
same streams (what a socket could at best do without the web server in between).
Prints p50/p99 publish→receive latency and the share delivered for both, and the ratio.
Exits 1 unless 100% is delivered in order and p99 < 250 ms.
Run it with ``python -m bench.events [--users 20] [--clients-per-user 10] [--events 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
import redis
import redis.asyncio as aioredis
import websockets

from bench.report import Check, finish, percentile
from config.settings import load_settings
from services.container import Services, build_services
from services.events.bus import EventBus, target_of
from services.events.types import CHANGE_APPLIED
from services.migrations import upgrade_database
from services.redis_store import EmbeddedRedis, connect_redis

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 250.0


@dataclass
class Client:
    user_id: int
    latencies_ms: list[float] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)

    def got(self, data: dict[str, Any], received: float) -> None:
        self.latencies_ms.append((received - data["t"]) * 1000)
        self.numbers.append(data["n"])


@dataclass(frozen=True)
class Outcome:
    name: str
    clients: list[Client]
    expected: int

    @property
    def latencies(self) -> list[float]:
        return [ms for c in self.clients for ms in c.latencies_ms]

    @property
    def delivered(self) -> float:
        return sum(len(c.numbers) for c in self.clients) / (len(self.clients) * self.expected)

    @property
    def in_order_once(self) -> bool:
        return all(c.numbers == list(range(self.expected)) for c in self.clients)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _stack(tmp: Path) -> Iterator[tuple[Services, str]]:
    """Services for this process, and the URL of a web server on the same stores."""
    defaults = load_settings()
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    sql = f"sqlite:///{tmp / 'bench.db'}"
    upgrade_database(sql)
    redis_url = defaults.redis_url or f"unix://{tmp / 'redis.sock'}"
    if not defaults.redis_url:
        EmbeddedRedis(tmp).ensure_running()
    settings = load_settings(
        var_dir=tmp, database_url=sql, redis_url=redis_url, redis_key_prefix=prefix
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": sql,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "VAR_DIR": str(tmp),
        "LLM_PROVIDER": "none",
        "PUBLIC_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    command = [
        *(sys.executable, "-m", "streamlit", "run", "server.py"),
        *("--server.port", str(port), "--server.address", "127.0.0.1"),
        *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
    ]
    with open(tmp / "server.log", "w") as log:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    services = build_services(settings)
    try:
        _wait_healthy(url)
        yield services, url
    finally:
        server.terminate()
        server.wait(timeout=10)
        for key in services.redis.scan_iter(match=f"{prefix}*"):
            services.redis.delete(key)
        services.close()
        if not defaults.redis_url:
            EmbeddedRedis(tmp).stop()


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the web server did not start; see server.log")


def _users(services: Services, count: int) -> list[tuple[int, str]]:
    """(user id, API token) of `count` new users."""
    found = []
    for i in range(count):
        email = f"bench-{i}-{uuid.uuid4().hex[:6]}@example.com"
        user = services.accounts.register(email=email, password=secrets.token_urlsafe(16))
        token = services.api_tokens.create(user_id=user.id, name="bench").token
        found.append((user.id, token))
    return found


def _publish_all(
    redis_url: str,
    prefix: str,
    var_dir: str,
    plan: tuple[list[int], int, float],
    ready: Any,
    go: Any,
) -> None:
    """`events` per user, round by round, paced at `rate` publishes per second.

    Runs in a process of its own, as a worker would, so the readers here do not hold
    its GIL between the publish time it records and the publish itself. Sets `ready`
    once connected, and starts on `go`.
    """
    user_ids, events, rate = plan
    bus = EventBus(
        connect_redis(redis_url, Path(var_dir)), prefix=prefix, maxlen=1000, max_age_seconds=3600
    )
    bus.redis.ping()
    ready.set()
    go.wait()
    interval = 1.0 / rate
    due = time.perf_counter()
    for n in range(events):
        for user_id in user_ids:
            due += interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            bus.publish(CHANGE_APPLIED, {"n": n, "t": time.time()}, user_id=user_id)


async def _connect(url: str, token: str) -> Any:
    return await websockets.connect(
        url.replace("http://", "ws://") + "/api/events",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=60,
    )


async def _read_socket(ws: Any, client: Client, events: int, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            while len(client.numbers) < events:
                message = json.loads(await ws.recv())
                if message.get("type") == CHANGE_APPLIED:
                    client.got(message["data"], time.time())
    except TimeoutError:
        pass
    finally:
        await ws.close()


async def _run_sockets(
    services: Services,
    url: str,
    users: list[tuple[int, str]],
    per_user: int,
    events: int,
    rate: float,
) -> Outcome:
    clients = [Client(user_id) for user_id, _ in users for _ in range(per_user)]
    tokens = dict(users)
    sockets: list[Any] = []
    for start in range(0, len(clients), 20):  # in batches: the server checks each token
        group = clients[start : start + 20]
        sockets += await asyncio.gather(*(_connect(url, tokens[c.user_id]) for c in group))
    name = "WebSocket /api/events"
    return await _drive(services, clients, sockets, _read_socket, events, rate, name)


async def _run_xread(
    services: Services, users: list[tuple[int, str]], per_user: int, events: int, rate: float
) -> Outcome:
    clients = [Client(user_id) for user_id, _ in users for _ in range(per_user)]
    readers = [aioredis.Redis.from_url(services.settings.redis_url or "") for _ in clients]
    start = services.events.last_id()  # as "$", but fixed before publishing starts

    async def read(reader: Any, client: Client, events: int, timeout: float) -> None:
        key, last = services.events.keys.stream(target_of(client.user_id)), start
        try:
            async with asyncio.timeout(timeout):
                while len(client.numbers) < events:
                    reply = await reader.xread({key: last}, block=0, count=100)
                    received = time.time()
                    for _stream, entries in reply:
                        for entry_id, fields in entries:
                            last = entry_id
                            client.got(json.loads(fields[b"e"])["data"], received)
        except (TimeoutError, redis.TimeoutError):  # redis-py turns the cancel into its own
            pass
        finally:
            await reader.aclose()

    await asyncio.gather(*(r.ping() for r in readers))
    name = "raw Redis XREAD (baseline)"
    return await _drive(services, clients, readers, read, events, rate, name)


async def _drive(
    services: Services,
    clients: list[Client],
    connections: list[Any],
    read: Callable[[Any, Client, int, float], Coroutine[Any, Any, None]],
    events: int,
    rate: float,
    name: str,
) -> Outcome:
    """Read on every connection while a thread publishes; the outcome once all are done."""
    user_ids = list(dict.fromkeys(c.user_id for c in clients))
    settings = services.settings
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    publisher = context.Process(
        target=_publish_all,
        args=(
            settings.redis_url,
            settings.redis_key_prefix,
            str(settings.var_dir),
            (user_ids, events, rate),
            ready,
            go,
        ),
    )
    publisher.start()  # a fresh interpreter: its imports take a while on a busy machine
    await asyncio.to_thread(ready.wait, 120)
    timeout = events * len(user_ids) / rate + 30
    readers = [
        asyncio.create_task(read(conn, client, events, timeout))
        for conn, client in zip(connections, clients, strict=True)
    ]
    await asyncio.sleep(0.5)  # every reader waiting before the first publish
    go.set()
    await asyncio.gather(*readers)
    publisher.join()
    return Outcome(name, clients, events)


def _report(outcome: Outcome) -> tuple[float, float]:
    values = outcome.latencies or [float("nan")]
    p50, p99 = statistics.median(values), percentile(values, 0.99)
    print(
        f"{outcome.name:32} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   "
        f"max {max(values):8.1f} ms   delivered {outcome.delivered:7.2%}"
    )
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--clients-per-user", type=int, default=10)
    parser.add_argument("--events", type=int, default=100, help="events per user")
    parser.add_argument("--rate", type=float, default=400.0, help="publishes per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _stack(Path(tmp)) as (services, url):
        users = _users(services, args.users)
        shape = (args.users, args.clients_per_user, args.events, args.rate)
        sockets = args.users * args.clients_per_user
        print(
            f"{args.users} users x {args.clients_per_user} clients = {sockets} sockets, "
            f"{args.events} events per user at {args.rate:.0f} publishes/s"
        )
        ours = asyncio.run(_run_sockets(services, url, users, *shape[1:]))
        ours_p50, ours_p99 = _report(ours)
        baseline = asyncio.run(_run_xread(services, users, *shape[1:]))
        base_p50, base_p99 = _report(baseline)
    print(f"ours / baseline: p50 {ours_p50 / base_p50:.1f}x, p99 {ours_p99 / base_p99:.1f}x")
    checks = [
        Check(
            f"delivered {ours.delivered:.2%} of {len(ours.clients) * args.events} (target 100%)",
            ours.delivered == 1.0,
        ),
        Check("every client got its user's events in order, once each", ours.in_order_once),
        Check(f"baseline delivered {baseline.delivered:.2%}", baseline.delivered == 1.0),
        Check(f"p99 {ours_p99:.1f} ms < {TARGET_P99_MS:.0f} ms", ours_p99 < TARGET_P99_MS),
    ]
    sys.exit(finish(checks))


if __name__ == "__main__":
    main()
