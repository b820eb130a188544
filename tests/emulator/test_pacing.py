"""Pacing: the optional rate limiter (429, Retry-After, penalty) and added latency."""

import time
from collections.abc import Callable

import pytest
import requests
from pyairtable import Api, Table

from emulator.testing import EmulatorServer

from .bases import WORKSPACE
from .http_errors import error_of


def _people(api: Api) -> Table:
    """A one-table base (creating a base is not counted against a base's limit)."""
    fields = [{"name": "Name", "type": "singleLineText"}]
    base = api.create_base(WORKSPACE, "Limits", [{"name": "People", "fields": fields}])
    return base.table("People")


def test_rate_limit__sixth_request_in_a_second_is_429(
    make_server: Callable[..., EmulatorServer],
) -> None:
    server = make_server(rate_limit=True, penalty_seconds=1.0)
    api = Api(server.token, endpoint_url=server.url, retry_strategy=None)
    people = _people(api)
    for _ in range(5):
        people.first()
    with pytest.raises(requests.HTTPError) as exc:
        people.first()
    status, body = error_of(exc)
    assert status == 429
    assert body == {
        "error": {
            "type": "RATE_LIMIT_REACHED",
            "message": "Rate limit exceeded. Please try again later",
        }
    }
    assert exc.value.response is not None
    assert exc.value.response.headers["Retry-After"] == "1"
    with pytest.raises(requests.HTTPError):  # still inside the penalty
        people.first()
    time.sleep(1.05)
    assert people.first() is None


def test_rate_limit__pyairtable_retries_after_the_penalty(
    make_server: Callable[..., EmulatorServer],
) -> None:
    server = make_server(rate_limit=True, penalty_seconds=1.0)
    api = Api(server.token, endpoint_url=server.url)  # default retry strategy honours Retry-After
    people = _people(api)
    started = time.monotonic()
    for _ in range(7):
        people.first()
    assert time.monotonic() - started >= 1.0
    routes = requests.get(f"{server.url}/_emulator/stats", timeout=5).json()["statuses"]
    assert routes.get("429", 0) >= 1


def test_rate_limit__off_by_default(api: Api) -> None:
    for _ in range(12):
        api.whoami()


def test_latency__delays_every_api_request(make_server: Callable[..., EmulatorServer]) -> None:
    server = make_server(latency_ms=150)
    api = Api(server.token, endpoint_url=server.url, retry_strategy=None)
    started = time.monotonic()
    api.whoami()
    assert time.monotonic() - started >= 0.15
