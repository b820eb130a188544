"""Request stats, the command line, and the determinism of the demo seed."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from pyairtable import Api

from emulator import DEV_TOKEN
from emulator.seed import DEMO_BASE_IDS, seed_demo
from emulator.store import Store
from emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


def test_stats__count_per_base_and_route(api: Api, server: EmulatorServer) -> None:
    requests.post(f"{server.url}/_emulator/stats/reset", timeout=5)
    api.whoami()
    api.whoami()
    api.bases(force=True)
    stats = requests.get(f"{server.url}/_emulator/stats", timeout=5).json()
    assert stats["routes"]["GET /v0/meta/whoami"] == 2
    assert stats["routes"]["GET /v0/meta/bases"] == 1
    assert stats["total"] >= 3


def test_stats__bases_are_counted(demo: EmulatorServer, demo_api: Api) -> None:
    demo_api.table("appDemoInventory0", "Orders").first()
    stats = requests.get(f"{demo.url}/_emulator/stats", timeout=5).json()
    assert stats["bases"]["appDemoInventory0"] >= 1


def _same_store_contents(a: Store, b: Store) -> None:
    for base_id in DEMO_BASE_IDS:
        left, right = a.bases[base_id], b.bases[base_id]
        assert [t.to_api() for t in left.tables] == [t.to_api() for t in right.tables]
        for lt, rt in zip(left.tables, right.tables, strict=True):
            assert [(r.id, r.created_time, r.cells) for r in lt.records.values()] == [
                (r.id, r.created_time, r.cells) for r in rt.records.values()
            ]


def test_seed__is_deterministic_and_fast() -> None:
    started = time.perf_counter()
    first = Store.open(":memory:")
    seed_demo(first)
    assert time.perf_counter() - started < 3
    second = Store.open(":memory:")
    seed_demo(second)
    _same_store_contents(first, second)
    counts = {t.name: len(t.records) for b in first.bases.values() for t in b.tables}
    assert counts["Tasks"] == 5000
    assert counts["Deals"] == 1500
    assert counts["Companies"] == 200
    assert counts["Contacts"] == 600
    assert counts["Products"] == 300
    assert counts["Suppliers"] == 30
    assert counts["Orders"] == 800
    assert counts["Projects"] == 40


def test_store__persists_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "emulator.db"
    with EmulatorServer(data=path, seed="demo") as server:
        api = Api(server.token, endpoint_url=server.url, retry_strategy=None)
        tasks = api.table("appDemoProjects00", "Tasks")
        created = tasks.create({"Name": "Persist me", "Assignee": "Ana"})
    with EmulatorServer(data=path, seed="demo") as server:  # seeding again is a no-op
        api = Api(server.token, endpoint_url=server.url, retry_strategy=None)
        tasks = api.table("appDemoProjects00", "Tasks")
        assert tasks.get(created["id"])["fields"]["Name"] == "Persist me"
        assert len(tasks.all(fields=["Name"])) == 5001


def test_cli__prints_the_url_and_serves(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--data",
        str(tmp_path / "d.db"),
        "--seed",
        "none",
        "--token",
        "patCLITOKEN:appX",
        "--token",
        "patOTHER",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert match, line
            url = match.group(0)
            assert requests.get(f"{url}/_emulator/health", timeout=5).text == "ok"
            ok = requests.get(
                f"{url}/v0/meta/bases", timeout=5, headers={"Authorization": "Bearer patOTHER"}
            )
            assert ok.json() == {"bases": []}
            dev = requests.get(
                f"{url}/v0/meta/bases", timeout=5, headers={"Authorization": f"Bearer {DEV_TOKEN}"}
            )
            assert dev.status_code == 401
        finally:
            proc.terminate()
            proc.wait(timeout=10)
