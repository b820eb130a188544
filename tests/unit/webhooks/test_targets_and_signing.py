"""The SSRF guard's address rules, the URL checks, signatures and the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from config.settings import load_settings
from services.webhooks.signing import message_id, new_secret, signed_headers
from services.webhooks.targets import TargetRefusedError, check_target, check_url, refused_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # carrier-grade NAT (Alibaba's metadata)
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:0001::",  # 6to4 of 127.0.0.1
        "224.0.0.1",
    ],
)
def test_refused_address__private_loopback_link_local_metadata(address: str) -> None:
    assert refused_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_refused_address__lets_public_addresses_through(address: str) -> None:
    assert not refused_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "https://169.254.169.254/latest",
        "http://[::1]/x",
        "http://10.0.0.1/",
    ],
)
def test_check_target__refuses_private_targets_after_resolving(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        check_target(url, allow_private=False)
    check_target(url, allow_private=True)


def test_check_target__accepts_a_public_address() -> None:
    assert check_target("https://8.8.8.8/hook", allow_private=False) == "8.8.8.8"
    assert check_target("https://8.8.8.8/hook", allow_private=True) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "example.com/hook", "http://user:pw@example.com/", "http://:99999/"],
)
def test_check_url__refuses_what_is_not_a_plain_http_url(url: str) -> None:
    with pytest.raises(TargetRefusedError):
        check_url(url)


def test_signed_headers__one_signature_per_secret_verifiable_by_hand() -> None:
    old, new = new_secret(), new_secret()
    payload = b'{"id":"1-0","type":"change.applied"}'
    at = datetime.now(UTC)
    headers = signed_headers([Webhook(new), Webhook(old)], "msg_1", payload, at=at)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    signatures = headers["webhook-signature"].split(" ")
    for secret, sent in zip((new, old), signatures, strict=True):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"msg_1.{int(at.timestamp())}.".encode() + payload, hashlib.sha256)
        assert sent == "v1," + base64.b64encode(digest.digest()).decode()
        Webhook(secret).verify(payload, headers)


def test_message_id__is_stable_and_distinct() -> None:
    assert message_id("ep_1", "5-0") == message_id("ep_1", "5-0")
    assert message_id("ep_1", "5-0") != message_id("ep_2", "5-0")
    assert len(message_id("ep_1", "5-0")) <= 40


def test_retry_schedule__is_about_a_day_and_refuses_nonsense() -> None:
    delays = load_settings().webhook_retry_delays
    assert 20 * 3600 <= sum(delays) <= 30 * 3600
    assert delays == sorted(delays)
    with pytest.raises(ValueError, match="WEBHOOK_RETRY_SCHEDULE"):
        load_settings(webhook_retry_schedule="5,soon")
    with pytest.raises(ValueError, match="WEBHOOK_RETRY_SCHEDULE"):
        load_settings(webhook_retry_schedule="")
