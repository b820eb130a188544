"""The process's Prometheus metrics: one registry per `Services`, every series defined here.

Each process (every web server, every worker) counts in its own registry and exposes its
own series, each carrying a `process` label (`host:pid`, or `METRICS_PROCESS_NAME`): the
web process at `GET /api/metrics`, a worker on `METRICS_WORKER_PORT`. Prometheus scrapes
each process and sums across `process` (README: Metrics). Nothing here is a module global:
the container builds one `Metrics` per `Services`, so tests each count from zero.

Recording is cheap (a dict lookup and a lock per sample); what is costly to know (store
availability, connected clients) is read only when scraped, through `watch`.
"""

from __future__ import annotations

import hmac
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)
RATIO = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.5)


@dataclass(frozen=True)
class Probe:
    """A value read at scrape time: `read()` returns it (1/0 for up/down)."""

    name: str
    help: str
    read: Callable[[], float]


class _Labelled(Collector):
    """Adds `process=<name>` to every sample of the inner registry."""

    def __init__(self, inner: CollectorRegistry, process: str, probes: list[Probe]) -> None:
        self._inner = inner
        self._process = process
        self._probes = probes

    def collect(self) -> Iterable[Metric]:
        process = self._process
        for family in self._inner.collect():
            family.samples = [
                s._replace(labels={**s.labels, "process": process}) for s in family.samples
            ]
            yield family
        for probe in self._probes:
            gauge = GaugeMetricFamily(probe.name, probe.help, labels=["process"])
            try:
                value = float(probe.read())
            except Exception:  # a probe that cannot tell reports the thing as down
                value = 0.0
            gauge.add_metric([self._process], value)
            yield gauge


class Metrics:
    """Every series of the app. Record with the methods; read with `exposition()`."""

    def __init__(self, *, process: str | None = None) -> None:
        self.process = process or f"{socket.gethostname()}:{os.getpid()}"
        r = self._inner = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "pa_http_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "pa_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=FAST,
            registry=r,
        )
        self.model_calls = Counter(
            "pa_model_calls",
            "Model calls by model, purpose and outcome",
            ["model", "purpose", "status"],
            registry=r,
        )
        self.model_tokens = Counter(
            "pa_model_tokens",
            "Tokens charged by model and purpose",
            ["model", "purpose"],
            registry=r,
        )
        self.model_spend = Counter(
            "pa_model_spend_usd",
            "Spend in USD by model and purpose",
            ["model", "purpose"],
            registry=r,
        )
        self.budget_refusals = Counter(
            "pa_budget_refusals",
            "Model calls the budget guard refused, by limit",
            ["limit"],
            registry=r,
        )
        self.airtable_requests = Counter(
            "pa_airtable_requests",
            "Airtable HTTP requests by base and status",
            ["base", "status"],
            registry=r,
        )
        self.airtable_retries = Counter(
            "pa_airtable_retries",
            "Airtable requests retried (429/503) by base",
            ["base"],
            registry=r,
        )
        self.airtable_429 = Counter(
            "pa_airtable_rate_limited", "Airtable 429 answers by base", ["base"], registry=r
        )
        self.pacer_wait = Histogram(
            "pa_airtable_pacer_wait_seconds",
            "Time waiting for a pacing slot",
            buckets=FAST,
            registry=r,
        )
        self.turns = Counter(
            "pa_conversation_turns", "Chat turns by outcome", ["outcome"], registry=r
        )
        self.turn_seconds = Histogram(
            "pa_conversation_turn_seconds", "Chat turn latency", buckets=SLOW, registry=r
        )
        self.context_window = Histogram(
            "pa_conversation_context_window_ratio",
            "Tokens sent in a turn / the model's context window",
            buckets=RATIO,
            registry=r,
        )
        self.context_budget = Histogram(
            "pa_conversation_context_budget_ratio",
            "History tokens after a turn / CONVERSATION_WINDOW_TOKENS",
            buckets=RATIO,
            registry=r,
        )
        self.summaries = Counter(
            "pa_conversation_summaries", "Older turns folded into a summary", registry=r
        )
        self.workflow_runs = Counter(
            "pa_workflow_runs", "Workflow runs finished, by status", ["status"], registry=r
        )
        self.workflow_step_seconds = Histogram(
            "pa_workflow_step_seconds",
            "Workflow step latency by kind",
            ["kind"],
            buckets=SLOW,
            registry=r,
        )
        self.webhook_attempts = Counter(
            "pa_webhook_deliveries",
            "Outgoing webhook delivery attempts by outcome (delivered, retrying, failed)",
            ["outcome"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "pa_webhook_delivery_seconds",
            "Outgoing webhook attempt latency",
            buckets=SLOW,
            registry=r,
        )
        self._probes: list[Probe] = []
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Labelled(self._inner, self.process, self._probes))

    def watch(self, probe: Probe) -> None:
        """Read `probe` at every scrape (store availability, connected clients)."""
        self._probes.append(probe)

    def exposition(self) -> bytes:
        """The Prometheus text format of this process's series."""
        return generate_latest(self._registry)

    # -- recording -------------------------------------------------------------------------

    def http(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_seconds.labels(route).observe(seconds)

    def model_call(self, model: str, purpose: str, status: str, tokens: int, nusd: int) -> None:
        self.model_calls.labels(model, purpose, status).inc()
        if tokens:
            self.model_tokens.labels(model, purpose).inc(tokens)
        if nusd:
            self.model_spend.labels(model, purpose).inc(nusd / 1e9)

    def refused(self, limit: str) -> None:
        self.budget_refusals.labels(limit).inc()

    def airtable(self, base: str | None, status: int, *, retried: bool) -> None:
        label = base or "-"
        self.airtable_requests.labels(label, str(status)).inc()
        if status == 429:
            self.airtable_429.labels(label).inc()
        if retried:
            self.airtable_retries.labels(label).inc()

    def turn(self, outcome: str, seconds: float) -> None:
        self.turns.labels(outcome).inc()
        self.turn_seconds.observe(seconds)

    def context(self, window_ratio: float, budget_ratio: float, *, summarised: bool) -> None:
        self.context_window.observe(window_ratio)
        self.context_budget.observe(budget_ratio)
        if summarised:
            self.summaries.inc()

    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        self.webhook_attempts.labels(outcome).inc()
        self.webhook_seconds.observe(seconds)

    def workflow_run(self, status: str) -> None:
        self.workflow_runs.labels(status).inc()

    @contextmanager
    def step(self, kind: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.workflow_step_seconds.labels(kind).observe(time.monotonic() - started)


class MetricsAccess:
    """Who may read metrics: `METRICS_TOKEN` as a bearer token, or an admin's API token.

    Args:
        token: The configured metrics token (None: only admins' API tokens).
        admin_of_token: Whether an API token belongs to an active admin; raises on a
            token that is not valid (forged, expired, revoked).
    """

    def __init__(self, token: str | None, admin_of_token: Callable[[str], bool]) -> None:
        self._token = token
        self._admin_of_token = admin_of_token

    def status(self, authorization: str) -> int:
        """200 when allowed; 401 without a bearer token or with an invalid one; 403 for a
        valid token of someone who is not an admin. Cookies are never enough."""
        if not authorization.lower().startswith("bearer "):
            return 401
        given = authorization[7:].strip()
        if self._token and hmac.compare_digest(given.encode(), self._token.encode()):
            return 200
        try:
            return 200 if self._admin_of_token(given) else 403
        except Exception:  # an invalid or revoked token, or a store that cannot tell
            return 401


def serve(metrics: Metrics, access: MetricsAccess, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `GET /metrics` for a process without a web server (the worker), in a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = access.status(self.headers.get("Authorization", ""))
            if self.path.split("?")[0] != "/metrics":
                status = 404
            body = metrics.exposition() if status == 200 else b"not allowed\n"
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes are not worth a log line each

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
