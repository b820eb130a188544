"""Auth, permissions, unknown routes, bad JSON and body limits."""

import pytest
import requests
from pyairtable import Api

from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer

from .conftest import LIMITED_TOKEN
from .http_errors import error_of


def test_auth__missing_or_unknown_token_is_401(demo: EmulatorServer) -> None:
    url = f"{demo.url}/v0/appDemoProjects00/Tasks"
    assert requests.get(url, timeout=10).json() == {
        "error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}
    }
    api = Api("patNOTATOKEN", endpoint_url=demo.url, retry_strategy=None)
    with pytest.raises(requests.HTTPError) as exc:
        api.table("appDemoProjects00", "Tasks").first()
    assert error_of(exc)[0] == 401


def test_auth__restricted_token_gets_403_elsewhere(demo: EmulatorServer) -> None:
    api = Api(LIMITED_TOKEN, endpoint_url=demo.url, retry_strategy=None)
    assert api.table("appDemoSalesCRM00", "Deals").first() is not None
    with pytest.raises(requests.HTTPError) as exc:
        api.table("appDemoProjects00", "Tasks").first()
    status, body = error_of(exc)
    assert status == 403
    assert body["error"]["type"] == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
    assert [b.id for b in api.bases()] == ["appDemoSalesCRM00"]


def test_unknown_base_and_route_are_bare_404(demo_api: Api, demo: EmulatorServer) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        demo_api.table("appNOPE000000000a", "Tasks").first()
    assert error_of(exc) == (404, {"error": "NOT_FOUND"})
    headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
    response = requests.get(f"{demo.url}/v0/a/b/c/d/e/f", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (404, {"error": "NOT_FOUND"})


def test_unknown_table_is_404(demo_api: Api) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        demo_api.table("appDemoProjects00", "Nope").first()
    status, body = error_of(exc)
    assert status == 404
    assert body["error"]["type"] == "TABLE_NOT_FOUND"


def test_bad_json_is_400(demo: EmulatorServer) -> None:
    response = requests.post(
        f"{demo.url}/v0/appDemoProjects00/Tasks",
        data=b"{not json",
        headers={"Authorization": f"Bearer {DEV_TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "INVALID_REQUEST_BODY"


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_422_not_a_server_error(demo: EmulatorServer, depth: int) -> None:
    body = '{"fields": {"Name": ' + "[" * depth + "]" * depth + "}}"
    response = requests.post(
        f"{demo.url}/v0/appDemoProjects00/Tasks",
        data=body.encode(),
        headers={"Authorization": f"Bearer {DEV_TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"
    assert "nests more than" in response.json()["error"]["message"]


def test_too_large_body_is_413(server: EmulatorServer) -> None:
    response = requests.post(
        f"{server.url}/v0/meta/bases",
        json={"name": "x" * 70_000},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "REQUEST_TOO_LARGE"


def test_health_and_server_timing(demo: EmulatorServer) -> None:
    assert requests.get(f"{demo.url}/_emulator/health", timeout=10).text == "ok"
    response = requests.get(
        f"{demo.url}/v0/meta/whoami", headers={"Authorization": f"Bearer {DEV_TOKEN}"}, timeout=10
    )
    assert response.headers["Server-Timing"].startswith("app;dur=")
