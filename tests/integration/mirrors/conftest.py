"""Mirrors over the emulator: demo bases mirrored once per module, and services per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyairtable import Api
from sqlalchemy import delete

from config.settings import load_settings
from emulator import DEV_TOKEN
from emulator.seed import DEMO_BASE_IDS
from emulator.testing import EmulatorServer
from services.container import Services
from services.mirrors.orm import MirrorBase, MirrorTable
from services.mirrors.runner import MirrorLoop
from tests.support.emulated import services_on


def mirror_loop(services: Services, *, sweep_seconds: float = 0.0) -> MirrorLoop:
    """The worker's loop without DBOS (builds run in the calling thread)."""
    return MirrorLoop(
        services.mirrors,
        services.mirror_sync,
        services.mirrors.registry,
        build=None,
        sweep_seconds=sweep_seconds,
        scan_seconds=services.settings.mirror_scan_seconds,
    )


def clear_mirrors(services: Services) -> None:
    with services.sql.begin() as session:
        session.execute(delete(MirrorTable))
        session.execute(delete(MirrorBase))


@pytest.fixture(scope="module")
def demo_mirrors(
    sql_url: str,
    redis_url: str,
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Services]:
    """Services whose mirrors of the three demo bases are built (read-only tests)."""
    settings = load_settings(
        database_url=sql_url,
        redis_url=redis_url,
        redis_key_prefix=f"t{uuid.uuid4().hex[:10]}:",
        var_dir=tmp_path_factory.mktemp("mirrors") / "var",
        llm_provider="none",
        mirror_default_bases=",".join(DEMO_BASE_IDS),
        mirror_query_timeout_seconds=1.0,
    )
    with services_on(settings, emulator.url) as built:
        clear_mirrors(built)
        mirror_loop(built).run_once()
        try:
            yield built
        finally:
            clear_mirrors(built)


@pytest.fixture(scope="module")
def raw_api(emulator: EmulatorServer) -> Api:
    """pyairtable straight at the emulator: the independent source of the expected facts."""
    return Api(DEV_TOKEN, endpoint_url=emulator.url)


def var_dir_of(services: Services) -> Path:
    return services.settings.var_dir
