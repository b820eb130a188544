"""Reading the JSON error body out of a failed pyairtable or requests call."""

from typing import Any

import pytest
import requests


def error_of(exc: pytest.ExceptionInfo[requests.HTTPError]) -> tuple[int, Any]:
    """Return (status code, JSON body) of the response behind an HTTPError."""
    response = exc.value.response
    assert response is not None, exc.value
    return response.status_code, response.json()


def error_type(exc: pytest.ExceptionInfo[requests.HTTPError]) -> str:
    """Return the ``error.type`` of the response behind an HTTPError."""
    _, body = error_of(exc)
    error = body["error"]
    return error if isinstance(error, str) else error["type"]
