"""Benchmark: every query of the usage and cost pages over ten million ledger rows.

Seeds a year of calls (bench/parts/cost_seed.py) into a fresh SQLite file, and, when
`DATABASE_URL` is set, into a freshly created PostgreSQL database dropped afterwards; both
are migrated like production and the rollup is built by `rollup.rebuild` (what
`manage.py rollup rebuild` runs). Then times each query the Usage and Costs pages make
(reports over the default period and the longest allowed, owners, prompt names, users,
alerts, budgets, limits and spend) and, for each report, the same report summed over the
raw ledger (bench/parts/ledger_reports.py) as the baseline: it prints the ratio and checks the
two answers are equal. Exits 1 when a query's median is 100 ms or more, or any answer
differs. Run it with ``python -m bench.cost_pages [--rows N] [--only sqlite|postgresql]``.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import make_url, text

from bench.parts import cost_seed, ledger_reports
from bench.parts.stack import bench_services
from config.settings import Settings, load_settings
from services.budget import reports, rollup
from services.budget.alerts import all_alerts, user_alerts
from services.budget.reports import DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS, day_range
from services.budget.usage import limits_and_spend
from services.container import Services
from services.db import create_db_engine
from services.prompts.runs import PromptRunStore

TARGET_MS = 100.0
REPEATS = 5


@dataclass(frozen=True)
class Query:
    """One query a page makes, and the raw-ledger query that must answer alike (if any)."""

    name: str
    run: Callable[[], object]
    baseline: Callable[[], object] | None = None


def page_queries(services: Services, user_id: int, today: datetime) -> list[Query]:
    """Each query the usage and cost pages run, over their default and longest period."""
    found: list[Query] = []
    sessions = services.sql
    for days in (DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS):
        start, end = day_range((today - timedelta(days=days - 1)).date(), today.date())
        org: dict[str, Any] = {"start": start, "end": end}
        mine = {**org, "user_id": user_id}
        for name, report, kwargs in (
            ("org by day", "spend_by_day", org),
            ("org by user", "spend_by_user", org),
            ("org by model", "spend_by_model", org),
            ("org by purpose", "spend_by_purpose", org),
            ("top conversations", "top_refs", {**org, "ref_type": "conversation"}),
            ("top prompt runs", "top_refs", {**org, "ref_type": "run"}),
            ("my usage by day", "spend_by_day", mine),
            ("my usage by model", "spend_by_model", mine),
            ("my usage by purpose", "spend_by_purpose", mine),
        ):
            found.append(
                Query(
                    f"{name}, {days}d",
                    _call(getattr(reports, report), sessions, **kwargs),
                    _call(getattr(ledger_reports, report), sessions, **kwargs),
                )
            )
    return found + _lookups(services, user_id, today)


def _call(function: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[[], object]:
    return lambda: function(*args, **kwargs)


def _lookups(services: Services, user_id: int, today: datetime) -> list[Query]:
    """What the Costs page looks up for the rows it shows, and the rest of both pages."""
    sessions = services.sql
    start, end = day_range((today - timedelta(days=MAX_REPORT_DAYS - 1)).date(), today.date())
    span: dict[str, Any] = {"start": start, "end": end}
    conversations = [r.ref_id for r in reports.top_refs(sessions, ref_type="conversation", **span)]
    runs = [r.ref_id for r in reports.top_refs(sessions, ref_type="run", **span)]
    guard = services.budget_guard
    owners = {"ref_type": "conversation", "ref_ids": conversations}
    return [
        Query(
            "conversation owners",
            _call(reports.ref_owners, sessions, **owners),
            _call(ledger_reports.ref_owners, sessions, **owners),
        ),
        Query(
            "prompt run owners",
            _call(reports.ref_owners, sessions, ref_type="run", ref_ids=runs),
            _call(ledger_reports.ref_owners, sessions, ref_type="run", ref_ids=runs),
        ),
        Query("prompt names", _call(PromptRunStore(sessions).prompt_names, runs)),
        Query("user list", services.accounts.list_users),
        Query("all alerts", _call(all_alerts, sessions, limit=50)),
        Query("my alerts", _call(user_alerts, sessions, user_id, limit=20)),
        Query("user budget", _call(guard.budgets.get_user_budget, user_id)),
        Query("org budget", guard.budgets.get_org_budget),
        Query("limits and spend", _call(limits_and_spend, guard, user_id)),
    ]


@dataclass(frozen=True)
class Timing:
    name: str
    median_ms: float
    worst_ms: float
    baseline_ms: float | None
    same: bool


def time_query(query: Query) -> Timing:
    """Median and worst of `REPEATS` runs after a warm-up; the baseline once, compared."""
    answer = query.run()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        query.run()
        times.append((time.perf_counter() - started) * 1000)
    baseline_ms, same = None, True
    if query.baseline is not None:
        started = time.perf_counter()
        expected = query.baseline()
        baseline_ms = (time.perf_counter() - started) * 1000
        same = answer == expected
    return Timing(query.name, statistics.median(times), max(times), baseline_ms, same)


@contextmanager
def backend(label: str, tmp: Path, database_url: str) -> Iterator[Services]:
    """Migrated services on `database_url` (and `REDIS_URL` or an embedded Redis)."""
    settings: Settings = load_settings(
        var_dir=tmp,
        database_url=database_url,
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
    )
    with bench_services(settings) as services:
        yield services
    print(f"{label}: done")


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """The URL of a new database on the server at `server_url`, dropped afterwards."""
    name = f"bench_costs_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(services: Services, rows: int, now: datetime) -> int:
    """Users, alerts, `rows` ledger rows, the rollup and prompt runs; a busy user's id."""
    engine = services.engine
    user_ids = cost_seed.seed_people(engine, now)
    calls = cost_seed.Calls(
        user_ids, first_day=cost_seed.first_day(now), per_day=rows // cost_seed.DAYS
    )
    started = time.perf_counter()
    loaded = cost_seed.load_ledger(engine, calls.days(cost_seed.DAYS))
    print(f"  loaded {loaded:,} ledger rows in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    days, refs = rollup.rebuild(engine)
    print(
        f"  rollup rebuilt in {time.perf_counter() - started:.0f} s: "
        f"{days:,} day rows, {refs:,} reference rows"
    )
    cost_seed.seed_runs(engine, calls.run_ids, user_ids[0], now)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return user_ids[0]


def bench(label: str, services: Services, rows: int) -> bool:
    """Seed, time and print one backend; True when every query met the target alike."""
    now = datetime.now(UTC)
    print(f"{label}: seeding {rows:,} ledger rows")
    user_id = seed(services, rows, now)
    results = [time_query(q) for q in page_queries(services, user_id, now)]
    print(f"  {'query':28} {'median ms':>10} {'worst ms':>9} {'raw ms':>9} {'ratio':>7} same")
    for r in results:
        raw = f"{r.baseline_ms:9.1f}" if r.baseline_ms is not None else f"{'-':>9}"
        ratio = f"{r.median_ms / r.baseline_ms:7.3f}" if r.baseline_ms else f"{'-':>7}"
        flag = "" if r.median_ms < TARGET_MS else "  OVER TARGET"
        same = "yes" if r.same else "NO"
        print(f"  {r.name:28} {r.median_ms:10.1f} {r.worst_ms:9.1f} {raw} {ratio} {same}{flag}")
    return all(r.median_ms < TARGET_MS and r.same for r in results)


def run_backend(label: str, tmp: Path, database_url: str, rows: int) -> bool:
    with backend(label, tmp, database_url) as services:
        return bench(label, services, rows)


def run_postgres(rows: int) -> bool:
    settings = load_settings()
    if not settings.database_url:
        print("PostgreSQL: skipped (DATABASE_URL is not set)")
        return True
    with tempfile.TemporaryDirectory() as tmp, postgres_database(settings.sql_url) as url:
        return run_backend("PostgreSQL", Path(tmp), url, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--only", choices=["sqlite", "postgresql"], help="run one backend (default: both)"
    )
    args = parser.parse_args()
    ok = True
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'costs.db'}"
            ok &= run_backend("SQLite", Path(tmp), db, args.rows)
    if args.only != "sqlite":
        ok &= run_postgres(args.rows)
    verdict = "OK" if ok else "MISSED"
    print(f"target: every query's median < {TARGET_MS:.0f} ms, answers equal: {verdict}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
