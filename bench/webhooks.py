"""Benchmark: outgoing webhooks, from `EventBus.publish` to a verified delivery.

Publishes 1,000 events (at `--rate` events/s) to one user with 10 endpoints subscribed,
each a local HTTP receiver (in a process of their own); one dispatcher (the worker's, in
this process) on SQLite sends the 10,000 signed deliveries. Prints deliveries/s and the
p50/p95 event→delivery latency (publish call to arrival at the receiver), against a
baseline in the same run: the same 10,000 POSTs sent by a plain thread pool (no outbox,
no SQL, no signing) at the same pace. Checks the work: every (endpoint, event) arrived
exactly once with the `webhook-id` we derive for it, every signature verifies with the
`standardwebhooks` package and the endpoint's secret, every delivery row is `succeeded`
after one attempt. Target: p95 under 1 s. Run it with ``python -m bench.webhooks
[--events N] [--rate R]``; exit status 1 on a miss.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
import urllib3
from sqlalchemy import func, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bench.parts.stack import bench_services
from bench.report import Check, finish, percentile
from config.settings import load_settings
from services.container import Services
from services.crypto import TokenCipher
from services.webhooks.deliveries import DeliveryStore
from services.webhooks.dispatcher import WebhookDispatcher
from services.webhooks.orm import WebhookDelivery
from services.webhooks.signing import message_id

ENDPOINTS = 10
TARGET_P95_S = 1.0
EVENT = "change.applied"


@contextmanager
def _services(tmp: Path) -> Iterator[Services]:
    settings = load_settings(
        var_dir=tmp,
        database_url=f"sqlite:///{tmp / 'bench.db'}",  # the target is for SQLite
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        webhook_allow_private_targets=True,
    )
    with bench_services(settings) as services:
        yield services


@contextmanager
def _receivers() -> Iterator[list[int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.parts.webhook_receivers", "--count", str(ENDPOINTS)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ports = [int(p) for p in process.stdout.readline().split()]
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{ports[0]}/_health", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("the receivers did not start") from None
                time.sleep(0.1)
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=10)


def _kept(ports: list[int]) -> list[dict[str, Any]]:
    return list(requests.get(f"http://127.0.0.1:{ports[0]}/_dump", timeout=60).json())


def _paced(count: int, rate: float) -> Iterator[int]:
    """0..count-1, each yielded no sooner than its slot at `rate` per second."""
    start = time.perf_counter()
    for n in range(count):
        wait = start + n / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        yield n


def _baseline(ports: list[int], events: int, rate: float, threads: int) -> dict[str, float]:
    """The same fan-out by a plain thread pool posting unsigned JSON at the same pace."""
    pool = urllib3.PoolManager(num_pools=64, maxsize=4)
    sent: dict[tuple[int, int], float] = {}

    def post(port: int, n: int) -> None:
        body = json.dumps({"id": f"b-{n}", "type": EVENT, "data": {"n": n}}).encode()
        for _ in range(3):  # a plain sender retries a dropped connection too
            try:
                pool.request("POST", f"http://127.0.0.1:{port}/baseline", body=body, retries=False)
                return
            except urllib3.exceptions.HTTPError:
                continue

    with ThreadPoolExecutor(threads) as executor:
        for n in _paced(events, rate):
            for port in ports:
                sent[(port, n)] = time.time()
                executor.submit(post, port, n)
    arrived = [k for k in _kept(ports) if k["path"] == "/baseline"]
    latencies = [a["at"] - sent[(a["port"], json.loads(a["body"])["data"]["n"])] for a in arrived]
    span = max(a["at"] for a in arrived) - min(sent.values())
    return {
        "count": len(arrived),
        "rate": len(arrived) / span,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
    }


def run(events: int, rate: float) -> list[Check]:
    with (
        tempfile.TemporaryDirectory() as folder,
        _receivers() as ports,
        _services(Path(folder)) as services,
    ):
        user = services.accounts.register(
            email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password=uuid.uuid4().hex
        )
        secrets: dict[int, tuple[str, str]] = {}
        for port in ports:
            made = services.webhooks.create(
                user, url=f"http://127.0.0.1:{port}/hook", events=[EVENT]
            )
            secrets[port] = (made.endpoint.id, made.secret)
        settings = services.settings
        base = _baseline(ports, events, rate, settings.webhook_delivery_threads)
        cipher = TokenCipher(settings.encryption_key.get_secret_value())
        dispatcher = WebhookDispatcher(
            settings, services.events, DeliveryStore(services.sql, cipher), consumer="bench"
        )
        dispatcher.start()
        published: dict[str, float] = {}
        try:
            time.sleep(0.5)  # the group exists and the first poll is done
            for n in _paced(events, rate):
                at = time.time()
                event = services.events.publish(EVENT, {"n": n}, user_id=user.id)
                published[event.id] = at
            expected = events * ENDPOINTS
            deadline = time.monotonic() + 120
            while True:
                arrived = [k for k in _kept(ports) if k["path"] == "/hook"]
                if len(arrived) >= expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(1.0)  # anything sent twice would arrive by now
            arrived = [k for k in _kept(ports) if k["path"] == "/hook"]
            with services.sql() as session:
                states = {
                    f"{status}:{attempts}": count
                    for status, attempts, count in session.execute(
                        select(
                            WebhookDelivery.status, WebhookDelivery.attempts, func.count()
                        ).group_by(WebhookDelivery.status, WebhookDelivery.attempts)
                    )
                }
        finally:
            dispatcher.stop()
    return _report(events, base, secrets, published, arrived, states)


def _report(
    events: int,
    base: dict[str, float],
    secrets: dict[int, tuple[str, str]],
    published: dict[str, float],
    arrived: list[dict[str, Any]],
    states: dict[str, int],
) -> list[Check]:
    expected = events * ENDPOINTS
    signers = {port: Webhook(secret) for port, (_, secret) in secrets.items()}
    seen = collections.Counter((a["port"], a["headers"]["webhook-id"]) for a in arrived)
    wanted = {
        (port, message_id(endpoint_id, event_id))
        for port, (endpoint_id, _) in secrets.items()
        for event_id in published
    }
    verified = 0
    latencies = []
    for a in arrived:
        body = _verified(signers[a["port"]], a)
        if body is None:
            continue
        verified += 1
        latencies.append(a["at"] - published[body["id"]])
    first = min(published.values())
    span = max(a["at"] for a in arrived) - first if arrived else float("inf")
    ours = len(arrived) / span
    p50 = percentile(latencies, 0.5) if latencies else float("inf")
    p95 = percentile(latencies, 0.95) if latencies else float("inf")
    print(f"events {events}, endpoints {ENDPOINTS}, deliveries expected {expected}")
    print(
        f"ours:     {len(arrived)} arrived, {ours:,.0f} deliveries/s, "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, mean "
        f"{(statistics.fmean(latencies) if latencies else 0) * 1000:.0f} ms"
    )
    print(
        f"baseline: {base['count']:.0f} arrived, {base['rate']:,.0f} deliveries/s, "
        f"p50 {base['p50'] * 1000:.0f} ms, p95 {base['p95'] * 1000:.0f} ms (plain POSTs)"
    )
    print(
        f"ratio ours/baseline: {ours / base['rate']:.2f}x deliveries/s, "
        f"p95 {p95 / base['p95']:.1f}x; delivery rows {states}"
    )
    return [
        Check(f"{len(arrived)} of {expected} deliveries arrived", len(arrived) == expected),
        Check(
            "each (endpoint, event) exactly once, by its webhook-id",
            set(seen) == wanted and all(n == 1 for n in seen.values()),
        ),
        Check(f"{verified} of {len(arrived)} signatures verified", verified == len(arrived) > 0),
        Check(
            f"every delivery row succeeded on its first attempt {states}",
            states == {"succeeded:1": expected},
        ),
        Check(f"baseline delivered all {expected}", base["count"] == expected),
        Check(
            f"p95 event→delivery {p95 * 1000:.0f} ms < {TARGET_P95_S * 1000:.0f} ms",
            p95 < TARGET_P95_S,
        ),
    ]


def _verified(signer: Webhook, arrived: dict[str, Any]) -> Any:
    """The body when the signature verifies (by the `standardwebhooks` package), else None."""
    try:
        return signer.verify(arrived["body"], arrived["headers"])
    except WebhookVerificationError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="events published per second")
    args = parser.parse_args()
    return finish(run(args.events, args.rate))


if __name__ == "__main__":
    sys.exit(main())
