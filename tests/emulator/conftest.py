"""Emulator servers on free ports, pyairtable clients and throw-away bases.

The demo server is shared by the whole session and only read; tests that write make
their own base on the empty server (``fresh_base``) so they stay independent.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyairtable import Api, Table

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer

from .bases import FreshBase, create_fresh_base

LIMITED_TOKEN = "patLIMITEDTOKEN.crm-only"


@pytest.fixture(scope="session")
def demo() -> Iterator[EmulatorServer]:
    """The demo bases; a second token may only use the Sales CRM."""
    tokens = {DEV_TOKEN: None, LIMITED_TOKEN: ["appDemoSalesCRM00"]}
    with EmulatorServer(seed="demo", tokens=tokens) as server:
        yield server


@pytest.fixture(scope="session")
def demo_api(demo: EmulatorServer) -> Api:
    return Api(DEV_TOKEN, endpoint_url=demo.url, retry_strategy=None)


@pytest.fixture(scope="session")
def tasks(demo_api: Api) -> Table:
    return demo_api.table("appDemoProjects00", "Tasks")


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """An empty server with short iterator lifetimes and a small body limit."""
    with EmulatorServer(iterator_ttl_seconds=1.0, max_body_bytes=64_000) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: EmulatorServer) -> Api:
    return Api(server.token, endpoint_url=server.url, retry_strategy=None)


@pytest.fixture
def fresh_base(api: Api) -> FreshBase:
    """A new base made through the Meta API (see :mod:`tests.emulator.bases`)."""
    return create_fresh_base(api)


@pytest.fixture
def make_server() -> Iterator[Callable[..., EmulatorServer]]:
    """Start extra servers with custom options; all are stopped after the test."""
    started: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        server = EmulatorServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
