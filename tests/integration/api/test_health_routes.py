import httpx
import pytest

from tests.support.appserver import AppServer

pytestmark = pytest.mark.e2e


def test_health__answers_ok(app_server: AppServer) -> None:
    response = httpx.get(f"{app_server.url}/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready__checks_both_stores(app_server: AppServer) -> None:
    response = httpx.get(f"{app_server.url}/api/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
