"""Airtable webhooks: one registered per (owner, base, table) watched by an enabled
record-triggered workflow, its MAC secret kept encrypted, its payload cursor in SQL.

`sync()` registers what is watched and deregisters what is not (the web calls it after
every workflow change; the worker every `AIRTABLE_WEBHOOK_CHECK_SECONDS` in `maintain()`,
which also refreshes webhooks before their 7 days run out and re-creates ones Airtable
no longer has). `receive_ping()` checks `X-Airtable-Content-MAC` and enqueues the durable
payload read (`airtable_payloads.py`) that the worker executes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import AirtableGateway
from services.airtable.webhook_client import AirtableWebhookClient
from services.crypto import TokenCipher
from services.errors import AppError, InvalidInputError, NotAllowedError, NotFoundError
from services.webhooks.airtable_orm import AirtableWebhook
from services.workflows.definition import RecordTrigger
from services.workflows.library import WorkflowLibrary
from services.workflows.queue import APP_VERSION
from services.workflows.types import Actor, WorkflowInfo

if TYPE_CHECKING:
    from dbos import DBOSClient

logger = logging.getLogger(__name__)

NOTIFICATION_PATH = "/api/airtable/notifications/"
PAYLOAD_QUEUE = "airtable_payloads"
PAYLOAD_WORKFLOW = "airtable_payloads"
Watched = tuple[int | None, str, str]  # (owner_id or None for the org, base_id, table_id)
WatchSource = Callable[[], set[Watched]]
ORG_CONNECTION = 0  # the gateway "user" whose calls use the org connection


class PingSignatureError(AppError):
    """The ping's `X-Airtable-Content-MAC` does not match (answered 401)."""


@dataclass(frozen=True)
class WebhookInfo:
    """A registered Airtable webhook, as the workflow editor shows it (never the secret)."""

    id: str
    airtable_id: str
    owner_id: int | None
    base_id: str
    table_id: str
    cursor: int
    expires_at: datetime
    last_ping_at: datetime | None


def spec_for(table_id: str) -> dict[str, Any]:
    """Record data of one table, every cell of a changed record, and schema changes."""
    return {
        "options": {
            "filters": {
                "dataTypes": ["tableData", "tableFields", "tableMetadata"],
                "recordChangeScope": table_id,
            },
            "includes": {"includeCellValuesInFieldIds": "all", "includePreviousCellValues": True},
        }
    }


def mac_of(secret_base64: str, body: bytes) -> str:
    digest = hmac.new(base64.b64decode(secret_base64), body, hashlib.sha256).hexdigest()
    return "hmac-sha256=" + digest


class AirtableWebhooks:
    """Registered Airtable webhooks (`services.airtable_webhooks`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: TokenCipher,
        library: WorkflowLibrary,
        gateway: AirtableGateway,
        remote: AirtableWebhookClient,
        client: Callable[[], DBOSClient],
        *,
        public_url: str,
        refresh_before: timedelta,
    ) -> None:
        self._db = sessions
        self._cipher = cipher
        self._library = library
        self._gateway = gateway
        self._remote = remote
        self._client = client
        self._public_url = public_url.rstrip("/")
        self._refresh_before = refresh_before
        self._sources: list[WatchSource] = []

    def also_watch(self, source: WatchSource) -> None:
        """Also keep webhooks on the tables `source` names (mirrors), beside record triggers."""
        self._sources.append(source)

    # -- what is watched ---------------------------------------------------------------

    def watched_table(self, workflow: WorkflowInfo) -> tuple[str, str] | None:
        """(base ID, table ID) a record-triggered workflow watches; None if not resolvable."""
        try:
            return self._resolve(workflow)
        except AppError as exc:
            logger.warning("record trigger of %s not resolved: %s", workflow.id, exc)
            return None

    def _resolve(self, workflow: WorkflowInfo) -> tuple[str, str] | None:
        trigger = workflow.definition.trigger
        if not isinstance(trigger, RecordTrigger) or not workflow.definition.base:
            return None
        wanted = workflow.definition.base
        for info in self._gateway.bases(workflow.owner_id):
            if wanted in (info.id, info.name) or wanted.casefold() == info.name.casefold():
                table = self._gateway.table(workflow.owner_id, info.id, trigger.record.table)
                return info.id, table.id
        return None

    def watched(self) -> tuple[set[Watched], bool]:
        """The watched tables, and whether every trigger could be resolved: after an
        Airtable or store failure nothing is deregistered (the webhook may well be wanted)."""
        found: set[Watched] = set()
        complete = True
        for workflow in self._library.record_triggered():
            try:
                table = self._resolve(workflow)
            except (InvalidInputError, NotAllowedError) as exc:
                # The table is gone or the owner lost access: this trigger watches nothing.
                logger.warning("record trigger of %s watches nothing: %s", workflow.id, exc)
                continue
            except AppError as exc:
                logger.warning("record trigger of %s not resolved now: %s", workflow.id, exc)
                complete = False
                continue
            if table is not None:
                found.add((workflow.owner_id, *table))
        for source in self._sources:
            try:
                found |= source()
            except AppError as exc:
                logger.warning("watched tables not read now: %s", exc)
                complete = False
        return found, complete

    # -- registering -------------------------------------------------------------------

    def on_workflow_change(self, _workflow_id: str) -> None:
        """Library listener: follow the triggers at once (failures wait for the worker)."""
        self.follow()

    def follow(self) -> None:
        """Register and deregister now for what is watched; a failure waits for the worker."""
        try:
            self.sync()
        except AppError as exc:
            logger.warning("airtable webhooks not synced now (%s); the worker retries", exc)

    def sync(self) -> None:
        """Register a webhook for every watched table; deregister the unwatched ones."""
        wanted, complete = self.watched()
        rows = self._rows()
        have = {(r.owner_id, r.base_id, r.table_id): r for r in rows}
        for key in sorted(wanted - set(have), key=lambda k: (k[0] or 0, k[1], k[2])):
            self._register(*key)
        for key, row in have.items():
            if complete and key not in wanted:
                self._deregister(row)

    def maintain(self, now: datetime | None = None) -> None:
        """`sync()`, then re-create webhooks Airtable lost, refresh those near expiry, and
        queue a catch-up payload read for each."""
        now = now or datetime.now(UTC)
        self.sync()
        by_base: dict[tuple[int | None, str], list[AirtableWebhook]] = {}
        for row in self._rows():
            by_base.setdefault((row.owner_id, row.base_id), []).append(row)
        for (owner_id, base_id), rows in by_base.items():
            live = self._remote.ids(_connection(owner_id), base_id)
            for row in rows:
                if row.airtable_id not in live or row.expires_at <= now:
                    logger.info("airtable webhook %s is gone; registering again", row.id)
                    self._replace(row)
                elif row.expires_at - now <= self._refresh_before:
                    self._refresh(row)
        for row in self._rows():
            # A read that failed for good (Airtable down through every retry) left the
            # cursor where it was: this one catches up even if no new ping comes.
            self.enqueue_read(row.id, f"check:{int(now.timestamp())}")

    def _register(
        self, owner_id: int | None, base_id: str, table_id: str, *, local_id: str | None = None
    ) -> None:
        """Create the webhook at Airtable and keep its row; `local_id` keeps a lost one's URL."""
        local_id = local_id or f"awh_{secrets.token_hex(10)}"
        url = f"{self._public_url}{NOTIFICATION_PATH}{local_id}"
        created = self._remote.create(_connection(owner_id), base_id, url, spec_for(table_id))
        try:
            with self._db.begin() as session:
                session.add(
                    AirtableWebhook(
                        id=local_id,
                        airtable_id=created.id,
                        owner_id=owner_id,
                        base_id=base_id,
                        table_id=table_id,
                        mac_secret_encrypted=self._cipher.encrypt(created.mac_secret_base64),
                        cursor=1,
                        expires_at=created.expires_at,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # Another process registered this table a moment ago: keep theirs.
            self._remote.delete(_connection(owner_id), base_id, created.id)
            return
        logger.info("airtable webhook %s (%s) registered", local_id, created.id)

    def _refresh(self, row: AirtableWebhook) -> None:
        expires = self._remote.refresh(_connection(row.owner_id), row.base_id, row.airtable_id)
        if expires is None:
            self._replace(row)
            return
        with self._db.begin() as session:
            session.execute(
                update(AirtableWebhook)
                .where(AirtableWebhook.id == row.id)
                .values(expires_at=expires)
            )
        logger.info("airtable webhook %s refreshed", row.id)

    def _deregister(self, row: AirtableWebhook) -> None:
        try:
            self._remote.delete(_connection(row.owner_id), row.base_id, row.airtable_id)
        except AppError as exc:
            logger.warning("airtable webhook %s not deleted there: %s", row.id, exc)
        self._forget(row.id)
        logger.info("airtable webhook %s deregistered", row.id)

    def _replace(self, row: AirtableWebhook) -> None:
        """A webhook Airtable lost (or let expire): a new one behind the same URL."""
        self._forget(row.id)
        self._register(row.owner_id, row.base_id, row.table_id, local_id=row.id)

    # -- pings -------------------------------------------------------------------------

    def receive_ping(self, webhook_id: str, body: bytes, headers: Mapping[str, str]) -> str:
        """Check a ping and enqueue the payload read; returns the read's run ID.

        Raises:
            NotFoundError: not a webhook of ours (404).
            PingSignatureError: the MAC does not match, or the body names another webhook.
        """
        with self._db() as session:
            row = session.get(AirtableWebhook, webhook_id)
            if row is None:
                raise NotFoundError("There is no Airtable webhook with this ID.")
            secret = self._cipher.decrypt(row.mac_secret_encrypted)
            airtable_id = row.airtable_id
        given = {k.lower(): v for k, v in headers.items()}.get("x-airtable-content-mac", "")
        if not hmac.compare_digest(given.encode(), mac_of(secret, body).encode()):
            logger.info("airtable webhook %s refused a ping with a bad MAC", webhook_id)
            raise PingSignatureError("The X-Airtable-Content-MAC header does not match.")
        try:
            named = json.loads(body).get("webhook", {}).get("id")
        except (ValueError, AttributeError, RecursionError):
            named = None
        if named != airtable_id:
            raise PingSignatureError("The notification names another webhook.")
        with self._db.begin() as session:
            session.execute(
                update(AirtableWebhook)
                .where(AirtableWebhook.id == webhook_id)
                .values(last_ping_at=datetime.now(UTC))
            )
        return self.enqueue_read(webhook_id, hashlib.sha256(body).hexdigest()[:24])

    def enqueue_read(self, webhook_id: str, key: str) -> str:
        """Queue a payload read (one per ping: `key` makes a repeated ping a no-op)."""
        run_id = f"airtable:{webhook_id}:{key}"
        self._client().enqueue(
            {
                "queue_name": PAYLOAD_QUEUE,
                "workflow_name": PAYLOAD_WORKFLOW,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
            },
            webhook_id,
        )
        return run_id

    # -- reading (the worker's payload run) --------------------------------------------

    def get(self, webhook_id: str) -> WebhookInfo | None:
        with self._db() as session:
            row = session.get(AirtableWebhook, webhook_id)
            return _info(row) if row is not None else None

    def payload_page(self, webhook_id: str, *, limit: int = 50) -> dict[str, Any] | None:
        """The payloads from the stored cursor: `{start, cursor, more, payloads}`."""
        info = self.get(webhook_id)
        if info is None:
            return None
        data = self._remote.payloads(
            _connection(info.owner_id),
            info.base_id,
            info.airtable_id,
            cursor=info.cursor,
            limit=limit,
        )
        return {
            "start": info.cursor,
            "cursor": int(data["cursor"]),
            "more": bool(data.get("mightHaveMore")),
            "payloads": list(data.get("payloads", [])),
        }

    def advance(self, webhook_id: str, start: int, cursor: int) -> bool:
        """Move the cursor from `start` to `cursor` (False: already moved by this read)."""
        with self._db.begin() as session:
            result = session.execute(
                update(AirtableWebhook)
                .where(AirtableWebhook.id == webhook_id, AirtableWebhook.cursor == start)
                .values(cursor=cursor)
            )
            return bool(getattr(result, "rowcount", 0))

    # -- for the editor ----------------------------------------------------------------

    def serving(self, user: Actor, workflow_id: str) -> WebhookInfo | None:
        """The Airtable webhook that serves a record-triggered workflow, if registered."""
        workflow = self._library.get(user, workflow_id)
        table = self.watched_table(workflow)
        if table is None:
            return None
        with self._db() as session:
            row = session.scalar(
                select(AirtableWebhook).where(
                    AirtableWebhook.owner_id == workflow.owner_id,
                    AirtableWebhook.base_id == table[0],
                    AirtableWebhook.table_id == table[1],
                )
            )
            return _info(row) if row is not None else None

    # -- plumbing ----------------------------------------------------------------------

    def _rows(self) -> list[AirtableWebhook]:
        with self._db() as session:
            rows = list(session.scalars(select(AirtableWebhook)))
            session.expunge_all()
            return rows

    def _forget(self, webhook_id: str) -> None:
        with self._db.begin() as session:
            row = session.get(AirtableWebhook, webhook_id)
            if row is not None:
                session.delete(row)


def _connection(owner_id: int | None) -> int:
    """The gateway user whose token a webhook's calls use (the org's for None)."""
    return ORG_CONNECTION if owner_id is None else owner_id


def _info(row: AirtableWebhook) -> WebhookInfo:
    return WebhookInfo(
        id=row.id,
        airtable_id=row.airtable_id,
        owner_id=row.owner_id,
        base_id=row.base_id,
        table_id=row.table_id,
        cursor=row.cursor,
        expires_at=row.expires_at,
        last_ping_at=row.last_ping_at,
    )
