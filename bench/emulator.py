"""Benchmark: paging through the 5,000 demo tasks with pyairtable.

Starts the emulator in-process (a thread) on a demo-seeded SQLite file in a temporary
directory, then times ``table.all()`` from the client and reads the time spent inside
the server for every page from the ``Server-Timing`` header. Run it with
``python -m bench.emulator`` (or ``python bench/emulator.py``). Target: the server's
median overhead per 100-record page under 5 ms. It also checks the work: each case returns
the records a plain Python filter and sort of the full table give (count and order), in
pages of at most 100. Exit status 1 when a target or a check is missed.
"""

import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a file, this script's own directory comes first on sys.path and its name
    # would shadow the ``emulator`` package; put the repository root there instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
from pyairtable import Api, Table

from bench.report import Check, finish, percentile
from emulator.testing import EmulatorServer

TARGET_MS = 5.0
RUNS = 3


def _server_ms(response: requests.Response) -> float:
    header = response.headers.get("Server-Timing", "")
    return float(header.split("dur=", 1)[1]) if "dur=" in header else float("nan")


def _measure(
    table: Table, timings: list[float], **options: Any
) -> tuple[float, list[str], list[float]]:
    """Best-of-RUNS wall time of ``table.all(**options)``, record ids, per-page server ms."""
    walls, pages = [], []
    ids: list[str] = []
    for _ in range(RUNS):
        timings.clear()
        started = time.perf_counter()
        ids = [r["id"] for r in table.all(**options)]
        walls.append(time.perf_counter() - started)
        pages.extend(timings)
    return min(walls), ids, pages


Record = Mapping[str, Any]


def _expected_ids(records: Sequence[Record], case: str) -> list[str]:
    """What each case must return, by filtering and sorting every task in Python."""
    if case == "formula":
        chosen = [r for r in records if r["fields"].get("Assignee") == "Ana"]
        return [r["id"] for r in chosen if not r["fields"].get("Done")]
    if case == "view":
        open_tasks = [r for r in records if not r["fields"].get("Done")]
        return [r["id"] for r in sorted(open_tasks, key=_due)]
    if case == "sort":
        by_name = sorted(records, key=lambda r: str(r["fields"].get("Name", "")).casefold())
        return [r["id"] for r in sorted(by_name, key=_due, reverse=True)]
    return [r["id"] for r in records]


def _due(record: Record) -> str:
    # Airtable sorts empty cells first (and Python's sort is stable, so ties keep order).
    return str(record["fields"].get("Due Date") or "")


def main() -> None:
    """Run the benchmark, print a short table and exit 1 on any miss."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        server = EmulatorServer(data=Path(tmp) / "bench.db", seed="demo")
        seeded = time.perf_counter() - started
        with server:
            timings: list[float] = []
            api = Api(server.token, endpoint_url=server.url)
            api.session.hooks["response"].append(lambda r, *a, **k: timings.append(_server_ms(r)))
            tasks = api.table("appDemoProjects00", "Tasks")
            every_task = tasks.all()  # also the warm-up: connection, caches, formulas
            cases: list[tuple[str, str, dict[str, Any]]] = [
                ("all", "all 5,000 tasks", {}),
                (
                    "formula",
                    "formula: Ana, not done",
                    {"formula": "AND({Assignee}='Ana', NOT({Done}))"},
                ),
                ("view", "view: Open tasks", {"view": "Open tasks"}),
                ("sort", "sort: -Due Date, Name", {"sort": ["-Due Date", "Name"]}),
            ]
            rows = [(key, name, *_measure(tasks, timings, **opts)) for key, name, opts in cases]
            stats = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
    all_pages = rows[0][4]
    median = statistics.median(all_pages)
    print(f"Emulator benchmark (demo seed in {seeded:.2f} s, best of {RUNS} runs per case)")
    print(f"{'case':<24}{'records':>8}{'pages':>7}{'client s':>10}{'server ms/page':>16}{'p95':>8}")
    checks = [Check(f"all tasks read: {len(every_task)} = 5000", len(every_task) == 5000)]
    for key, name, wall, ids, pages in rows:
        per_run = len(pages) // RUNS
        print(
            f"{name:<24}{len(ids):>8}{per_run:>7}{wall:>10.3f}"
            f"{statistics.median(pages):>16.2f}{percentile(pages, 0.95):>8.2f}"
        )
        wanted = _expected_ids(every_task, key)
        checks.append(Check(f"{name}: the {len(wanted)} records, in order", ids == wanted))
        full_pages = -(-len(wanted) // 100)
        checks.append(Check(f"{name}: {full_pages} pages of <= 100", per_run == full_pages))
    print(
        f"server overhead per 100-record page: median {median:.2f} ms, p95 "
        f"{percentile(all_pages, 0.95):.2f} ms over {len(all_pages)} pages"
    )
    print(f"requests served: {stats['total']}")
    checks.append(
        Check(
            f"median server ms per page {median:.2f} < {TARGET_MS:.0f} "
            f"(ratio to target {median / TARGET_MS:.2f})",
            median < TARGET_MS,
        )
    )
    sys.exit(finish(checks))


if __name__ == "__main__":
    main()
