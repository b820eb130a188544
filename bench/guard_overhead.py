"""Benchmark: the time the budget guard adds to one model call (reserve + settle + ledger).

Runs the same zero-latency scripted chat model with and without the guard, alternating
calls in one process, and prints median and p99 of both, their ratio, the guard's share,
and its parts (estimate, reserve, settle). Redis is `REDIS_URL` or an embedded server, SQL
is `DATABASE_URL` or a SQLite file, both in a temporary directory. Run it with
``python -m bench.guard_overhead [--calls N]``. Target: median overhead under 2 ms.

It also checks that the guard did its work. The bench user has a daily token budget set so
that the run ends between 80% and 100% of it: every reservation is checked against a
token limit that binds, the 50% and 80% alerts must be recorded once each, and one more
call after the run must be refused by the daily token budget. The ledger must hold one row
per guarded call with the tokens reported and the cost the price table gives them.
Exit status 1 when the target or a check is missed.
"""

from __future__ import annotations

import argparse
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

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from sqlalchemy import delete, func, make_url, select

from bench.parts.stack import bench_services
from bench.report import Check, finish, percentile
from config.settings import Settings, load_settings
from services.budget.budgets import BudgetOverrides
from services.budget.errors import SpendLimitExceededError
from services.budget.guard import BudgetGuard
from services.budget.orm import BudgetAlert, LedgerEntry
from services.budget.pricing import CostEstimate, TokenUsage
from services.budget.types import CallStatus, Purpose
from services.budget.windows import Metric, Window
from services.container import Services
from services.db import transaction
from services.llm.catalog import ModelSpec
from services.llm.scripted import ScriptedChatModel, usage
from services.orm import User

T = TypeVar("T")

TARGET_MEDIAN_MS = 2.0
MODEL = "gemini-2.5-flash"
MESSAGES: list[BaseMessage] = [
    SystemMessage("You answer questions about the user's Airtable bases. " * 10),
    HumanMessage("How many deals did each owner close last month?"),
]
INPUT_TOKENS, OUTPUT_TOKENS = 120, 40
CALL_TOKENS = INPUT_TOKENS + OUTPUT_TOKENS


@contextmanager
def _services(tmp: Path) -> Iterator[Services]:
    defaults = load_settings()
    settings: Settings = load_settings(
        var_dir=tmp,
        database_url=defaults.database_url or f"sqlite:///{tmp / 'bench.db'}",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        rate_user_requests_per_minute=10**6,
        rate_user_tokens_per_minute=10**12,
        # Checked on every call but never reached: the limit that binds is the user's daily
        # token budget, set in `run`.
        budget_user_day_usd=1_000_000,
        budget_user_month_usd=1_000_000,
        budget_org_day_usd=1_000_000,
        budget_org_month_usd=1_000_000,
        budget_user_month_tokens=10**12,
        budget_org_day_tokens=10**12,
        budget_org_month_tokens=10**12,
    )
    with bench_services(settings) as services:
        yield services


def _scripted_model(calls: int) -> ScriptedChatModel:
    reply = AIMessage("ok", usage_metadata=usage(INPUT_TOKENS, OUTPUT_TOKENS))
    return ScriptedChatModel(script=[reply] * calls)


def _timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    started = time.perf_counter_ns()
    result = function(*args, **kwargs)
    return result, (time.perf_counter_ns() - started) / 1e6


def day_token_budget(calls: int, estimate: CostEstimate) -> int:
    """A daily token budget that lets exactly `calls` calls of `estimate` through.

    Each call reserves its worst case on top of what the calls before it settled
    (`CALL_TOKENS` each), so call n passes while `(n - 1) * CALL_TOKENS + worst case` fits;
    the budget sits half a call above the last one's need and below the next one's.
    """
    return (calls - 1) * CALL_TOKENS + estimate.total_tokens + CALL_TOKENS // 2


def expected_alerts(budget: int, settled: int) -> set[int]:
    """The thresholds (%) a settled total reaching `settled` of `budget` crosses."""
    return {t for t in (50, 80, 100) if t * budget <= settled * 100}


class Run:
    """The times of one run, and what the guard recorded during it."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.times: dict[str, list[float]] = {
            name: [] for name in ("unguarded", "guarded", "estimate", "reserve", "settle")
        }
        self.checks: list[Check] = []


def run(calls: int, warmup: int) -> Run:
    """Time `calls` calls of each kind after `warmup`; check the ledger, budget and alerts."""
    total = warmup + calls
    with tempfile.TemporaryDirectory() as tmp, _services(Path(tmp)) as services:
        with transaction(services.sql) as session:
            user = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com")
            session.add(user)
            session.flush()
            user_id = user.id
        factory = services.chat_models
        guard = factory.budget_guard
        estimate = guard.estimate(MODEL, MESSAGES)
        # Two charged calls per round: the guarded model's, and the guard's own parts.
        budget = day_token_budget(2 * total, estimate)
        guard.budgets.set_user_budget(user_id, BudgetOverrides(day_tokens=budget))
        plain = _scripted_model(total)
        guarded = factory.guard(
            _scripted_model(total), user_id=user_id, purpose=Purpose.CHAT, model_name=MODEL
        )
        result = Run(make_url(services.settings.sql_url).get_backend_name())
        call_usage = TokenUsage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)
        try:
            for i in range(total):
                sample: dict[str, float] = {}
                _, sample["unguarded"] = _timed(plain.invoke, MESSAGES)
                _, sample["guarded"] = _timed(guarded.invoke, MESSAGES)
                estimated, sample["estimate"] = _timed(guard.estimate, MODEL, MESSAGES)
                reservation, sample["reserve"] = _timed(
                    guard.reserve,
                    user_id=user_id,
                    model=MODEL,
                    purpose=Purpose.SUMMARY,
                    estimate=estimated,
                )
                _, sample["settle"] = _timed(guard.settle, reservation, call_usage, latency_ms=0)
                if i >= warmup:
                    for name, value in sample.items():
                        result.times[name].append(value)
            spec = factory.catalog.get(MODEL)
            result.checks = [
                *_ledger_checks(services, user_id, spec, estimate, per_purpose=total),
                *_budget_checks(services, guard, user_id, estimate, budget, 2 * total),
            ]
        finally:
            with transaction(services.sql) as session:
                session.execute(delete(LedgerEntry).where(LedgerEntry.user_id == user_id))
                session.execute(delete(User).where(User.id == user_id))
        return result


def _ledger_checks(
    services: Services, user_id: int, spec: ModelSpec, estimate: CostEstimate, *, per_purpose: int
) -> list[Check]:
    """One row per call, each with the reported tokens and their price from the table."""
    rates = spec.rates_for(INPUT_TOKENS)
    cost = INPUT_TOKENS * rates.input_nusd + OUTPUT_TOKENS * rates.output_nusd
    exact = (
        LedgerEntry.input_tokens == INPUT_TOKENS,
        LedgerEntry.output_tokens == OUTPUT_TOKENS,
        LedgerEntry.cost_nusd == cost,
        LedgerEntry.reserved_nusd == estimate.total_nusd,
        LedgerEntry.status == CallStatus.OK.value,
        LedgerEntry.model == spec.name,
    )
    query = (
        select(LedgerEntry.purpose, func.count(), func.count().filter(*exact))
        .where(LedgerEntry.user_id == user_id)
        .group_by(LedgerEntry.purpose)
    )
    with services.sql() as session:
        rows = {purpose: (n, right) for purpose, n, right in session.execute(query)}
    checks = []
    for purpose, label in ((Purpose.CHAT, "guarded calls"), (Purpose.SUMMARY, "guard parts")):
        n, right = rows.pop(purpose.value, (0, 0))
        checks.append(Check(f"ledger: {n} rows for {per_purpose} {label}", n == per_purpose))
        checks.append(
            Check(f"ledger: {right}/{n} rows with {CALL_TOKENS} tokens at {cost} nUSD", right == n)
        )
    checks.append(Check(f"ledger: no other rows ({sum(n for n, _ in rows.values())})", not rows))
    return checks


def _budget_checks(
    services: Services,
    guard: BudgetGuard,
    user_id: int,
    estimate: CostEstimate,
    budget: int,
    calls: int,
) -> list[Check]:
    """The alerts the settled total crossed, each once; the next call refused by tokens."""
    settled = calls * CALL_TOKENS
    wanted = expected_alerts(budget, settled)
    with services.sql() as session:
        alerts = [
            (a.scope, a.window, a.metric, a.threshold_pct)
            for a in session.scalars(select(BudgetAlert).where(BudgetAlert.user_id == user_id))
        ]
    day_tokens = {("user", Window.DAY.value, Metric.TOKENS.value, t) for t in wanted}
    shown = ", ".join(f"{t}%" for t in sorted(wanted))
    checks = [
        Check(
            f"alerts: {shown} of the daily token budget, once each",
            sorted(alerts) == sorted(day_tokens),
        ),
    ]
    try:
        guard.reserve(user_id=user_id, model=MODEL, purpose=Purpose.CHAT, estimate=estimate)
        refused: SpendLimitExceededError | None = None
    except SpendLimitExceededError as exc:
        refused = exc
    checks.append(
        Check(
            f"budget: call {calls + 1} refused by the {budget:,}-token daily budget",
            refused is not None
            and (refused.metric, refused.window) == (Metric.TOKENS, Window.DAY)
            and refused.used == settled,
        )
    )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    result = run(args.calls, args.warmup)
    times = result.times
    overhead = [g - u for g, u in zip(times["guarded"], times["unguarded"], strict=True)]
    rows = [
        ("unguarded call (baseline)", times["unguarded"]),
        ("guarded call", times["guarded"]),
        ("guard overhead per call", overhead),
        ("  estimate (offline count)", times["estimate"]),
        ("  reserve (limits + Lua)", times["reserve"]),
        ("  settle (ledger + Lua)", times["settle"]),
    ]
    print(f"{args.calls} calls after {args.warmup} warm-up, {result.sql}, Redis {_redis_label()}")
    print(f"{'':30} {'median ms':>10} {'p99 ms':>10}")
    for name, values in rows:
        print(f"{name:30} {statistics.median(values):10.3f} {percentile(values, 0.99):10.3f}")
    ratio = statistics.median(times["guarded"]) / statistics.median(times["unguarded"])
    median_overhead = statistics.median(overhead)
    print(f"guarded / unguarded median: {ratio:.1f}x")
    target = Check(
        f"median guard overhead {median_overhead:.3f} ms < {TARGET_MEDIAN_MS} ms",
        median_overhead < TARGET_MEDIAN_MS,
    )
    sys.exit(finish([*result.checks, target]))


def _redis_label() -> str:
    return "REDIS_URL" if load_settings().redis_url else "embedded"


if __name__ == "__main__":
    main()
