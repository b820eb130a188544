"""The SSRF guard: where an outgoing webhook may be sent.

The host is resolved first and every address it resolves to is checked, so a public name
pointing at a private address is refused too: private, loopback, link-local (which holds
the cloud metadata address 169.254.169.254), unspecified, multicast and reserved ranges,
and IPv6 forms of the same (mapped IPv4, unique-local, site-local). A setting
(`WEBHOOK_ALLOW_PRIVATE_TARGETS`, for tests and the demo) lifts it.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from services.errors import InvalidInputError

MAX_URL_CHARS = 2000


class TargetRefusedError(InvalidInputError):
    """The URL is not one we send webhooks to."""


def check_url(url: str) -> None:
    """An absolute http(s) URL with a host, without credentials.

    Raises:
        TargetRefusedError: what is wrong with it.
    """
    if len(url) > MAX_URL_CHARS:
        raise TargetRefusedError(f"The URL is longer than {MAX_URL_CHARS} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise TargetRefusedError(f'"{url}" is not a valid URL.') from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError(f'"{url}" is not an http(s) URL.')
    if parts.username or parts.password:
        raise TargetRefusedError("Put no user name or password in the URL.")


def check_target(url: str, *, allow_private: bool) -> str | None:
    """`check_url`, then (unless `allow_private`) every address the host resolves to.

    Returns:
        The checked address to connect to (so a second lookup cannot swap in another:
        DNS rebinding), or None when private targets are allowed and nothing was checked.

    Raises:
        TargetRefusedError: a bad URL, a host that does not resolve, or a refused address.
    """
    check_url(url)
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise TargetRefusedError(f"{host} could not be resolved.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(refused_address(a) for a in addresses):
        raise TargetRefusedError(
            f"{host} resolves to a private, loopback, link-local or metadata address; "
            "webhooks are not sent there."
        )
    return addresses[0]


def refused_address(text: str) -> bool:
    """Whether an IP address is one webhooks must not reach."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return refused_address(str(mapped))
        if address.is_site_local:
            return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )
