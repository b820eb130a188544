"""Errors of the JSON resource routes by status, and the JSON bodies they accept."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from api.json_calls import (
    MAX_JSON_BYTES,
    BadRequestError,
    ConflictingStateError,
    error_response,
    json_object,
)
from services.budget.errors import RateLimitExceededError, SpendLimitExceededError
from services.budget.windows import Metric, Scope, Window
from services.errors import AppError, InvalidInputError, NotAllowedError, NotFoundError
from services.workflows.types import WorkflowDefinitionError


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (NotFoundError("no such run"), 404, "not_found"),
        (NotAllowedError("not yours"), 403, "forbidden"),
        (ConflictingStateError("already finished"), 409, "conflict"),
        (InvalidInputError("Assignee is required."), 422, "invalid_input"),
        (WorkflowDefinitionError('Step "a", field "set": no'), 422, "invalid_input"),
        (RateLimitExceededError(kind="requests", limit=20, retry_after_seconds=7), 429, None),
        (
            SpendLimitExceededError(
                scope=Scope.USER,
                window=Window.DAY,
                metric=Metric.USD,
                limit=1,
                used=1,
                needed=1,
                resets_at=datetime.now(UTC),
            ),
            429,
            "rate_limited",
        ),
        (AppError("something else"), 400, "bad_request"),
    ],
)
def test_error_response__maps_each_error_to_its_status_with_its_message(
    error: AppError, status: int, kind: str | None
) -> None:
    response = error_response(error)
    assert response.status_code == status
    body = json.loads(bytes(response.body))
    assert body["error"]["message"] == str(error)
    if kind:
        assert body["error"]["type"] == kind
    if isinstance(error, RateLimitExceededError):
        assert response.headers["retry-after"] == "7"


def _request(body: bytes) -> Request:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe",
        b"{" + b" " * MAX_JSON_BYTES + b"}",
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"name": "a\\u0000b"}',
        b'{"inputs": {"rows": [{"x\\u0000": 1}]}}',
    ],
    ids=[
        "not json",
        "a list",
        "a string",
        "not utf-8",
        "too large",
        "nested too deeply",
        "a NUL in a text",
        "a NUL in a nested key",
    ],
)
def test_json_object__refuses_what_is_not_a_json_object(body: bytes) -> None:
    with pytest.raises(BadRequestError):
        asyncio.run(json_object(_request(body)))


def test_json_object__reads_an_object_and_an_empty_body_as_empty() -> None:
    assert asyncio.run(json_object(_request(b'{"inputs": {"a": 1}}'))) == {"inputs": {"a": 1}}
    assert asyncio.run(json_object(_request(b""))) == {}
    # An escaped backslash before "u0000" is the text \u0000, not a NUL.
    assert asyncio.run(json_object(_request(b'{"a": "\\\\u0000"}'))) == {"a": "\\u0000"}
