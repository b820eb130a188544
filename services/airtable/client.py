"""Building pyairtable clients for an endpoint, and checking that an endpoint answers."""

from __future__ import annotations

import logging

import requests
from pyairtable import Api
from requests.adapters import HTTPAdapter

from services.errors import AirtableError

logger = logging.getLogger(__name__)

_TIMEOUT = (5, 30)  # (connect, read) seconds


def make_api(endpoint_url: str, token: str, *, retry: bool = True) -> Api:
    """A pyairtable `Api` for `endpoint_url` (api.airtable.com or the local emulator).

    Args:
        endpoint_url: Base URL of the Airtable Web API.
        token: A personal access token or OAuth access token; never logged.
        retry: False for checks that must answer at once instead of backing off.
    """
    return Api(token, endpoint_url=endpoint_url, timeout=_TIMEOUT, retry_strategy=retry or None)


def make_paced_api(endpoint_url: str, token: str, adapter: HTTPAdapter) -> Api:
    """A pyairtable `Api` whose every request goes through `adapter` (pacing and retries).

    pyairtable's own retry is switched off: its short backoff would ignore Airtable's
    30 s penalty, and the adapter already retries with the shared limiter in the loop.
    """
    api = Api(token, endpoint_url=endpoint_url, timeout=_TIMEOUT, retry_strategy=None)
    api.session.mount("https://", adapter)
    api.session.mount("http://", adapter)
    return api


def check_airtable(endpoint_url: str, token: str) -> str:
    """Return the user id the token belongs to; raise `AirtableError` if it does not answer."""
    try:
        return str(make_api(endpoint_url, token, retry=False).whoami()["id"])
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise AirtableError(f"Airtable refused the token (HTTP {status}).", status=status) from exc
    except requests.RequestException as exc:
        logger.info("airtable endpoint unreachable: %s", type(exc).__name__)
        raise AirtableError("The Airtable endpoint cannot be reached.") from exc
