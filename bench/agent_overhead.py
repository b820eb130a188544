"""Benchmark: time per assistant turn spent outside the model and Airtable.

Each measured turn is a full `Assistant.run_turn` with a zero-latency scripted model: load
the context window from Redis, build the agent (create_agent + middleware), two guarded
model calls (reserve, settle, ledger row each), one tool dispatch (describe_table, served
from the Redis schema cache), and saving the new messages. The emulator's request counter
proves no Airtable request happens in the measured turns, so the time is all overhead.
Prints median and p95 over the turns. Target: median under 30 ms.

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
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agents.assistant import Assistant
from config.settings import load_settings
from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.budget.types import CallRef, Purpose
from services.container import build_services
from services.redis_store import EmbeddedRedis
from services.schema import upgrade_database
from tests.support.scripted_model import ScriptedChatModel, answer, tool_call

TARGET_MEDIAN_MS = 30.0


def _script(turns: int) -> list[Any]:
    replies: list[Any] = []
    for n in range(turns):
        replies += [tool_call("describe_table", {"table": "Tasks"}, f"c{n}"), answer("Done.")]
    return replies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed="demo") as airtable:
        base_settings = load_settings()
        settings = base_settings.model_copy(
            update={
                "var_dir": Path(tmp),
                "redis_key_prefix": f"bench{uuid.uuid4().hex[:6]}:",
                "database_url": base_settings.database_url or f"sqlite:///{tmp}/bench.db",
                "airtable_endpoint_url": airtable.url,
                "airtable_token": SecretStr(DEV_TOKEN),
                "llm_provider": "gemini",
                "google_api_key": SecretStr("bench-not-used"),
                # Every turn is two model calls; the per-user limits would stop the run.
                "rate_user_requests_per_minute": 1_000_000,
                "rate_user_tokens_per_minute": 1_000_000_000,
            }
        )
        upgrade_database(settings.sql_url)
        services = build_services(settings)
        try:
            user = services.accounts.register(
                email=f"bench-{uuid.uuid4().hex[:6]}@example.com",
                password=secrets.token_urlsafe(16),
            )
            chat = ScriptedChatModel(script=_script(args.turns + 5))
            titles = ScriptedChatModel(script=[answer("Bench") for _ in range(args.turns + 10)])

            def provider(
                uid: int, purpose: Purpose, ref: CallRef, model: str | None
            ) -> BaseChatModel:
                inner = chat if purpose is Purpose.CHAT else titles
                return services.models.guard(
                    inner, user_id=uid, purpose=purpose, model_name="gemini-2.5-flash", ref=ref
                )

            assistant = Assistant(services, model_provider=provider)
            conversation = services.conversations.create(
                user_id=user.id, base_id=PROJECT_TRACKER_ID
            )
            for _ in range(5):  # warm up: schema and base caches, title, imports
                assistant.run_turn(user_id=user.id, conversation_id=conversation.id, text="warm up")
            before = httpx.get(f"{airtable.url}/_emulator/stats").json()["total"]
            timings: list[float] = []
            for n in range(args.turns):
                started = time.perf_counter()
                assistant.run_turn(
                    user_id=user.id, conversation_id=conversation.id, text=f"Describe tasks {n}"
                )
                timings.append((time.perf_counter() - started) * 1000)
            airtable_requests = (
                httpx.get(f"{airtable.url}/_emulator/stats").json()["total"] - before
            )
        finally:
            services.close()
            if not settings.redis_url:
                EmbeddedRedis(Path(tmp)).stop()
    median = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1]
    backend = "PostgreSQL" if "postgresql" in settings.sql_url else "SQLite"
    redis_kind = "Redis" if settings.redis_url else "embedded Redis"
    print(f"Agent turn overhead ({args.turns} turns, {backend} + {redis_kind})")
    print("each turn: context load/save, agent build, 2 guarded model calls, 1 tool call")
    print(f"{'median ms':>10} {'p95 ms':>8} {'airtable requests':>18}")
    print(f"{median:>10.1f} {p95:>8.1f} {airtable_requests:>18}")
    met = median < TARGET_MEDIAN_MS and airtable_requests == 0
    print(
        f"ratio to the {TARGET_MEDIAN_MS:.0f} ms target: {median / TARGET_MEDIAN_MS:.2f} "
        f"({'met' if met else 'MISSED'})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
