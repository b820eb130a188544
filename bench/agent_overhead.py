"""Benchmark: what our assistant turn costs over a bare LangChain agent loop.

Both sides answer the same question with the same zero-latency scripted model (one
`describe_table` tool call, then the answer) and the same Airtable tools, alternating turn
by turn in one process:

* ours: a full `Assistant.run_turn`: the context window loaded from Redis (summarising
  older turns when it overflows), the system prompt with the base's schema, the agent with
  its middleware, two budget-guarded model calls (reserve, settle, ledger row each), the
  tool call, and the new messages saved to the conversation;
* bare: `create_agent(model, tools)` invoked with the question alone: no guard, no
  conversation, no prompt, no middleware.

The tool bodies are the same (describe_table, served from the Redis schema cache), so the
difference is what our turn adds. The emulator's request counter proves no Airtable request
happens in the measured turns. Checks: every tool result without error and the scripted
answer on both sides; two ledger rows per turn of ours; every message saved. Targets: the
median turn of ours at most 1.5 times the bare one, and at most 10 ms more (median of the
per-turn differences). Exit status 1 when a target or a check is missed.

Run: ``python -m bench.agent_overhead [--turns N]``. Redis is `REDIS_URL` or an embedded
server, SQL is `DATABASE_URL` or a SQLite file, both in a temporary directory.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from pydantic import SecretStr
from sqlalchemy import func, select

from agents.assistant import Assistant
from bench.report import Check, finish, percentile
from config.settings import Settings, load_settings
from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.budget.orm import LedgerEntry
from services.budget.types import CallRef, Purpose
from services.container import Services, build_services
from services.llm.scripted import ScriptedChatModel, answer, tool_call
from services.migrations import upgrade_database
from services.redis_store import EmbeddedRedis
from tools.airtable import airtable_tools
from tools.context import AssistantContext

TARGET_RATIO = 1.5
TARGET_EXTRA_MS = 10.0
WARMUP = 5
MODEL = "gemini-2.5-flash"
ANSWER = "Done."
TOOL = "describe_table"


Turn = Callable[[str], list[BaseMessage]]


def _script(turns: int) -> list[Any]:
    replies: list[Any] = []
    for n in range(turns):
        replies += [tool_call(TOOL, {"table": "Tasks"}, f"c{n}"), answer(ANSWER)]
    return replies


@dataclass
class Side:
    """The turn times of one side and what its turns produced."""

    times: list[float] = field(default_factory=list)
    tool_results: list[ToolMessage] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    def timed(self, turn: Turn, text: str, *, measured: bool) -> None:
        started = time.perf_counter()
        produced = turn(text)
        elapsed = (time.perf_counter() - started) * 1000
        if measured:
            self.times.append(elapsed)
            self.tool_results += [m for m in produced if isinstance(m, ToolMessage)]
            self.answers.append(produced[-1].text if produced else "")

    def checks(self, name: str, turns: int) -> list[Check]:
        clean = [m for m in self.tool_results if m.status != "error" and m.name == TOOL]
        schema = [m for m in clean if "Estimate Hours" in m.text]
        right = sum(a == ANSWER for a in self.answers)
        return [
            Check(
                f"{name}: {len(clean)}/{turns} {TOOL} results without error", len(clean) == turns
            ),
            Check(
                f"{name}: {len(schema)}/{turns} results show the Tasks fields", len(schema) == turns
            ),
            Check(f"{name}: {right}/{turns} turns end with the scripted answer", right == turns),
        ]


def _settings(tmp: str, airtable: EmulatorServer) -> Settings:
    base = load_settings()
    return base.model_copy(
        update={
            "var_dir": Path(tmp),
            "redis_key_prefix": f"bench{uuid.uuid4().hex[:6]}:",
            "database_url": base.database_url or f"sqlite:///{tmp}/bench.db",
            "airtable_endpoint_url": airtable.url,
            "airtable_token": SecretStr(DEV_TOKEN),
            "llm_provider": "gemini",
            "google_api_key": SecretStr("bench-not-used"),
            # Every turn is two model calls; the per-user limits would stop the run.
            "rate_user_requests_per_minute": 1_000_000,
            "rate_user_tokens_per_minute": 1_000_000_000,
        }
    )


def _ours(services: Services, turns: int) -> Assistant:
    chat = ScriptedChatModel(script=_script(turns))
    # Titles and the summaries of older turns (a few per run) share one script.
    others = ScriptedChatModel(script=[answer("Bench") for _ in range(turns)])

    def provider(uid: int, purpose: Purpose, ref: CallRef, model: str | None) -> BaseChatModel:
        inner = chat if purpose is Purpose.CHAT else others
        return services.chat_models.guard(
            inner, user_id=uid, purpose=purpose, model_name=MODEL, ref=ref
        )

    return Assistant(services, model_provider=provider)


def _bare(services: Services, turns: int, user_id: int) -> Turn:
    agent = create_agent(
        ScriptedChatModel(script=_script(turns)),
        airtable_tools(services),
        context_schema=AssistantContext,
    )
    context = AssistantContext(user_id=user_id, base_id=PROJECT_TRACKER_ID)

    def turn(text: str) -> list[BaseMessage]:
        state = agent.invoke({"messages": [HumanMessage(text)]}, context=context)
        return list(state["messages"][1:])

    return turn


def _chat_rows(services: Services, user_id: int, conversation_id: str) -> int:
    query = select(func.count()).where(
        LedgerEntry.user_id == user_id,
        LedgerEntry.purpose == Purpose.CHAT.value,
        LedgerEntry.ref_id == conversation_id,
        LedgerEntry.cost_nusd > 0,
    )
    with services.sql() as session:
        return int(session.execute(query).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()
    turns = args.turns
    ours, bare = Side(), Side()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed="demo") as airtable:
        settings = _settings(tmp, airtable)
        upgrade_database(settings.sql_url)
        services = build_services(settings)
        try:
            user = services.accounts.register(
                email=f"bench-{uuid.uuid4().hex[:6]}@example.com",
                password=secrets.token_urlsafe(16),
            )
            assistant = _ours(services, WARMUP + turns)
            bare_turn = _bare(services, WARMUP + turns, user.id)
            store = services.conversations
            conversation = store.create(user_id=user.id, base_id=PROJECT_TRACKER_ID)

            def our_turn(text: str) -> list[BaseMessage]:
                return assistant.run_turn(
                    user_id=user.id, conversation_id=conversation.id, text=text
                ).messages

            for n in range(WARMUP):  # schema cache, title, imports
                ours.timed(our_turn, f"Warm up {n}", measured=False)
                bare.timed(bare_turn, f"Warm up {n}", measured=False)
            before = httpx.get(f"{airtable.url}/_emulator/stats").json()["total"]
            rows_before = _chat_rows(services, user.id, conversation.id)
            for n in range(turns):
                ours.timed(our_turn, f"Describe the tasks table ({n})", measured=True)
                bare.timed(bare_turn, f"Describe the tasks table ({n})", measured=True)
            requests = httpx.get(f"{airtable.url}/_emulator/stats").json()["total"] - before
            rows = _chat_rows(services, user.id, conversation.id) - rows_before
            saved = len(store.messages(user_id=user.id, conversation_id=conversation.id))
        finally:
            services.close()
            if not settings.redis_url:
                EmbeddedRedis(Path(tmp)).stop()
    _report(settings, turns, ours, bare)
    checks = [
        *ours.checks("ours", turns),
        *bare.checks("bare", turns),
        Check(
            f"ours: {rows} priced chat ledger rows for {turns} turns (2 each)", rows == 2 * turns
        ),
        Check(
            f"ours: {saved} messages saved (4 per turn, {WARMUP + turns} turns)",
            saved == 4 * (WARMUP + turns),
        ),
        Check(f"Airtable requests in the measured turns: {requests} (0)", requests == 0),
        *_targets(ours.times, bare.times),
    ]
    sys.exit(finish(checks))


def _report(settings: Settings, turns: int, ours: Side, bare: Side) -> None:
    backend = "PostgreSQL" if "postgresql" in settings.sql_url else "SQLite"
    redis_kind = "Redis" if settings.redis_url else "embedded Redis"
    print(f"Agent turn overhead ({turns} turns each, alternating; {backend} + {redis_kind})")
    print(f"{'':44}{'median ms':>10}{'p95 ms':>8}")
    for label, side in (
        ("bare create_agent loop (baseline)", bare),
        ("ours: context, prompt, guard, save", ours),
    ):
        print(
            f"{label:44}{statistics.median(side.times):>10.1f}{percentile(side.times, 0.95):>8.1f}"
        )


def _targets(ours: list[float], bare: list[float]) -> list[Check]:
    ratio = statistics.median(ours) / statistics.median(bare)
    extra = statistics.median([o - b for o, b in zip(ours, bare, strict=True)])
    print(f"ours / bare median: {ratio:.2f}x; ours - bare, median per turn: {extra:.1f} ms")
    return [
        Check(f"ours / bare median {ratio:.2f}x <= {TARGET_RATIO}x", ratio <= TARGET_RATIO),
        Check(
            f"ours - bare median {extra:.1f} ms <= {TARGET_EXTRA_MS:.0f} ms",
            extra <= TARGET_EXTRA_MS,
        ),
    ]


if __name__ == "__main__":
    main()
