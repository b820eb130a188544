"""Benchmark: the time the budget guard adds to one model call (reserve + settle + ledger).

Runs the same zero-latency scripted chat model with and without the guard, alternating
calls in one process, and prints median and p99 of both, of the guard's share, and of its
parts (estimate, reserve, settle). Redis is `REDIS_URL` or an embedded server, SQL is
`DATABASE_URL` or a SQLite file, both in a temporary directory. Run it with
``python -m bench.guard_overhead [--calls N]``. Target: median overhead under 2 ms.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from sqlalchemy import delete, make_url

from config.settings import Settings, load_settings
from services.budget.models import LedgerEntry
from services.budget.pricing import TokenUsage
from services.budget.types import Purpose
from services.container import Services, build_services
from services.db import transaction
from services.llm.factory import build_model_factory
from services.models import User
from services.redis_store import EmbeddedRedis
from services.schema import upgrade_database

T = TypeVar("T")

TARGET_MEDIAN_MS = 2.0
MODEL = "gemini-2.5-flash"
MESSAGES: list[BaseMessage] = [
    SystemMessage("You answer questions about the user's Airtable bases. " * 10),
    HumanMessage("How many deals did each owner close last month?"),
]


@contextmanager
def _services(tmp: Path) -> Iterator[Services]:
    defaults = load_settings()
    settings: Settings = load_settings(
        var_dir=tmp,
        database_url=defaults.database_url or f"sqlite:///{tmp / 'bench.db'}",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        rate_user_requests_per_minute=10**6,
        rate_user_tokens_per_minute=10**12,
        budget_user_day_usd=1_000_000,
        budget_user_month_usd=1_000_000,
        budget_org_day_usd=1_000_000,
        budget_org_month_usd=1_000_000,
        budget_user_day_tokens=0,
        budget_user_month_tokens=0,
        budget_org_day_tokens=0,
        budget_org_month_tokens=0,
    )
    upgrade_database(settings.sql_url)
    services = build_services(settings)
    try:
        yield services
    finally:
        for key in services.redis.scan_iter(match=f"{settings.redis_key_prefix}*"):
            services.redis.delete(key)
        services.close()
        if not settings.redis_url:
            EmbeddedRedis(tmp).stop()


def _scripted_model() -> GenericFakeChatModel:
    usage = {"input_tokens": 120, "output_tokens": 40, "total_tokens": 160}
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage("ok", usage_metadata=usage)]))


def _timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    started = time.perf_counter_ns()
    result = function(*args, **kwargs)
    return result, (time.perf_counter_ns() - started) / 1e6


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(calls: int, warmup: int) -> tuple[dict[str, list[float]], str]:
    """Time `calls` calls of each kind; return the times (ms) and the SQL backend's name."""
    with tempfile.TemporaryDirectory() as tmp, _services(Path(tmp)) as services:
        with transaction(services.sessions) as session:
            user = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com")
            session.add(user)
            session.flush()
            user_id = user.id
        factory = build_model_factory(services)
        guard = factory.budget_guard
        plain = _scripted_model()
        guarded = factory.guard(
            _scripted_model(), user_id=user_id, purpose=Purpose.CHAT, model_name=MODEL
        )
        times: dict[str, list[float]] = {
            name: [] for name in ("unguarded", "guarded", "estimate", "reserve", "settle")
        }
        usage = TokenUsage(input_tokens=120, output_tokens=40)
        try:
            for i in range(warmup + calls):
                sample: dict[str, float] = {}
                _, sample["unguarded"] = _timed(plain.invoke, MESSAGES)
                _, sample["guarded"] = _timed(guarded.invoke, MESSAGES)
                estimate, sample["estimate"] = _timed(guard.estimate, MODEL, MESSAGES)
                reservation, sample["reserve"] = _timed(
                    guard.reserve,
                    user_id=user_id,
                    model=MODEL,
                    purpose=Purpose.CHAT,
                    estimate=estimate,
                )
                _, sample["settle"] = _timed(guard.settle, reservation, usage, latency_ms=0)
                if i >= warmup:
                    for name, value in sample.items():
                        times[name].append(value)
        finally:
            with transaction(services.sessions) as session:
                session.execute(delete(LedgerEntry).where(LedgerEntry.user_id == user_id))
                session.execute(delete(User).where(User.id == user_id))
        return times, make_url(services.settings.sql_url).get_backend_name()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    times, sql = run(args.calls, args.warmup)
    overhead = [g - u for g, u in zip(times["guarded"], times["unguarded"], strict=True)]
    rows = [
        ("unguarded call (baseline)", times["unguarded"]),
        ("guarded call", times["guarded"]),
        ("guard overhead per call", overhead),
        ("  estimate (offline count)", times["estimate"]),
        ("  reserve (limits + Lua)", times["reserve"]),
        ("  settle (ledger + Lua)", times["settle"]),
    ]
    print(f"{args.calls} calls after {args.warmup} warm-up, {sql}, Redis {_redis_label()}")
    print(f"{'':30} {'median ms':>10} {'p99 ms':>10}")
    for name, values in rows:
        print(f"{name:30} {statistics.median(values):10.3f} {_p99(values):10.3f}")
    ratio = statistics.median(times["guarded"]) / statistics.median(times["unguarded"])
    median_overhead = statistics.median(overhead)
    print(f"guarded / unguarded median: {ratio:.1f}x")
    verdict = "OK" if median_overhead < TARGET_MEDIAN_MS else "OVER TARGET"
    print(f"target: median overhead < {TARGET_MEDIAN_MS} ms: {verdict}")


def _redis_label() -> str:
    return "REDIS_URL" if load_settings().redis_url else "embedded"


if __name__ == "__main__":
    main()
