"""The status page in Chromium, and what it says when Redis stops."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from config.settings import load_settings
from services.container import Services, build_services
from services.orm import Role
from services.redis_store import EmbeddedRedis
from tests.support.accounts import make_user, sign_in
from tests.support.appserver import AppServer, run_app_server

pytestmark = pytest.mark.e2e
ERROR_ELEMENTS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@pytest.fixture
def embedded_app(
    sql_url: str, tmp_path: Path
) -> Iterator[tuple[AppServer, EmbeddedRedis, Services]]:
    """An app on the embedded Redis default, which the test may stop."""
    env = {"DATABASE_URL": sql_url, "REDIS_URL": "", "VAR_DIR": str(tmp_path)}
    embedded = EmbeddedRedis(tmp_path)
    services = build_services(load_settings(database_url=sql_url, var_dir=tmp_path))
    try:
        with run_app_server(env, tmp_path / "server.log") as server:
            yield server, embedded, services
    finally:
        services.close()
        embedded.stop()


def test_status_page__renders_without_errors(
    app_server: AppServer, app_services: Services, page: Page
) -> None:
    admin = make_user(app_services, role=Role.ADMIN)
    sign_in(page, app_server.url, admin.email)
    page.goto(f"{app_server.url}/status")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    for label in ("Database", "Redis", "Airtable", "Language model"):
        expect(page.get_by_role("heading", name=re.compile(f"{label}$"))).to_be_visible()
    expect(page.get_by_text("GOOGLE_API_KEY", exact=False)).to_be_visible()
    assert page.locator(ERROR_ELEMENTS).count() == 0


def test_ready__names_redis_and_the_page_says_so_when_redis_stops(
    embedded_app: tuple[AppServer, EmbeddedRedis, Services], page: Page
) -> None:
    server, embedded, services = embedded_app
    assert httpx.get(f"{server.url}/api/health").status_code == 200
    assert httpx.get(f"{server.url}/api/ready").status_code == 200
    admin = make_user(services, role=Role.ADMIN)
    sign_in(page, server.url, admin.email)
    page.goto(f"{server.url}/status")
    expect(page.get_by_text("embedded Redis (var/): connected")).to_be_visible()

    embedded.stop()

    response = httpx.get(f"{server.url}/api/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]
    page.reload()
    # Sessions live in Redis: with Redis down the app cannot know who this is, and says so.
    expect(page.get_by_text("Redis cannot be reached.", exact=False)).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Start Redis or set REDIS_URL")).to_be_visible()
    assert page.locator(ERROR_ELEMENTS).count() == 0
