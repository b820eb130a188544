"""The `http_request` step's call (and its compensating call).

Private, loopback and link-local targets are refused unless a setting allows them (the
tests' local receiver does). 429, 502-504, timeouts and connection errors are transient:
the engine retries them with backoff. Any other non-2xx answer fails the step.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import requests

from services.errors import AppError, InvalidInputError

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
MAX_BODY_CHARS = 4000


class TransientError(AppError):
    """A failure worth retrying (rate limited, overloaded, timed out)."""


class HttpStepError(AppError):
    """The target answered with an error status."""


def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: Any,
    timeout: float,
    allow_private: bool,
) -> dict[str, Any]:
    """One request; returns `{"status", "body"}` (JSON when the answer is JSON).

    Raises:
        InvalidInputError: a bad URL, or a private target that is not allowed.
        TransientError: 429/502/503/504, a timeout or a connection failure.
        HttpStepError: any other non-2xx answer.
    """
    check_target(url, allow_private=allow_private)
    payload: dict[str, Any] = {}
    if body is not None:
        if isinstance(body, str):
            payload["data"] = body.encode()
        else:
            payload["json"] = body
    try:
        response = requests.request(
            method, url, headers=headers, timeout=timeout, allow_redirects=False, **payload
        )
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransientError(f"{method} {_host(url)}: {type(exc).__name__}") from exc
    if response.status_code in TRANSIENT_STATUSES:
        raise TransientError(f"{method} {_host(url)} answered {response.status_code}")
    if not 200 <= response.status_code < 300:
        raise HttpStepError(f"{method} {_host(url)} answered {response.status_code}")
    return {"status": response.status_code, "body": _body(response)}


def check_target(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f'"{url}" is not an http(s) URL.')
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientError(f"{parts.hostname} could not be resolved") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            raise InvalidInputError(
                f"{parts.hostname} is a private address; requests to it are not allowed."
            )


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _body(response: requests.Response) -> Any:
    text = response.text[:MAX_BODY_CHARS]
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(response.text)
        except ValueError:
            return text
    return text
