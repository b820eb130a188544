"""Benchmark: sync throughput against Airtable's limits, and incremental-run requests.

A local emulator in its own process stands in for Airtable; the app paces its requests as
it would for Airtable (5 a second per base). SQL is a SQLite file. Three measurements:

1. Initial sync Airtable → SQL of N records (a both-way job, SQL side empty): rows/s
   against Airtable's read limit, 500 rows/s (5 requests of 100 records).
2. Initial sync SQL → Airtable of N rows (another both-way job, Airtable side empty):
   rows/s against the write limit, 50 rows/s (5 requests of 10 records).
3. Incremental run of job 1 after 1% of the records changed (half in Airtable, half in
   SQL): its Airtable requests against the fewest possible (pages of 100 to read what
   changed in Airtable, batches of 10 to write what changed in SQL); the ratio is
   minimum / used.

Target: every ratio at least 0.8. Work checks: both sides hold N equal records after each
initial sync, and every change of the incremental run is on the other side.
Run it with ``python -m bench.sync [--rows N]``; exit status 1 on a miss.
"""

from __future__ import annotations

import argparse
import math
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
import sqlalchemy as sa
from pyairtable import Api
from pydantic import SecretStr

from bench.parts.stack import bench_services
from bench.report import Check, finish
from config.settings import load_settings
from emulator import DEV_TOKEN
from services.container import Services
from services.orm import Role
from services.sync.types import FieldMapping, JobSpec, RunSummary

TARGET = 0.8
READ_LIMIT = 500.0  # rows/s: 5 requests/s of 100 records
WRITE_LIMIT = 50.0  # rows/s: 5 requests/s of 10 records
FIELDS = [
    {"name": "Name", "type": "singleLineText"},
    {"name": "Qty", "type": "number", "options": {"precision": 0}},
]


@contextmanager
def _emulator(tmp: Path) -> Iterator[str]:
    """The emulator in its own process, so its work does not share our interpreter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", str(port), "--seed", "none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_emulator/health", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def _services(tmp: Path, airtable_url: str) -> Iterator[Services]:
    settings = load_settings(
        var_dir=tmp,
        database_url=f"sqlite:///{tmp / 'app.db'}",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        airtable_endpoint_url=airtable_url,
        airtable_token=SecretStr(DEV_TOKEN),
        sync_full_scan_every_runs=1000,
    )
    with bench_services(settings) as services:
        yield services


def _sql_table(engine: sa.Engine, name: str) -> sa.Table:
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("airtable_id", sa.String(20), unique=True),
        sa.Column("name", sa.Text),
        sa.Column("qty", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    table.create(engine)
    return table


def _spec(base_id: str, table_id: str, fields: dict[str, str], sql_table: str) -> JobSpec:
    return JobSpec(
        name=f"bench {sql_table}",
        base_id=base_id,
        table_id=table_id,
        sql_table=sql_table,
        sql_key_column="id",
        mappings=(
            FieldMapping(fields["Name"], "name", "text"),
            FieldMapping(fields["Qty"], "qty", "number"),
        ),
        policy="airtable_wins",
        delete_rule="propagate",
        every_seconds=3600,
        enabled=False,
        sql_url="",
    )


def _timed(services: Services, job_id: str, run_id: str) -> tuple[RunSummary, float]:
    started = time.perf_counter()
    summary = services.sync.run(job_id, run_id, "manual")
    return summary, time.perf_counter() - started


def run(rows: int) -> list[Check]:
    checks: list[Check] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _emulator(Path(tmp)) as url,
        _services(Path(tmp), url) as services,
    ):
        api = Api(DEV_TOKEN, endpoint_url=url, retry_strategy=None)
        base = api.create_base(
            "wspBench",
            "Sync bench",
            [{"name": "Source", "fields": FIELDS}, {"name": "Target", "fields": FIELDS}],
        )
        schema = base.schema()
        source, target = schema.table("Source"), schema.table("Target")
        fields_a = {f.name: f.id for f in source.fields}
        fields_b = {f.name: f.id for f in target.fields}
        api.table(base.id, source.id).batch_create(
            [{"Name": f"A {i}", "Qty": i} for i in range(rows)]
        )
        engine = services.engine
        table_a, table_b = _sql_table(engine, "bench_a"), _sql_table(engine, "bench_b")
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(table_b),
                [{"name": f"S {i}", "qty": i, "updated_at": now} for i in range(rows)],
            )
        admin = services.accounts.register(
            email="bench@example.com",
            password="bench horse battery staple",  # noqa: S106
        )
        if not admin.is_admin:
            admin = services.accounts.promote(admin.email)
        assert admin.role == Role.ADMIN.value
        job_a = services.sync_jobs.create(admin, _spec(base.id, source.id, fields_a, "bench_a"))
        job_b = services.sync_jobs.create(admin, _spec(base.id, target.id, fields_b, "bench_b"))

        read, read_s = _timed(services, job_a.id, "a-initial")
        read_rate = rows / read_s
        print(
            f"initial Airtable → SQL: {rows} rows in {read_s:.1f} s = {read_rate:.0f} rows/s, "
            f"{read_rate / READ_LIMIT:.2f} of {READ_LIMIT:.0f} rows/s; {read.requests} requests"
        )
        with engine.connect() as conn:
            in_sql = conn.execute(sa.select(sa.func.count()).select_from(table_a)).scalar_one()
        checks.append(Check(f"Airtable → SQL copied {in_sql} of {rows} rows", in_sql == rows))
        checks.append(
            Check(
                f"read rate {read_rate / READ_LIMIT:.2f} of the limit ≥ {TARGET}",
                read_rate / READ_LIMIT >= TARGET,
            )
        )

        write, write_s = _timed(services, job_b.id, "b-initial")
        write_rate = rows / write_s
        print(
            f"initial SQL → Airtable: {rows} rows in {write_s:.1f} s = {write_rate:.1f} rows/s, "
            f"{write_rate / WRITE_LIMIT:.2f} of {WRITE_LIMIT:.0f} rows/s; "
            f"{write.requests} requests"
        )
        in_airtable = len(api.table(base.id, target.id).all(fields=[fields_b["Name"]]))
        checks.append(
            Check(f"SQL → Airtable created {in_airtable} of {rows} records", in_airtable == rows)
        )
        checks.append(
            Check(
                f"write rate {write_rate / WRITE_LIMIT:.2f} of the limit ≥ {TARGET}",
                write_rate / WRITE_LIMIT >= TARGET,
            )
        )

        settle, _ = _timed(services, job_a.id, "a-settle")
        print(f"settling run (re-reads the SQL rows the first run wrote): {settle.requests} req")
        checks += _incremental(services, api, base.id, source.id, fields_a, table_a, job_a.id)
    return checks


def _incremental(
    services: Services,
    api: Api,
    base_id: str,
    table_id: str,
    fields: dict[str, str],
    table: sa.Table,
    job_id: str,
) -> list[Check]:
    engine = services.engine
    with engine.connect() as conn:
        pairs = conn.execute(sa.select(table.c.id, table.c.airtable_id).order_by(table.c.id)).all()
    changed = max(2, len(pairs) // 100)
    in_airtable, in_sql = pairs[: changed // 2], pairs[changed // 2 : changed]
    api.table(base_id, table_id).batch_update(
        [{"id": rid, "fields": {fields["Name"]: f"changed {rid}"}} for _, rid in in_airtable]
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for key, _ in in_sql:
            conn.execute(sa.update(table).where(table.c.id == key).values(qty=-key, updated_at=now))
    summary, seconds = _timed(services, job_id, "a-incremental")
    minimum = math.ceil(len(in_airtable) / 100) + math.ceil(len(in_sql) / 10)
    ratio = minimum / max(summary.requests, 1)
    print(
        f"incremental, {changed} rows changed: {summary.requests} Airtable requests "
        f"(fewest possible {minimum}) = {ratio:.2f}; {seconds:.1f} s"
    )
    records = {r["id"]: r["fields"] for r in api.table(base_id, table_id).all(use_field_ids=True)}
    with engine.connect() as conn:
        names = dict(conn.execute(sa.select(table.c.airtable_id, table.c.name)).all())
    to_sql = sum(names[rid] == f"changed {rid}" for _, rid in in_airtable)
    to_airtable = sum(records[rid].get(fields["Qty"]) == -key for key, rid in in_sql)
    print(
        f"  {to_sql} of {len(in_airtable)} Airtable edits in SQL, "
        f"{to_airtable} of {len(in_sql)} SQL edits in Airtable"
    )
    synced = to_sql == len(in_airtable) and to_airtable == len(in_sql)
    return [
        Check(f"incremental run carried all {changed} changes across", synced),
        Check(f"incremental requests ratio {ratio:.2f} ≥ {TARGET}", ratio >= TARGET),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="rows each way (20000)")
    args = parser.parse_args()
    sys.exit(finish(run(args.rows)))


if __name__ == "__main__":
    main()
