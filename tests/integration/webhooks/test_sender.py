"""The sender connects to the address the SSRF guard checked (no second lookup), and
keeps connections alive between attempts."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from services.webhooks import sender as sender_module
from services.webhooks.sender import DeliverySender
from services.webhooks.signing import new_secret
from tests.integration.webhooks.receiver import HookReceiver, verify_with_package


def test_pinned_connection__goes_to_the_checked_address_whatever_the_host_name(
    receiver: HookReceiver,
) -> None:
    conn = sender_module._PinnedHTTP("hooks.example.invalid", receiver.port, "127.0.0.1", 5)
    conn.request("POST", "/hook", body=b"{}", headers={"content-type": "application/json"})
    assert conn.getresponse().status == 200
    conn.close()
    assert receiver.at("/hook")[0].headers["host"] == f"hooks.example.invalid:{receiver.port}"


def test_sender__signs_reuses_connections_and_reports_refused_connections(
    receiver: HookReceiver,
) -> None:
    secret = new_secret()
    sender = DeliverySender(timeout_seconds=2, allow_private=True, pool_size=2)
    try:
        for n in range(3):
            result = sender.send(receiver.url, f"msg_{n}", b'{"n":1}', [Webhook(secret)])
            assert (result.ok, result.status_code, result.error) == (True, 200, None)
        assert all(verify_with_package(secret, r) for r in receiver.at("/hook"))
        assert sum(len(idle) for idle in sender._idle.values()) == 1  # one kept-alive conn
        port = receiver.port
        receiver.stop()
        down = sender.send(f"http://127.0.0.1:{port}/hook", "msg_x", b"{}", [Webhook(secret)])
        assert down.status_code is None
        assert (down.error or "").startswith("connection failed")
    finally:
        sender.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook"])
def test_sender__refuses_private_targets_without_connecting(url: str) -> None:
    sender = DeliverySender(timeout_seconds=2, allow_private=False, pool_size=1)
    result = sender.send(url, "msg_1", b"{}", [Webhook(new_secret())])
    assert result.status_code is None
    assert (result.error or "").startswith("refused:")
