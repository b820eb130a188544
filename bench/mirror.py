"""Benchmark: a table mirror at Airtable's pace, then analytic queries on it.

Seeds a generated table (100,000 rows by default, `--rows N` for a quick run) in an
in-process emulator, then builds its mirror through the paced gateway (Airtable's 5
requests/s per base) and prints the build's speed against Airtable's physical limit of
500 rows/s (5 requests/s x 100 rows): target at least 0.9 of it. Then runs 20 analytic
queries through `query_records`' service: each must answer in under 1 s and give the
same answer as every record paged from Airtable and computed here in plain Python. On
PostgreSQL too when `MIRROR_DATABASE_URL` or `DATABASE_URL` names one (that mirror is
filled without pacing: the build speed is measured once). Exit status 1 on any miss.
Run: `python -m bench.mirror [--rows N]`.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
from pyairtable import Api
from pydantic import SecretStr

from bench.parts.big_table import BASE_ID, TABLE, seed_big_table
from bench.report import Check, finish
from config.settings import Settings, load_settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services, build_services
from services.errors import AppError
from services.migrations import upgrade_database
from services.mirrors.runner import MirrorLoop
from services.redis_store import EmbeddedRedis

LIMIT_ROWS_PER_SECOND = 500.0  # Airtable: 5 requests/s per base x 100 records a page
BUILD_TARGET = 0.9
QUERY_TARGET_S = 1.0
Rows = list[dict[str, Any]]
Expect = Callable[[Rows], Any]


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _num(rows: Rows, field: str) -> list[float]:
    return [float(r[field]) for r in rows if r.get(field) is not None]


def _by(rows: Rows, *fields: str) -> dict[tuple[Any, ...], Rows]:
    groups: dict[tuple[Any, ...], Rows] = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(f) for f in fields)].append(row)
    return groups


QUERIES: list[tuple[str, str | dict[str, str], Expect]] = [
    ("count", 'SELECT COUNT(*) FROM "Events"', lambda r: [(len(r),)]),
    ("sum", 'SELECT SUM("Amount") FROM "Events"', lambda r: [(math.fsum(_num(r, "Amount")),)]),
    (
        "avg",
        'SELECT AVG("Quantity") FROM "Events"',
        lambda r: [(statistics.fmean(_num(r, "Quantity")),)],
    ),
    (
        "median",
        'SELECT median("Amount") FROM "Events"',
        lambda r: [(statistics.median(_num(r, "Amount")),)],
    ),
    (
        "p90",
        'SELECT PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY "Amount") FROM "Events"',
        lambda r: [(_pct(_num(r, "Amount"), 90),)],
    ),
    (
        "p25 per region",
        'SELECT "Region", PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY "Quantity") FROM "Events" '
        'GROUP BY "Region" ORDER BY "Region"',
        lambda r: [
            (k[0], _pct(_num(v, "Quantity"), 25)) for k, v in sorted(_by(r, "Region").items())
        ],
    ),
    (
        "distinct names",
        'SELECT COUNT(DISTINCT "Name") FROM "Events"',
        lambda r: [(len({x["Name"] for x in r}),)],
    ),
    (
        "count per category",
        'SELECT "Category", COUNT(*) FROM "Events" GROUP BY "Category" ORDER BY "Category"',
        lambda r: sorted(Counter(x["Category"] for x in r).items()),
    ),
    (
        "sum per category and region",
        'SELECT "Category", "Region", SUM("Amount") FROM "Events" GROUP BY 1, 2 ORDER BY 1, 2',
        lambda r: [
            (k[0], k[1], math.fsum(_num(v, "Amount")))
            for k, v in sorted(_by(r, "Category", "Region").items())
        ],
    ),
    (
        "done share per region",
        'SELECT "Region", 100.0 * SUM(CASE WHEN "Done" THEN 1 ELSE 0 END) / COUNT(*) '
        'FROM "Events" GROUP BY "Region" ORDER BY "Region"',
        lambda r: [
            (k[0], 100.0 * sum(1 for x in v if x.get("Done")) / len(v))
            for k, v in sorted(_by(r, "Region").items())
        ],
    ),
    (
        "amount x quantity per category",
        'SELECT "Category", SUM("Amount" * "Quantity") FROM "Events" GROUP BY 1 ORDER BY 1',
        lambda r: [
            (k[0], math.fsum(x["Amount"] * x["Quantity"] for x in v))
            for k, v in sorted(_by(r, "Category").items())
        ],
    ),
    (
        "nested logic",
        'SELECT COUNT(*) FROM "Events" WHERE ("Category" = \'Alpha\' OR "Region" = \'North\') '
        'AND NOT "Done" AND "Quantity" >= 10',
        lambda r: [
            (
                sum(
                    1
                    for x in r
                    if (x["Category"] == "Alpha" or x["Region"] == "North")
                    and not x.get("Done")
                    and x["Quantity"] >= 10
                ),
            )
        ],
    ),
    (
        "text match",
        'SELECT COUNT(*) FROM "Events" WHERE "Name" LIKE \'%42%\'',
        lambda r: [(sum(1 for x in r if "42" in x["Name"]),)],
    ),
    (
        "date range",
        'SELECT MIN("Date"), MAX("Date"), COUNT(*) FROM "Events" '
        "WHERE \"Date\" BETWEEN '2025-06-01' AND '2025-06-14'",
        lambda r: (lambda d: [(min(d), max(d), len(d))])(
            [x["Date"] for x in r if "2025-06-01" <= x["Date"] <= "2025-06-14"]
        ),
    ),
    (
        "per month",
        {
            "sqlite": 'SELECT strftime(\'%Y-%m\', "Date") AS m, COUNT(*) FROM "Events" '
            "GROUP BY m ORDER BY m",
            "postgres": 'SELECT to_char("Date", \'YYYY-MM\') AS m, COUNT(*) FROM "Events" '
            "GROUP BY m ORDER BY m",
        },
        lambda r: sorted(Counter(x["Date"][:7] for x in r).items()),
    ),
    (
        "top 10 amounts",
        'SELECT id, "Amount" FROM "Events" ORDER BY "Amount" DESC, id LIMIT 10',
        lambda r: [
            (x["id"], x["Amount"]) for x in sorted(r, key=lambda x: (-x["Amount"], x["id"]))[:10]
        ],
    ),
    (
        "tagged urgent",
        'SELECT COUNT(*) FROM "Events" WHERE "Tags" LIKE \'%urgent%\'',
        lambda r: [(sum(1 for x in r if "urgent" in x.get("Tags", [])),)],
    ),
    (
        "avg score per category",
        'SELECT "Category", AVG("Score") FROM "Events" GROUP BY 1 ORDER BY 1',
        lambda r: [
            (k[0], statistics.fmean(_num(v, "Score")))
            for k, v in sorted(_by(r, "Category").items())
        ],
    ),
    (
        "above average",
        'SELECT COUNT(*) FROM "Events" WHERE "Amount" > (SELECT AVG("Amount") FROM "Events")',
        lambda r: (lambda a: [(sum(1 for x in r if x["Amount"] > a),)])(
            statistics.fmean(_num(r, "Amount"))
        ),
    ),
    (
        "busiest region per category",
        'WITH c AS (SELECT "Category", "Region", COUNT(*) AS n, RANK() OVER (PARTITION BY '
        '"Category" ORDER BY COUNT(*) DESC, "Region") AS r FROM "Events" GROUP BY 1, 2) '
        'SELECT "Category", "Region", n FROM c WHERE r = 1 ORDER BY 1',
        lambda r: [
            (
                cat,
                *min(
                    (
                        (reg, len(v))
                        for (c, reg), v in _by(r, "Category", "Region").items()
                        if c == cat
                    ),
                    key=lambda t: (-t[1], t[0]),
                ),
            )
            for cat in sorted({x["Category"] for x in r})
        ],
    ),
]


def same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> bool:
    if len(got) != len(expected):
        return False
    for row, want in zip(got, expected, strict=True):
        if len(row) != len(want):
            return False
        for a, b in zip(row, want, strict=True):
            if isinstance(b, float) or isinstance(a, float):
                if a is None or not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif str(a) != str(b):
                return False
    return True


def _settings(tmp: Path, server: EmulatorServer, **updates: Any) -> Settings:
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade_database(url)
    return load_settings(
        database_url=url,
        var_dir=tmp / "var",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        llm_provider="none",
        airtable_endpoint_url=server.url,
        airtable_token=SecretStr(DEV_TOKEN),
        # Airtable's own window (the default 1.1 s keeps a 10% margin for clock drift).
        airtable_rate_window_ms=1000,
        mirror_default_bases=BASE_ID,
        mirror_query_max_rows=1000,
        **updates,
    )


def build(services: Services) -> float:
    """Seconds to build the mirror (the worker loop's pass, in this thread)."""
    loop = MirrorLoop(
        services.mirrors,
        services.mirror_sync,
        services.mirrors.registry,
        build=None,
        sweep_seconds=3600,
        scan_seconds=3600,
    )
    started = time.perf_counter()
    loop.run_once()
    return time.perf_counter() - started


def run_queries(services: Services, records: Rows, label: str) -> list[Check]:
    dialect = services.mirror_queries.dialect
    checks = []
    print(f"\n{label}: {'query':<32}{'ms':>8}  answer")
    for name, sql, expect in QUERIES:
        text = sql[dialect] if isinstance(sql, dict) else sql
        started = time.perf_counter()
        try:
            got = services.mirror_queries.run(0, BASE_ID, text).rows
        except AppError as exc:
            got = [("refused", str(exc))]
        seconds = time.perf_counter() - started
        expected = expect(records)
        ok = same(got, expected)
        verdict = "same" if ok else "DIFFERENT"
        print(f"{'':>{len(label) + 2}}{name:<32}{seconds * 1000:>8.1f}  {verdict}")
        if not ok:
            print(f"    got {got[:3]} expected {expected[:3]}")
        checks.append(
            Check(f"{label} {name}: {seconds:.3f} s < {QUERY_TARGET_S} s", seconds < QUERY_TARGET_S)
        )
        checks.append(Check(f"{label} {name}: same answer as paging Airtable", ok))
    return checks


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    checks: list[Check] = []
    # The emulator enforces Airtable's limit (5 requests/s per base, 429 and a 30 s penalty
    # past it), so a build that went faster than Airtable allows would be caught.
    # The expected answers page a second, identical emulator without the limit.
    with (
        tempfile.TemporaryDirectory() as tmp_dir,
        EmulatorServer(seed="none", rate_limit=True) as server,
        EmulatorServer(seed="none") as source,
    ):
        tmp = Path(tmp_dir)
        seed_big_table(server.store, args.rows)
        seed_big_table(source.store, args.rows)
        started = time.perf_counter()
        raw = Api(DEV_TOKEN, endpoint_url=source.url).table(BASE_ID, TABLE).all()
        paged = time.perf_counter() - started
        records = [r["fields"] | {"id": r["id"]} for r in raw]
        print(
            f"Mirror bench: {len(records):,} rows; unpaced paging of the emulator {paged:.1f} s; "
            f"Airtable at 5 requests/s would take {len(records) / LIMIT_ROWS_PER_SECOND:.0f} s"
        )
        services = build_services(_settings(tmp, server))
        try:
            seconds = build(services)
            state = services.mirrors.registry.tables(BASE_ID)[0]
            rate = state.rows / seconds
            ratio = rate / LIMIT_ROWS_PER_SECOND
            print(
                f"build: {state.rows:,} rows in {seconds:.1f} s = {rate:.0f} rows/s; "
                f"{ratio:.3f} of Airtable's limit ({LIMIT_ROWS_PER_SECOND:.0f} rows/s)"
            )
            checks.append(
                Check(
                    f"every row mirrored ({state.rows:,} of {len(records):,})",
                    state.rows == len(records) and state.status == "ready",
                )
            )
            checks.append(
                Check(
                    f"build speed {ratio:.3f} of Airtable's limit >= {BUILD_TARGET}",
                    ratio >= BUILD_TARGET,
                )
            )
            refused = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
            limited = refused["statuses"].get("429", 0)
            checks.append(
                Check(f"no request over Airtable's limit ({limited} answered 429)", limited == 0)
            )
            checks += run_queries(services, records, "SQLite")
            postgres = _postgres_url(services.settings)
        finally:
            services.close()
        if postgres:
            pg_services = build_services(  # filled unpaced from the unlimited emulator
                _settings(
                    tmp / "pg",
                    source,
                    mirror_database_url=postgres,
                    mirror_schema=f"bench_{uuid.uuid4().hex[:8]}",
                    airtable_requests_per_second=1000,
                    airtable_token_requests_per_second=1000,
                )
            )
            try:
                try:
                    build(pg_services)
                except AppError:  # the unpaced fill can outrun a loaded emulator: once more
                    for state in pg_services.mirrors.registry.tables(BASE_ID):
                        pg_services.mirror_sync.copy(BASE_ID, state.table_id)
                checks += run_queries(pg_services, records, "PostgreSQL")
            finally:
                pg_services.close()
        else:
            print("\nPostgreSQL: not configured (set MIRROR_DATABASE_URL or DATABASE_URL)")
        EmbeddedRedis(tmp / "var").stop()
    sys.exit(finish(checks))


def _postgres_url(settings: Settings) -> str | None:
    if settings.mirror_url:
        return settings.mirror_url
    configured = load_settings()
    if configured.mirror_url:
        return configured.mirror_url
    if configured.database_url and configured.sql_url.startswith("postgresql"):
        return configured.sql_url
    return None


if __name__ == "__main__":
    main(sys.argv[1:])
