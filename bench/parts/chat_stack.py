"""What the chat benches share: `make run`'s processes on scratch stores, users with API
tokens, conversations through `POST /api/chat`, the ledger check and process memory.

`chat_stack()` starts the emulator (as Airtable, its own process as under `make run`), the
rule-based fake Gemini (in a process of its own, so that the bench's clients do not delay its
replies), the web process (`streamlit run server.py`) and a workflow worker
(`manage.py worker`), each as `make run` would, on a fresh SQLite file and the embedded
Redis (or `DATABASE_URL` / `REDIS_URL`) in a temporary directory. The emulator has no rate
limit, so the Airtable pace is raised to 1,000 requests/s (the real 5/s would measure
Airtable's limit, not us), and the per-user model-call rate limit to 10,000 a minute (a
bench user asks faster than a person).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import func, select

from bench.parts.gemini_rules import API_KEY, RuleGemini
from bench.parts.serving import own_process
from config.settings import load_settings
from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID, REFERENCE_DATE
from services.budget.orm import LedgerEntry
from services.budget.usage import limits_and_spend
from services.budget.windows import Metric, Scope, Window
from services.container import Services, build_services
from services.migrations import upgrade_database
from services.redis_store import EmbeddedRedis
from services.runtime import prepare_to_serve

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUESTION = "How many projects are there by status?"


@dataclass
class Stack:
    urls: list[str]  # one per web process
    services: Services
    gemini_url: str
    web_pids: list[int]
    worker_pid: int
    tokens: list[tuple[int, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def web_pid(self) -> int:
        return self.web_pids[0]

    def add_users(self, count: int) -> list[tuple[int, str]]:
        """`count` new accounts, each with its own API token."""
        made = []
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
            user = self.services.accounts.register(email=email, password=secrets.token_hex(12))
            made.append(
                (user.id, self.services.api_tokens.create(user_id=user.id, name="bench").token)
            )
        self.tokens += made
        return made


@dataclass
class Turn:
    first_token_s: float
    total_s: float
    error: str = ""
    opened_s: float = 0.0
    """When the stream's `conversation` event came: the caller found, the conversation open."""
    tool_s: float = 0.0
    """When the first `tool_result` came: the first model call and the tool done."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def chat_stack(*, latency_s: float, web_processes: int = 1) -> Iterator[Stack]:
    """`make run`'s processes on scratch stores; `web_processes` replicas of the web process
    (README, Scaling), each on its own port, as behind a load balancer."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-chat-")))
        log = stack.enter_context(open(tmp / "processes.log", "w"))
        emulator_url = f"http://127.0.0.1:{_free_port()}"
        emulator = _start(_emulator_command(emulator_url), dict(os.environ), log)
        stack.callback(_stop, emulator)
        gemini_url = stack.enter_context(
            own_process(functools.partial(RuleGemini, latency_s=latency_s))
        )
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            embedded = EmbeddedRedis(tmp)
            embedded.ensure_running()
            stack.callback(embedded.stop)
        port = _free_port()
        env = {
            "VAR_DIR": str(tmp),
            "REDIS_KEY_PREFIX": f"bench{uuid.uuid4().hex[:8]}:",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "AIRTABLE_ENDPOINT_URL": emulator_url,
            "AIRTABLE_TOKEN": DEV_TOKEN,
            "AIRTABLE_REQUESTS_PER_SECOND": "1000",
            "AIRTABLE_TOKEN_REQUESTS_PER_SECOND": "1000",
            "LLM_PROVIDER": "gemini",
            "GOOGLE_API_KEY": API_KEY,
            "GEMINI_BASE_URL": gemini_url,
            "RATE_USER_REQUESTS_PER_MINUTE": "10000",
            "RATE_USER_TOKENS_PER_MINUTE": "100000000",
            "LOG_LEVEL": "WARNING",
        }
        settings = load_settings(
            var_dir=tmp,
            redis_key_prefix=env["REDIS_KEY_PREFIX"],
            airtable_endpoint_url=emulator_url,
            airtable_token=DEV_TOKEN,
            llm_provider="gemini",
            google_api_key=API_KEY,
            gemini_base_url=gemini_url,
        )
        upgrade_database(settings.sql_url)
        full_env = {**os.environ, **env}
        _wait(f"{emulator_url}/_emulator/stats")
        ports = [port, *(_free_port() for _ in range(web_processes - 1))]
        webs = [_start(_web_command(p), full_env, log) for p in ports]
        for web in webs:
            stack.callback(_stop, web)
        worker = _start([sys.executable, "manage.py", "worker", "--id", "bench"], full_env, log)
        stack.callback(_stop, worker)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            _wait(f"{url}/api/health")
        services = build_services(settings)
        stack.callback(services.close)
        # The bench's own pauses would count as the server's time: its heap is frozen too.
        prepare_to_serve()
        yield Stack(urls, services, gemini_url, [w.pid for w in webs], worker.pid)


def _web_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", "server.py", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def _emulator_command(url: str) -> list[str]:
    port = url.rsplit(":", 1)[1]
    return [
        sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", port,
        "--data", ":memory:", "--seed", "demo", "--seed-date", REFERENCE_DATE.isoformat(),
    ]  # fmt: skip


def _start(command: list[str], env: dict[str, str], log: IO[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


async def ask(client: httpx.AsyncClient, conversation_id: str | None) -> tuple[Turn, str | None]:
    """One turn through `POST /api/chat`: time to the first answer token and to `done`."""
    body: dict[str, str] = {"message": QUESTION, "base_id": PROJECT_TRACKER_ID}
    if conversation_id:
        body["conversation_id"] = conversation_id
    started = time.perf_counter()
    first = opened = tool = 0.0
    event = ""
    try:
        async with client.stream("POST", "/api/chat", json=body) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode()[:200]
                return Turn(
                    0, time.perf_counter() - started, f"HTTP {response.status_code}: {text}"
                ), None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    if event == "conversation":
                        conversation_id = data["id"]
                        opened = time.perf_counter() - started
                    elif event == "tool_result" and not tool:
                        tool = time.perf_counter() - started
                    elif event == "token" and not first:
                        first = time.perf_counter() - started
                    elif event == "error":
                        return Turn(
                            first, time.perf_counter() - started, data["message"]
                        ), conversation_id
                    elif event == "done":
                        total = time.perf_counter() - started
                        return Turn(first, total, "", opened, tool), conversation_id
    except httpx.HTTPError as exc:
        return Turn(first, time.perf_counter() - started, type(exc).__name__), conversation_id
    return Turn(first, time.perf_counter() - started, "stream ended without done"), conversation_id


def _client(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )


async def converse(
    client: httpx.AsyncClient,
    turns: int,
    *,
    think_s: float = 0.0,
    rng: random.Random | None = None,
) -> list[Turn]:
    """One user's conversation of `turns` turns, one after another.

    With `think_s`, the user starts at a random moment within the first `think_s` seconds
    and pauses between turns for 0.5 to 1.5 times `think_s` (reading the answer, typing the
    next question), so that users do not ask in lockstep.
    """
    rng = rng or random.Random(0)
    async with client:
        done: list[Turn] = []
        conversation_id = None
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s))
        for n in range(turns):
            if n and think_s:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
            turn, conversation_id = await ask(client, conversation_id)
            done.append(turn)
        return done


def run_users(
    urls: str | list[str],
    tokens: list[str],
    turns: int,
    *,
    think_s: float = 0.0,
    seed: int = 0,
) -> list[list[Turn]]:
    """Every user's conversation at once; each user's turns in order (see `converse`).

    With several `urls` (web replicas) each user keeps to one, in turn, as a load balancer
    with sticky sessions would place them. Every user's HTTP client is made before any
    user starts: making one takes ~30 ms of this process (its TLS context), and made as
    each user started, they held up the loop that times the others' turns, and the users
    whose start fell in that time all asked at once."""
    spread = [urls] if isinstance(urls, str) else urls

    async def all_users() -> list[list[Turn]]:
        clients = [_client(spread[i % len(spread)], t) for i, t in enumerate(tokens)]
        return list(
            await asyncio.gather(
                *(
                    converse(client, turns, think_s=think_s, rng=random.Random(seed + i))
                    for i, client in enumerate(clients)
                )
            )
        )

    return asyncio.run(all_users())


def ledger_matches_counters(services: Services, user_ids: list[int]) -> tuple[bool, str]:
    """Each user's daily money and token counters equal their ledger rows, none in flight."""
    mismatches = []
    for user_id in user_ids:
        with services.sql() as session:
            nusd, tokens = session.execute(
                select(
                    func.coalesce(func.sum(LedgerEntry.cost_nusd), 0),
                    func.coalesce(
                        func.sum(LedgerEntry.input_tokens + LedgerEntry.output_tokens), 0
                    ),
                ).where(LedgerEntry.user_id == user_id)
            ).one()
        for status in limits_and_spend(services.budget_guard, user_id, include_org=False):
            if status.scope is not Scope.USER or status.window is not Window.DAY:
                continue
            expected = nusd if status.metric is Metric.USD else tokens
            if status.spent != expected or status.in_flight:
                mismatches.append(
                    f"user {user_id} {status.metric}: counter {status.spent} "
                    f"(+{status.in_flight} in flight) vs ledger {expected}"
                )
    return not mismatches, "; ".join(mismatches[:3])


def ledger_rows(services: Services, user_ids: list[int]) -> int:
    with services.sql() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.user_id.in_(user_ids))
            )
            or 0
        )


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process `pid` has used so far, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU time the whole machine has been busy, and stolen by its host, so far, in
    seconds summed over its cores (Linux /proc/stat): a phase that others' work slowed
    shows up in it."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid`, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
