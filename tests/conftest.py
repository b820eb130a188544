"""Fixtures shared by every suite: real SQL, real Redis, the app server and a browser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from pydantic import SecretStr
from sqlalchemy import delete

from config.settings import Settings, load_settings
from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.container import Services, build_services
from services.orm import Base
from tests.support.appserver import AppServer, run_app_server
from tests.support.browser import launch_chromium
from tests.support.stores import delete_prefixed_keys, redis_server, sql_database


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests share one xdist worker (`--dist loadgroup`): two Chromiums and two
    Streamlit servers at once on a small machine make timing-sensitive pages flaky, while
    the other worker runs everything else."""
    browser = pytest.mark.xdist_group("browser")
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(browser)


@pytest.fixture(scope="session")
def sql_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sql_database(tmp_path_factory.mktemp("sql")) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def settings(sql_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=sql_url,
        redis_url=redis_url,
        redis_key_prefix=f"t{uuid.uuid4().hex[:10]}:",
        var_dir=tmp_path / "var",
        llm_provider="none",
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    try:
        yield built
    finally:
        delete_prefixed_keys(built.redis, settings.redis_key_prefix)
        with built.sql.begin() as session:
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(delete(table))
        built.close()


# Tokens the shared emulator accepts: the dev token (every base) and one limited to a base.
USER_PAT = "patTESTUSER0000001.secretpart0000000000000000000000000001"
LIMITED_PAT = "patTESTLIMITED0001.secretpart0000000000000000000000000002"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One seeded emulator per test session, over real HTTP (tests that write make bases)."""
    tokens = {DEV_TOKEN: None, USER_PAT: None, LIMITED_PAT: [PROJECT_TRACKER_ID]}
    with EmulatorServer(seed="demo", tokens=tokens) as server:
        yield server


@pytest.fixture
def airtable_settings(settings: Settings, emulator: EmulatorServer) -> Settings:
    """`settings` pointed at the shared emulator as if it were Airtable, with an org token."""
    return settings.model_copy(
        update={"airtable_endpoint_url": emulator.url, "airtable_token": SecretStr(DEV_TOKEN)}
    )


@pytest.fixture(scope="session")
def app_server(
    sql_url: str,
    redis_url: str,
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:
    var_dir = tmp_path_factory.mktemp("app-var")
    env = {
        "DATABASE_URL": sql_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"e2e{uuid.uuid4().hex[:8]}:",
        "VAR_DIR": str(var_dir),
        "LLM_PROVIDER": "none",
        "AIRTABLE_ENDPOINT_URL": emulator.url,
        "AIRTABLE_TOKEN": DEV_TOKEN,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # webhook tests send to local receivers
    }
    with run_app_server(env, var_dir / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def app_settings(app_server: AppServer) -> Settings:
    """Settings equal to the app server's, so a test can arrange state it will see."""
    return app_server.settings(llm_provider="none")


@pytest.fixture(scope="session")
def app_services(app_settings: Settings) -> Iterator[Services]:
    built = build_services(app_settings)
    yield built
    built.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running on this thread while
    # it is open, which would break later asyncio tests in the same session.
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()
