"""The web server's exception handlers: a bug on `/api/*` is a 500 in the API's JSON error
shape that says nothing of the error; elsewhere a plain 500; SQL errors are sorted into an
outage (503 JSON naming the store) or a bug (500)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from api.security import EXCEPTION_HANDLERS

SECRET = "password=hunter2 in a traceback"


def _client() -> TestClient:
    async def bug(_request: Request) -> Response:
        raise RuntimeError(SECRET)

    async def sql_bug(_request: Request) -> Response:
        raise sa.exc.ArgumentError(SECRET)

    async def sql_down(_request: Request) -> Response:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    app = Starlette(
        routes=[
            Route("/api/bug", bug),
            Route("/page/bug", bug),
            Route("/api/sql-bug", sql_bug),
            Route("/api/sql-down", sql_down),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    return TestClient(app, raise_server_exceptions=False)


def test_a_bug_on_the_api__is_a_json_500_that_shows_nothing_of_the_error() -> None:
    with _client() as client:
        for path in ("/api/bug", "/api/sql-bug"):
            response = client.get(path)
            assert response.status_code == 500
            error = response.json()["error"]
            assert error["type"] == "internal"
            assert "logged" in error["message"]
            assert SECRET not in response.text


def test_a_bug_elsewhere__is_a_plain_500() -> None:
    with _client() as client:
        response = client.get("/page/bug")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"


def test_a_database_outage__is_a_503_naming_the_store() -> None:
    with _client() as client:
        response = client.get("/api/sql-down")
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "unavailable"
    assert response.headers["retry-after"] == "5"
