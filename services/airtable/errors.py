"""Airtable's HTTP failures as the app's error types, with messages a person can act on."""

from __future__ import annotations

import logging
from typing import Any

import requests

from services.errors import (
    AirtableError,
    AppError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)

logger = logging.getLogger(__name__)

# Airtable error types whose message is about the request (safe and useful to repeat).
_INPUT_TYPES = frozenset(
    {
        "INVALID_FILTER_BY_FORMULA",
        "UNKNOWN_FIELD_NAME",
        "INVALID_VALUE_FOR_COLUMN",
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        "INVALID_RECORDS",
        "ROW_DOES_NOT_EXIST",
        "VIEW_NAME_NOT_FOUND",
        "INVALID_REQUEST_UNKNOWN",
        "INVALID_REQUEST_MISSING_FIELDS",
        "CANNOT_UPDATE_COMPUTED_FIELD",
        "INVALID_PERMISSIONS",
    }
)


def error_body(exc: requests.HTTPError) -> tuple[int | None, str | None, str]:
    """The status, Airtable error type and message of a failed response."""
    response = exc.response
    if response is None:
        return None, None, ""
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return response.status_code, error.get("type"), str(error.get("message") or "")
    return response.status_code, error if isinstance(error, str) else None, ""


def translate(exc: requests.RequestException, *, what: str) -> AppError:
    """The app error for a failed Airtable call about `what` (e.g. "table Tasks").

    Args:
        exc: What requests raised.
        what: Names the object of the call, for the message.

    Returns:
        An `AppError` subclass the caller raises `from exc`.
    """
    if not isinstance(exc, requests.HTTPError):
        logger.info("airtable unreachable: %s", type(exc).__name__)
        return AirtableError("Airtable cannot be reached right now; try again.")
    status, kind, message = error_body(exc)
    logger.info("airtable refused %s: status=%s type=%s", what, status, kind)
    if status == 401:
        return NotAllowedError("Airtable refused your token; reconnect Airtable in Settings.")
    if status == 403:
        return NotAllowedError(f"Your Airtable connection has no access to {what}.")
    if status == 404:
        return NotFoundError(f"Airtable could not find {what}.")
    if status == 422 and kind in _INPUT_TYPES:
        detail = message or kind or "invalid request"
        return InvalidInputError(f"Airtable rejected the request for {what}: {detail}")
    if status == 429:
        return AirtableError(
            "Airtable's rate limit is still in force; try again in 30 seconds.",
            status=status,
            error_type=kind,
        )
    return AirtableError(
        f"Airtable failed on {what} (HTTP {status}).", status=status, error_type=kind
    )
