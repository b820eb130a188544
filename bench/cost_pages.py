"""Benchmark: every query of the usage and cost pages over one million ledger rows.

Seeds 1,000,000 ledger rows (a year of calls by 200 users) in chunked multi-row inserts
into a fresh SQLite file, and, when `DATABASE_URL` is set, into a freshly created
PostgreSQL database that is dropped afterwards. Then times each query the pages run, over
their default period (the last 30 days) and the longest they allow, and prints a table.
Exits non-zero when any query takes 1 s or more. Run it with
``python -m bench.cost_pages [--rows N]``.

Only the tables the reports read are created (from the models, with the ledger's indexes
as migration 0003 defines them), so the bench does not depend on migrations in progress.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import Engine, insert, make_url, text

from config.settings import load_settings
from services.budget.models import LedgerEntry
from services.budget.reports import (
    DEFAULT_REPORT_DAYS,
    MAX_REPORT_DAYS,
    spend_by_day,
    spend_by_model,
    spend_by_purpose,
    spend_by_user,
    top_refs,
)
from services.budget.types import Purpose, RefType
from services.db import create_db_engine, create_session_factory
from services.models import Base, User

TARGET_SECONDS = 1.0
USERS = 200
DAYS = 365
CHUNK = 20_000
MODELS = ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "llama3.2")
REPEATS = 3

Query = tuple[str, Callable[..., object], dict[str, Any]]


def seed(engine: Engine, rows: int, now: datetime) -> int:
    """Create the tables and insert `rows` ledger rows; return the id of a busy user."""
    tables = [Base.metadata.tables[t] for t in (User.__tablename__, LedgerEntry.__tablename__)]
    Base.metadata.create_all(engine, tables=tables)
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [{"email": f"bench-{i}@example.com", "created_at": now} for i in range(USERS)],
        )
        user_ids = list(connection.scalars(text("SELECT id FROM users ORDER BY id")))
    rng = random.Random(8)
    purposes = [p.value for p in Purpose]
    for offset in range(0, rows, CHUNK):
        chunk = [
            _ledger_row(rng, user_ids, purposes, now) for _ in range(min(CHUNK, rows - offset))
        ]
        with engine.begin() as connection:
            connection.execute(insert(LedgerEntry), chunk)
        print(f"\r  seeded {offset + len(chunk):,} rows", end="", flush=True)
    print()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return user_ids[0]


def _ledger_row(
    rng: random.Random, user_ids: list[int], purposes: list[str], now: datetime
) -> dict[str, Any]:
    kind = rng.random()
    ref_type, ref_id = (
        (RefType.CONVERSATION.value, f"c{rng.randrange(50_000)}")
        if kind < 0.7
        else (RefType.RUN.value, f"r{rng.randrange(20_000)}")
        if kind < 0.9
        else (None, None)
    )
    input_tokens, output_tokens = rng.randrange(100, 20_000), rng.randrange(10, 2_000)
    cost = input_tokens * 300 + output_tokens * 2_500
    return {
        "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        # Skewed like real use: a few users make most calls.
        "user_id": user_ids[min(int(rng.paretovariate(1.2)) - 1, len(user_ids) - 1)],
        "purpose": rng.choice(purposes),
        "ref_type": ref_type,
        "ref_id": ref_id,
        "provider": "gemini",
        "model": rng.choice(MODELS),
        "input_tokens": input_tokens,
        "cached_tokens": 0,
        "output_tokens": output_tokens,
        "reasoning_tokens": 0,
        "reserved_nusd": cost,
        "cost_nusd": cost,
        "latency_ms": rng.randrange(200, 5_000),
        "status": "ok",
        "created_at": now - timedelta(seconds=rng.randrange(DAYS * 86_400)),
    }


def queries(user_id: int, now: datetime) -> list[Query]:
    """Each query the usage and cost pages run: over their default and their longest period."""
    found: list[Query] = []
    conversation, run = RefType.CONVERSATION.value, RefType.RUN.value
    for days in (DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS):
        span = {"start": now - timedelta(days=days), "end": now}
        mine = {**span, "user_id": user_id}
        found += [
            (f"org by day, {days}d", spend_by_day, span),
            (f"org by user, {days}d", spend_by_user, span),
            (f"org by model, {days}d", spend_by_model, span),
            (f"org by purpose, {days}d", spend_by_purpose, span),
            (f"top conversations, {days}d", top_refs, {**span, "ref_type": conversation}),
            (f"top prompt runs, {days}d", top_refs, {**span, "ref_type": run}),
            (f"my usage by day, {days}d", spend_by_day, mine),
            (f"my usage by model, {days}d", spend_by_model, mine),
            (f"my usage by purpose, {days}d", spend_by_purpose, mine),
        ]
    return found


def time_queries(engine: Engine, user_id: int, now: datetime) -> list[tuple[str, float, float]]:
    """(name, median s, worst s) of each query, after one warm-up run."""
    sessions = create_session_factory(engine)
    results: list[tuple[str, float, float]] = []
    for name, query, kwargs in queries(user_id, now):
        query(sessions, **kwargs)
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            query(sessions, **kwargs)
            times.append(time.perf_counter() - started)
        results.append((name, statistics.median(times), max(times)))
    return results


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'costs.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(server_url: str) -> Iterator[Engine]:
    """An engine on a new database of the server at `server_url`, dropped afterwards."""
    name = f"bench_costs_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(make_url(server_url).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(label: str, engine: Engine, rows: int) -> bool:
    """Seed, time and print one backend; True when every query met the target."""
    now = datetime.now(UTC)
    print(f"{label}: seeding {rows:,} ledger rows")
    started = time.perf_counter()
    user_id = seed(engine, rows, now)
    print(f"  seeded in {time.perf_counter() - started:.1f} s")
    results = time_queries(engine, user_id, now)
    print(f"  {'query':32} {'median ms':>10} {'worst ms':>10}")
    for name, median, worst in results:
        flag = "" if worst < TARGET_SECONDS else "  OVER 1 s"
        print(f"  {name:32} {median * 1000:10.1f} {worst * 1000:10.1f}{flag}")
    return all(worst < TARGET_SECONDS for _, _, worst in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    ok = True
    with sqlite_engine() as engine:
        ok &= bench("SQLite", engine, args.rows)
    database_url = load_settings().database_url
    if database_url:
        with postgres_engine(load_settings().sql_url) as engine:
            ok &= bench("PostgreSQL", engine, args.rows)
    else:
        print("PostgreSQL: skipped (DATABASE_URL is not set)")
    print(f"target: every query < {TARGET_SECONDS:.0f} s: {'OK' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
