"""Seed data for bench/cost_pages.py: a year of model calls, bulk-loaded.

Calls come in sessions as people make them: a conversation is one person's, on one model,
a title call then chat turns (a summary every tenth) minutes apart; a prompt run is a few
calls; a workflow step is one call without a reference. A few users make most calls.
Rows are loaded with `executemany` in large chunks on SQLite and with `COPY` on
PostgreSQL; the rollup is then built by `rollup.rebuild`, as `manage.py rollup rebuild` does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text

from services.budget.orm import BudgetAlert
from services.orm import User
from services.prompts.orm import Prompt, PromptRun

USERS = 200
DAYS = 365
CHUNK = 200_000
MODELS = ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "llama3.2")
COLUMNS = (
    "request_id",
    "user_id",
    "purpose",
    "ref_type",
    "ref_id",
    "provider",
    "model",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "reserved_nusd",
    "cost_nusd",
    "latency_ms",
    "status",
    "created_at",
)
Row = tuple[Any, ...]


class Calls:
    """Generates ledger rows day by day, oldest first, `per_day` calls a day."""

    def __init__(self, user_ids: list[int], *, first_day: datetime, per_day: int) -> None:
        self._users = user_ids
        self._first = first_day
        self._per_day = per_day
        self._rng = random.Random(8)
        self._requests = 0
        self._refs = 0
        self.run_ids: list[str] = []

    def days(self, count: int) -> Iterator[list[Row]]:
        for day in range(count):
            start = self._first + timedelta(days=day)
            rows: list[Row] = []
            while len(rows) < self._per_day:
                rows += self._session(start)
            yield sorted(rows[: self._per_day], key=lambda r: r[-1])

    def _session(self, day: datetime) -> list[Row]:
        rng = self._rng
        user = self._users[min(int(rng.paretovariate(1.2)) - 1, len(self._users) - 1)]
        model = MODELS[user % len(MODELS)] if rng.random() < 0.8 else rng.choice(MODELS)
        at = day + timedelta(seconds=rng.randrange(86_400))
        kind = rng.random()
        self._refs += 1
        if kind < 0.55:
            ref: tuple[str | None, str | None] = ("conversation", f"c{self._refs}")
            turns = rng.randrange(2, 30)
            purposes = ["title"] + ["summary" if n % 10 == 9 else "chat" for n in range(turns)]
        elif kind < 0.85:
            ref = ("run", f"r{self._refs}")
            self.run_ids.append(f"r{self._refs}")
            purposes = ["prompt_run"] * rng.randrange(1, 7)
        else:
            ref, purposes = (None, None), ["workflow_run"]
        rows = []
        for purpose in purposes:
            rows.append(self._call(user, model, purpose, ref, at))
            at += timedelta(seconds=rng.randrange(5, 180))
        return rows

    def _call(
        self, user: int, model: str, purpose: str, ref: tuple[str | None, str | None], at: datetime
    ) -> Row:
        rng = self._rng
        self._requests += 1
        input_tokens, output_tokens = rng.randrange(100, 20_000), rng.randrange(10, 2_000)
        cost = input_tokens * 300 + output_tokens * 2_500
        return (
            f"{self._requests:032x}",
            user,
            purpose,
            *ref,
            "gemini",
            model,
            input_tokens,
            0,
            output_tokens,
            0,
            cost,
            cost,
            rng.randrange(200, 5_000),
            "ok",
            at.strftime("%Y-%m-%d %H:%M:%S.%f"),
        )


def seed_people(engine: Engine, now: datetime) -> list[int]:
    """The users, one prompt, and alerts; returns the user ids."""
    with engine.begin() as connection:
        connection.execute(
            insert(User),
            [{"email": f"bench-{i}@example.com", "created_at": now} for i in range(USERS)],
        )
        user_ids = list(connection.scalars(text("SELECT id FROM users ORDER BY id")))
        connection.execute(
            insert(Prompt),
            [
                {
                    "id": "p1",
                    "owner_id": user_ids[0],
                    "name": "Weekly pipeline review",
                    "description": "",
                    "shared": True,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        connection.execute(insert(BudgetAlert), list(_alerts(user_ids, now)))
    return user_ids


def _alerts(user_ids: list[int], now: datetime) -> Iterator[dict[str, Any]]:
    for n in range(5_000):
        user = user_ids[n % len(user_ids)]
        at = now - timedelta(hours=n)
        yield {
            "alert_key": f"bench:{n}",
            "scope": "user",
            "user_id": user,
            "window": "day",
            "window_label": at.date().isoformat(),
            "window_ends_at": at + timedelta(days=1),
            "metric": "usd",
            "threshold_pct": (50, 80, 100)[n % 3],
            "limit_value": 2_000_000_000,
            "value": 1_000_000_000,
            "created_at": at,
        }


def seed_runs(engine: Engine, run_ids: list[str], user_id: int, now: datetime) -> None:
    """Prompt runs for `run_ids` (the prompt each ran is what the Costs page names)."""
    rows = [
        {
            "id": run_id,
            "prompt_id": "p1",
            "version": 1,
            "user_id": user_id,
            "inputs": {},
            "output": "",
            "tokens": 0,
            "cost_nusd": 0,
            "created_at": now,
        }
        for run_id in run_ids
    ]
    with engine.begin() as connection:
        for offset in range(0, len(rows), CHUNK):
            connection.execute(insert(PromptRun), rows[offset : offset + CHUNK])


def load_ledger(engine: Engine, chunks: Iterator[list[Row]]) -> int:
    """Bulk-load ledger rows; returns how many."""
    loaded = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        postgres = engine.dialect.name == "postgresql"
        if not postgres:  # a throwaway bench file: no need to wait for the disk on commit
            cursor.execute("PRAGMA synchronous=OFF")
        # Only this module's column names go into the text.
        statement = (
            f"INSERT INTO usage_ledger ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        batch: list[Row] = []
        for rows in chunks:
            batch += rows
            if len(batch) >= CHUNK:
                _copy(cursor, batch) if postgres else cursor.executemany(statement, batch)
                raw.commit()
                loaded += len(batch)
                print(f"\r  loaded {loaded:,} ledger rows", end="", flush=True)
                batch = []
        if batch:
            _copy(cursor, batch) if postgres else cursor.executemany(statement, batch)
            raw.commit()
            loaded += len(batch)
        print()
    finally:
        raw.close()
    return loaded


def _copy(cursor: Any, rows: list[Row]) -> None:
    lines = "".join(
        "\t".join("\\N" if v is None else str(v) for v in row) + "+00\n" for row in rows
    )
    with cursor.copy(f"COPY usage_ledger ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        copy.write(lines)


def first_day(now: datetime) -> datetime:
    """Midnight UTC `DAYS - 1` days before `now`: the seeded year ends today."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return today - timedelta(days=DAYS - 1)
