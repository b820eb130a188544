"""Webhooks: create/list/refresh/delete, the payload log, and signed pings.

Every record write in a base appends a payload to each matching webhook; then, if the
webhook has a ``notificationUrl``, a background thread POSTs
``{"base": {"id"}, "webhook": {"id"}, "timestamp"}`` with the header
``X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256(secret, body)>``. Delivery
failures are ignored but counted.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from emulator import errors
from emulator.ids import format_time, new_id, parse_time, utc_now
from emulator.schema import Base
from emulator.state import Call
from emulator.store import Store
from emulator.writes import ChangeSet

logger = logging.getLogger(__name__)
MAX_WEBHOOKS_PER_BASE = 10
MAX_PAYLOADS_PER_PAGE = 50
LIFETIME = timedelta(days=7)
DATA_TYPES = frozenset({"tableData", "tableFields", "tableMetadata"})
_PUBLIC = (
    "id",
    "areNotificationsEnabled",
    "cursorForNextPayload",
    "isHookEnabled",
    "lastSuccessfulNotificationTime",
    "notificationUrl",
    "lastNotificationResult",
    "expirationTime",
    "specification",
)


def sign(secret_base64: str, body: bytes) -> str:
    """The ``X-Airtable-Content-MAC`` header value for a notification body."""
    digest = hmac.new(base64.b64decode(secret_base64), body, hashlib.sha256).hexdigest()
    return "hmac-sha256=" + digest


class WebhookService:
    """Builds payloads from changes and delivers pings in the background.

    Args:
        store: Holds webhooks and payloads.
        timeout: Seconds a notification POST may take.
    """

    def __init__(self, store: Store, *, timeout: float = 5.0) -> None:
        self.store = store
        self.timeout = timeout
        self.sent = 0
        self.failed = 0
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="emulator-webhook")

    def close(self) -> None:
        """Stop the delivery threads (pending pings are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def record(self, base: Base, changes: ChangeSet) -> None:
        """Append a payload for ``changes`` to every live webhook of ``base``."""
        now = utc_now()
        for hook in list(self.store.webhooks.values()):
            if hook["baseId"] != base.id or parse_time(hook["expirationTime"]) <= now:
                continue
            tables = _table_changes(hook["specification"], changes)
            if not tables:
                continue
            payload = {
                "timestamp": format_time(now),
                "baseTransactionNumber": len(self.store.payloads.get(hook["id"], [])) + 1,
                "payloadFormat": "v0",
                "actionMetadata": {
                    "source": "publicApi",
                    "sourceMetadata": {"user": {**self.store.user, "permissionLevel": "create"}},
                },
                "changedTablesById": tables,
            }
            cursor = self.store.add_payload(hook, payload)
            hook["cursorForNextPayload"] = cursor + 1
            self.store.put_webhook(hook)
            if hook.get("notificationUrl") and hook.get("areNotificationsEnabled"):
                self._pool.submit(self._ping, hook["id"], base.id)

    def _ping(self, hook_id: str, base_id: str) -> None:
        with self.store.lock:
            hook = self.store.webhooks.get(hook_id)
            if hook is None:
                return
            url, secret = hook["notificationUrl"], hook["macSecretBase64"]
        body = json.dumps(
            {
                "base": {"id": base_id},
                "webhook": {"id": hook_id},
                "timestamp": format_time(utc_now()),
            }
        ).encode("ascii")
        request = urllib.request.Request(  # noqa: S310 (the URL was validated as http(s))
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Airtable-Content-MAC": sign(secret, body),
            },
        )
        started = time.monotonic()
        error = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except Exception as exc:  # delivery failures are counted, never raised
            error = str(exc)
        self._note_result(hook_id, error, (time.monotonic() - started) * 1000)

    def _note_result(self, hook_id: str, error: str | None, duration_ms: float) -> None:
        with self.store.lock:
            if error is None:
                self.sent += 1
            else:
                self.failed += 1
                logger.info("webhook %s notification failed", hook_id)
            hook = self.store.webhooks.get(hook_id)
            if hook is None:
                return
            finished = format_time(utc_now())
            result: dict[str, Any] = {
                "success": error is None,
                "completionTimestamp": finished,
                "durationMs": duration_ms,
                "retryNumber": 0,
            }
            if error is not None:
                result["error"] = {"message": error}
                hook["failedNotifications"] = hook.get("failedNotifications", 0) + 1
            else:
                hook["lastSuccessfulNotificationTime"] = finished
            hook["lastNotificationResult"] = result
            self.store.put_webhook(hook)


def _table_changes(spec: dict[str, Any], changes: ChangeSet) -> dict[str, Any]:
    filters = spec.get("options", {}).get("filters", {})
    if "tableData" not in filters.get("dataTypes", []):
        return {}
    scope = filters.get("recordChangeScope")
    kinds = set(filters.get("changeTypes") or ("add", "remove", "update"))
    watched = set(filters.get("watchDataInFieldIds") or ())
    include_previous = (
        spec.get("options", {}).get("includes", {}).get("includePreviousCellValues", False)
    )
    tables: dict[str, Any] = {}
    for table_id in {*changes.created, *changes.changed, *changes.destroyed}:
        if scope and scope != table_id:
            continue
        entry: dict[str, Any] = {}
        created = changes.created.get(table_id, [])
        if created and "add" in kinds:
            entry["createdRecordsById"] = {
                r.id: {"createdTime": r.created_time, "cellValuesByFieldId": dict(r.cells)}
                for r in created
            }
        changed = {}
        for rec_id, (before, after) in changes.changed.get(table_id, {}).items():
            if "update" not in kinds or (watched and not watched & set(after)):
                continue
            item: dict[str, Any] = {"current": {"cellValuesByFieldId": after}}
            if include_previous:
                item["previous"] = {"cellValuesByFieldId": before}
            changed[rec_id] = item
        if changed:
            entry["changedRecordsById"] = changed
        if changes.destroyed.get(table_id) and "remove" in kinds:
            entry["destroyedRecordIds"] = list(changes.destroyed[table_id])
        if entry:
            tables[table_id] = entry
    return tables


def _hook(call: Call) -> dict[str, Any]:
    hook = call.store.webhooks.get(call.params["webhookId"])
    if hook is None or hook["baseId"] != call.need_base().id:
        raise errors.model_not_found()
    return hook


def _check_spec(spec: Any) -> dict[str, Any]:
    filters = spec.get("options", {}).get("filters") if isinstance(spec, dict) else None
    types = filters.get("dataTypes") if isinstance(filters, dict) else None
    if not isinstance(types, list) or not types or not set(types) <= DATA_TYPES:
        raise errors.invalid_webhook(
            "specification.options.filters.dataTypes must list "
            "tableData, tableFields or tableMetadata"
        )
    assert isinstance(spec, dict)
    return spec


def create_webhook(call: Call) -> dict[str, Any]:
    """``POST /v0/bases/{baseId}/webhooks``: the MAC secret is shown only here."""
    body = call.json()
    spec = _check_spec(body.get("specification"))
    url = body.get("notificationUrl")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise errors.invalid_webhook("notificationUrl must be an http(s) URL")
    base = call.need_base()
    if sum(1 for h in call.store.webhooks.values() if h["baseId"] == base.id) >= (
        MAX_WEBHOOKS_PER_BASE
    ):
        raise errors.too_many_webhooks()
    hook = {
        "id": new_id("ach"),
        "baseId": base.id,
        "macSecretBase64": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "notificationUrl": url,
        "specification": spec,
        "areNotificationsEnabled": True,
        "isHookEnabled": True,
        "cursorForNextPayload": 1,
        "expirationTime": format_time(call.now + LIFETIME),
        "lastNotificationResult": None,
        "lastSuccessfulNotificationTime": None,
        "failedNotifications": 0,
    }
    call.store.put_webhook(hook)
    return {k: hook[k] for k in ("id", "macSecretBase64", "expirationTime")}


def list_webhooks(call: Call) -> dict[str, Any]:
    """``GET /v0/bases/{baseId}/webhooks`` (secrets are never listed)."""
    base_id = call.need_base().id
    hooks = [h for h in call.store.webhooks.values() if h["baseId"] == base_id]
    now = call.now
    return {
        "webhooks": [
            {**{k: h[k] for k in _PUBLIC}, "isHookEnabled": parse_time(h["expirationTime"]) > now}
            for h in hooks
        ]
    }


def refresh_webhook(call: Call) -> dict[str, Any]:
    """``POST .../webhooks/{webhookId}/refresh``: seven more days."""
    hook = _hook(call)
    hook["expirationTime"] = format_time(call.now + LIFETIME)
    call.store.put_webhook(hook)
    return {"expirationTime": hook["expirationTime"]}


def enable_notifications(call: Call) -> dict[str, Any]:
    """``POST .../webhooks/{webhookId}/enableNotifications`` with ``{"enable": bool}``."""
    hook = _hook(call)
    enable = call.json().get("enable")
    if not isinstance(enable, bool):
        raise errors.invalid_request('"enable" must be true or false')
    hook["areNotificationsEnabled"] = enable
    call.store.put_webhook(hook)
    return {}


def delete_webhook(call: Call) -> dict[str, Any]:
    """``DELETE .../webhooks/{webhookId}``."""
    hook = _hook(call)
    call.store.delete_webhook(hook["id"])
    return {}


def list_payloads(call: Call) -> dict[str, Any]:
    """``GET .../webhooks/{webhookId}/payloads?cursor=N&limit=L`` (limit at most 50)."""
    hook = _hook(call)
    raw_cursor = call.query.get("cursor", "1")
    raw_limit = call.query.get("limit", str(MAX_PAYLOADS_PER_PAGE))
    if not raw_cursor.isdigit() or int(raw_cursor) < 1:
        raise errors.invalid_request(f"Invalid cursor: {raw_cursor!r}")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAYLOADS_PER_PAGE:
        raise errors.invalid_request(f"Invalid limit: {raw_limit!r} (1 to 50)")
    cursor, limit = int(raw_cursor), int(raw_limit)
    log = call.store.payloads.get(hook["id"], [])
    page = log[cursor - 1 : cursor - 1 + limit]
    return {
        "cursor": cursor + len(page),
        "mightHaveMore": cursor - 1 + len(page) < len(log),
        "payloads": page,
    }
