"""Benchmark: a bulk fill of 5,000 records against Airtable's write limit.

Fills a single select field for 5,000 records with the fake model (`bench/parts/
fake_fill_model.py`) through the real path: the proposal (count and cost preview), then
the durable run in a DBOS worker in this process, the app pacing Airtable at its own
limit of 5 requests a second per base (the local emulator as Airtable). Airtable's write
limit is therefore 50 records/s (10 records a request); the baseline of the ratio.
Prints records/s from Confirm to the end of the run (queueing and the check for cells
filled since the preview included; the preview's own reading is before it), the
ratio to 50 records/s, and model calls per record. Targets: ratio >= 0.8, at most 0.25
model calls per record (select outputs share calls). Checks the work: every record has
an allowed option, the fill's change set lists each record once, the fake model answered
every record once. Run it with ``python -m bench.bulk_fill [--records N]``; exit 1 on a miss.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from pyairtable import Api
from pydantic import SecretStr
from sqlalchemy import func, select

from bench.parts.fake_fill_model import API_KEY, FakeFillModel
from bench.parts.stack import bench_services
from bench.report import Check, finish
from bench.workflows import _emulator
from config.settings import load_settings
from emulator import DEV_TOKEN
from services.airtable.orm import RecordChange
from services.bulk.planning import FillRequest
from services.bulk.store import FillStatus
from services.container import Services
from services.workflows.worker import build_worker, launch

WRITE_LIMIT = 50.0  # records/s: 5 requests a second per base, 10 records a request
TARGET_RATIO = 0.8
TARGET_CALLS_PER_RECORD = 0.25
OPTIONS = ["Positive", "Neutral", "Negative"]


@contextmanager
def _services(tmp: Path, airtable_url: str, model_url: str) -> Iterator[Services]:
    defaults = load_settings()
    settings = load_settings(
        var_dir=tmp,
        database_url=defaults.database_url or f"sqlite:///{tmp / 'bench.db'}",
        redis_key_prefix=f"bench{uuid.uuid4().hex[:8]}:",
        airtable_endpoint_url=airtable_url,
        airtable_token=SecretStr(DEV_TOKEN),
        airtable_requests_per_second=5,  # Airtable's own limit per base
        llm_provider="gemini",
        google_api_key=SecretStr(API_KEY),
        gemini_base_url=model_url,
        default_model="gemini-2.5-flash-lite",
        llm_max_retries=0,
        rate_user_requests_per_minute=100_000,
        rate_user_tokens_per_minute=1_000_000_000,
        workflow_queue_poll_seconds=0.05,
    )
    with bench_services(settings) as services:
        yield services


def _contacts(url: str, count: int) -> tuple[Api, str]:
    api = Api(DEV_TOKEN, endpoint_url=url, retry_strategy=None)
    choices = {"choices": [{"name": o} for o in OPTIONS]}
    base = api.create_base(
        "wspBench",
        "Bulk",
        [
            {
                "name": "Contacts",
                "fields": [
                    {"name": "Name", "type": "singleLineText"},
                    {"name": "Notes", "type": "multilineText"},
                    {"name": "Sentiment", "type": "singleSelect", "options": choices},
                ],
            }
        ],
    )
    moods = ["loved the demo", "asked for a refund", "will think about it"]
    api.table(base.id, "Contacts").batch_create(
        [
            {"Name": f"Contact {i:05d}", "Notes": f"Day {i}: the customer {moods[i % 3]}."}
            for i in range(count)
        ]
    )
    return api, base.id


def run(records: int) -> list[Check]:
    from dbos import DBOS

    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeFillModel(OPTIONS) as model,
        _emulator(Path(tmp)) as emulator_url,
        _services(Path(tmp), emulator_url, model.url) as services,
    ):
        api, base_id = _contacts(emulator_url, records)
        owner = services.accounts.register(
            email="bench@example.com",
            password="bench horse battery staple",  # noqa: S106
        )
        launch(services, build_worker(services), executor_id="bench")
        try:
            request = FillRequest(
                base_id=base_id,
                table="Contacts",
                field="Sentiment",
                sources=["Notes"],
                instruction="Classify the customer's sentiment.",
            )
            card = services.bulk_fills.propose(owner.id, request)
            started = time.perf_counter()
            services.bulk_fills.start(owner.id, card["fill_id"])
            while services.bulk_fills.store.row(card["fill_id"]).status not in (
                FillStatus.SUCCEEDED,
                FillStatus.FAILED,
                FillStatus.PAUSED,
            ):
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            info = services.bulk_fills.get(owner.id, card["fill_id"])
        finally:
            DBOS.destroy(destroy_registry=True)
        rows = api.table(base_id, "Contacts").all()
        with services.sql() as session:
            audited, distinct = session.execute(
                select(func.count(), func.count(func.distinct(RecordChange.record_id))).where(
                    RecordChange.change_set_id == card["fill_id"]
                )
            ).one()
    rate = info.filled / seconds
    ratio = rate / WRITE_LIMIT
    per_record = model.calls / max(info.filled, 1)
    cost = card["cost"]
    print(f"records: {records}, filled {info.filled} in {seconds:.1f} s ({info.status})")
    print(f"records/s: {rate:.1f} against Airtable's write limit of {WRITE_LIMIT:.0f}/s")
    print(f"ratio to the write limit: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"model calls: {model.calls}, {per_record:.3f} per record (target <= 0.25)")
    print(
        f"cost: ledger {info.cost_nusd / 1e9:.6f} USD, preview {cost['min']} .. {cost['max']} "
        f"(expected {cost['expected']})"
    )
    filled_ok = sum(r["fields"].get("Sentiment") in OPTIONS for r in rows)
    return [
        Check(f"ratio to the write limit {ratio:.2f} >= {TARGET_RATIO}", ratio >= TARGET_RATIO),
        Check(
            f"model calls per record {per_record:.3f} <= {TARGET_CALLS_PER_RECORD}",
            per_record <= TARGET_CALLS_PER_RECORD,
        ),
        Check(f"{filled_ok} of {records} records hold an allowed option", filled_ok == records),
        Check(
            f"the change set lists {distinct} records once each ({audited} rows)",
            audited == distinct == records,
        ),
        Check(
            f"the fake model answered {model.records} records once each",
            model.records == records,
        ),
        Check(
            "the ledger cost is within the preview",
            cost["min_nusd"] <= info.cost_nusd <= cost["max_nusd"],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    return finish(run(args.records))


if __name__ == "__main__":
    sys.exit(main())
