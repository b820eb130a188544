"""Webhooks: lifecycle, payloads with cursors, and HMAC-signed notification pings."""

import http.server
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pyairtable import Api
from pyairtable.models.webhook import WebhookNotification

from emulator.testing import EmulatorServer

from .bases import FreshBase, create_fresh_base
from .http_errors import error_of

SPEC = {"options": {"filters": {"dataTypes": ["tableData"]}}}


class _Receiver(http.server.BaseHTTPRequestHandler):
    inbox: "queue.Queue[tuple[str, str]]"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("ascii")
        self.inbox.put((body, self.headers["X-Airtable-Content-MAC"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, "queue.Queue[tuple[str, str]]"]]:
    inbox: queue.Queue[tuple[str, str]] = queue.Queue()
    handler = type("Receiver", (_Receiver,), {"inbox": inbox})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", inbox
    httpd.shutdown()
    httpd.server_close()


def test_webhook__ping_is_signed_like_airtable(
    fresh_base: FreshBase, receiver: tuple[str, "queue.Queue[tuple[str, str]]"]
) -> None:
    url, inbox = receiver
    base = fresh_base.api.base(fresh_base.id)
    created = base.add_webhook(url, SPEC)
    assert created.id.startswith("ach")
    assert created.expiration_time is not None
    assert created.expiration_time - datetime.now(UTC) > timedelta(days=6, hours=23)
    fresh_base.people.create({"Name": "Hal"})
    body, header = inbox.get(timeout=5)
    note = WebhookNotification.from_request(body, header, created.mac_secret_base64)
    assert note.base.id == fresh_base.id
    assert note.webhook.id == created.id
    with pytest.raises(ValueError, match="failed validation"):
        WebhookNotification.from_request(body, header, "b3RoZXIgc2VjcmV0")


def test_webhook__payloads_follow_cursor(fresh_base: FreshBase) -> None:
    base = fresh_base.api.base(fresh_base.id)
    hook = base.webhook(base.add_webhook("https://example.invalid/hook", SPEC).id)
    people = fresh_base.people
    record = people.create({"Name": "Ivy"})
    people.update(record["id"], {"Name": "Ivy 2"})
    people.delete(record["id"])
    payloads = list(hook.payloads())
    assert [p.cursor for p in payloads] == [1, 2, 3]
    table_id = people.schema().id
    assert record["id"] in payloads[0].changed_tables_by_id[table_id].created_records_by_id
    changed = payloads[1].changed_tables_by_id[table_id].changed_records_by_id[record["id"]]
    assert list(changed.current.cell_values_by_field_id.values()) == ["Ivy 2"]
    assert payloads[2].changed_tables_by_id[table_id].destroyed_record_ids == [record["id"]]
    assert [p.cursor for p in hook.payloads(cursor=3)] == [3]
    assert base.webhook(hook.id).cursor_for_next_payload == 4


def test_webhook__limit_over_50_is_rejected(fresh_base: FreshBase) -> None:
    base = fresh_base.api.base(fresh_base.id)
    hook = base.add_webhook("https://example.invalid/hook", SPEC)
    url = f"{base.urls.webhooks}/{hook.id}/payloads"
    assert fresh_base.api.get(url, params={"limit": 50})["payloads"] == []
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.api.get(url, params={"limit": 51})
    assert error_of(exc)[0] == 422


def test_webhook__refresh_list_delete_and_limit_of_ten(fresh_base: FreshBase) -> None:
    base = fresh_base.api.base(fresh_base.id)
    created = [base.add_webhook(f"https://example.invalid/{i}", SPEC) for i in range(10)]
    with pytest.raises(requests.HTTPError) as exc:
        base.add_webhook("https://example.invalid/11", SPEC)
    assert error_of(exc)[0] == 422
    listed = base.webhooks()
    assert [w.id for w in listed] == [c.id for c in created]
    assert all(w.is_hook_enabled and w.are_notifications_enabled for w in listed)
    hook = listed[0]
    hook.disable_notifications()
    assert not base.webhook(hook.id).are_notifications_enabled
    hook.extend_expiration()
    hook.delete()
    assert hook.id not in [w.id for w in base.webhooks()]


def test_webhook__failed_pings_are_counted(make_server: Callable[..., EmulatorServer]) -> None:
    server = make_server()
    api = Api(server.token, endpoint_url=server.url, retry_strategy=None)
    local = create_fresh_base(api)
    api.base(local.id).add_webhook("http://127.0.0.1:9/closed", SPEC)
    local.people.create({"Name": "Jo"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stats = requests.get(f"{server.url}/_emulator/stats", timeout=5).json()
        if stats["webhookNotifications"]["failed"]:
            break
        time.sleep(0.05)
    assert stats["webhookNotifications"] == {"sent": 0, "failed": 1}
    hook = api.base(local.id).webhooks()[0]
    assert hook.last_notification_result is not None
    assert hook.last_notification_result.success is False
