"""Benchmark: paging through the 5,000 demo tasks with pyairtable.

Starts the emulator in-process (a thread) on a demo-seeded SQLite file in a temporary
directory, then times ``table.all()`` from the client and reads the time spent inside
the server for every page from the ``Server-Timing`` header. Run it with
``python -m bench.emulator`` (or ``python bench/emulator.py``). Target: the server's
median overhead per 100-record page under 5 ms.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a file, this script's own directory comes first on sys.path and its name
    # would shadow the ``emulator`` package; put the repository root there instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
from pyairtable import Api, Table

from emulator.testing import EmulatorServer

TARGET_MS = 5.0
RUNS = 3


def _server_ms(response: requests.Response) -> float:
    header = response.headers.get("Server-Timing", "")
    return float(header.split("dur=", 1)[1]) if "dur=" in header else float("nan")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _measure(table: Table, timings: list[float], **options: Any) -> tuple[float, int, list[float]]:
    """Best-of-RUNS wall time of ``table.all(**options)``, record count, per-page server ms."""
    walls, pages = [], []
    count = 0
    for _ in range(RUNS):
        timings.clear()
        started = time.perf_counter()
        count = len(table.all(**options))
        walls.append(time.perf_counter() - started)
        pages.extend(timings)
    return min(walls), count, pages


def main() -> int:
    """Run the benchmark and print a short table."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        server = EmulatorServer(data=Path(tmp) / "bench.db", seed="demo")
        seeded = time.perf_counter() - started
        with server:
            timings: list[float] = []
            api = Api(server.token, endpoint_url=server.url)
            api.session.hooks["response"].append(lambda r, *a, **k: timings.append(_server_ms(r)))
            tasks = api.table("appDemoProjects00", "Tasks")
            tasks.all()  # warm-up: connection, caches, first compile of formulas
            cases: list[tuple[str, dict[str, Any]]] = [
                ("all 5,000 tasks", {}),
                ("formula: Ana, not done", {"formula": "AND({Assignee}='Ana', NOT({Done}))"}),
                ("view: Open tasks", {"view": "Open tasks"}),
                ("sort: -Due Date, Name", {"sort": ["-Due Date", "Name"]}),
            ]
            rows = [(name, *_measure(tasks, timings, **options)) for name, options in cases]
            stats = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
    all_pages = rows[0][3]
    median = statistics.median(all_pages)
    print(f"Emulator benchmark (demo seed in {seeded:.2f} s, best of {RUNS} runs per case)")
    print(f"{'case':<24}{'records':>8}{'pages':>7}{'client s':>10}{'server ms/page':>16}{'p95':>8}")
    for name, wall, count, pages in rows:
        per_run = len(pages) // RUNS
        print(
            f"{name:<24}{count:>8}{per_run:>7}{wall:>10.3f}"
            f"{statistics.median(pages):>16.2f}{_p95(pages):>8.2f}"
        )
    print(
        f"server overhead per 100-record page: median {median:.2f} ms, p95 "
        f"{_p95(all_pages):.2f} ms over {len(all_pages)} pages"
    )
    print(
        f"ratio to the {TARGET_MS:.0f} ms target: {median / TARGET_MS:.2f} "
        f"({'met' if median < TARGET_MS else 'NOT met'})"
    )
    print(f"requests served: {stats['total']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
