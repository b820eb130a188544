"""The mirror bench's 20 analytic queries on a small generated table: each one's answer
equals the one worked out from every record paged from the emulator."""

from __future__ import annotations

from pyairtable import Api

from bench.mirror import QUERIES, run_queries
from bench.parts.big_table import BASE_ID, TABLE, seed_big_table
from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from tests.integration.mirrors.conftest import mirror_loop
from tests.support.emulated import services_on


def test_bench_queries__answer_as_the_paged_records_do(settings: Settings) -> None:
    with EmulatorServer(seed="none") as server:
        seed_big_table(server.store, 1500)
        raw = Api(DEV_TOKEN, endpoint_url=server.url).table(BASE_ID, TABLE).all()
        records = [r["fields"] | {"id": r["id"]} for r in raw]
        with services_on(
            settings, server.url, mirror_default_bases=BASE_ID, mirror_query_max_rows=1000
        ) as built:
            mirror_loop(built).run_once()
            checks = run_queries(built, records, "SQLite")
    assert len(QUERIES) == 20
    assert [c.label for c in checks if not c.ok] == []
