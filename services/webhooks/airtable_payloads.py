"""The durable payload read a ping enqueues, executed by the worker.

One DBOS workflow per ping, on a queue that runs one read at a time per worker.
It loops: a step fetches the page of payloads after the stored cursor (its result is
checkpointed), then a step turns the page into effects and only then moves the cursor
(`UPDATE ... WHERE cursor = start`). A worker killed between the two replays the same page
on recovery; a worker killed inside the second redoes effects that are idempotent (run IDs
derived from trigger, payload and record). So no payload is skipped (the cursor never
moves before its effects) and no trigger fires twice.

Effects of a page: `RecordChange(source="airtable")` on `Services.airtable.feed`, one
`airtable.record.changed` event per change to the webhook's owner, record-trigger runs,
and, when a payload says the schema changed, the gateway's schema and name caches dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.airtable.change_feed import ChangeFeed, RecordChange
from services.airtable.gateway import AirtableGateway
from services.events.bus import EventBus
from services.events.types import AIRTABLE_RECORD_CHANGED
from services.webhooks.airtable_hooks import PAYLOAD_WORKFLOW, AirtableWebhooks
from services.webhooks.record_triggers import NumberedChange, RecordTriggers, TableResolver

logger = logging.getLogger(__name__)

MAX_PAGES_PER_READ = 200  # 10,000 payloads; a later ping (or the worker's check) goes on
_SCHEMA_KEYS = ("changedFieldsById", "createdFieldsById", "destroyedFieldIds", "changedMetadata")


@dataclass
class ParsedPage:
    changes: list[NumberedChange] = field(default_factory=list)
    schema_tables: set[str] = field(default_factory=set)
    schema_changed: bool = False


def parse_payloads(
    base_id: str, owner_id: int | None, start: int, payloads: list[dict[str, Any]]
) -> ParsedPage:
    """Airtable's v0 payloads as record changes numbered by cursor, and schema news."""
    parsed = ParsedPage()
    for offset, payload in enumerate(payloads):
        number = start + offset
        if payload.get("createdTablesById") or payload.get("destroyedTableIds"):
            parsed.schema_changed = True
        for table_id, entry in (payload.get("changedTablesById") or {}).items():
            if any(entry.get(k) for k in _SCHEMA_KEYS):
                parsed.schema_changed = True
                parsed.schema_tables.add(table_id)
            for change in _record_changes(base_id, owner_id, table_id, entry):
                parsed.changes.append(NumberedChange(number, change))
    return parsed


def _record_changes(
    base_id: str, owner_id: int | None, table_id: str, entry: Mapping[str, Any]
) -> list[RecordChange]:
    found = []
    for record_id, data in (entry.get("createdRecordsById") or {}).items():
        found.append(
            RecordChange(
                base_id,
                table_id,
                record_id,
                "created",
                "airtable",
                fields=dict(data.get("cellValuesByFieldId") or {}),
                user_id=owner_id,
            )
        )
    for record_id, data in (entry.get("changedRecordsById") or {}).items():
        current = dict((data.get("current") or {}).get("cellValuesByFieldId") or {})
        unchanged = dict((data.get("unchanged") or {}).get("cellValuesByFieldId") or {})
        found.append(
            RecordChange(
                base_id,
                table_id,
                record_id,
                "updated",
                "airtable",
                fields={**unchanged, **current},
                changed_fields=tuple(current),
                user_id=owner_id,
            )
        )
    for record_id in entry.get("destroyedRecordIds") or []:
        found.append(RecordChange(base_id, table_id, record_id, "deleted", "airtable"))
    return found


class PayloadReader:
    """Registers the payload-read workflow with DBOS and does its two steps."""

    def __init__(
        self,
        webhooks: AirtableWebhooks,
        triggers: RecordTriggers,
        gateway: AirtableGateway,
        events: EventBus,
        feed: ChangeFeed,
    ) -> None:
        self._webhooks = webhooks
        self._triggers = triggers
        self._gateway = gateway
        self._events = events
        self._feed = feed

    def register(self) -> Callable[..., Any]:
        """Register with DBOS (before `DBOS.launch()`); returns the workflow function."""
        from dbos import DBOS

        def fetch_page(webhook_id: str) -> dict[str, Any] | None:
            return self.fetch(webhook_id)

        def handle_page(webhook_id: str, page: dict[str, Any]) -> int:
            return self.handle(webhook_id, page)

        # DBOS marks the function it wraps, which a bound method refuses: wrap plain ones.
        # Airtable busy or a store blip: retried with backoff (1 s, doubling, 6 attempts).
        fetch = DBOS.step(name="airtable.fetch", retries_allowed=True, max_attempts=6)(fetch_page)
        handle = DBOS.step(name="airtable.handle", retries_allowed=True, max_attempts=6)(
            handle_page
        )

        @DBOS.workflow(name=PAYLOAD_WORKFLOW)
        def airtable_payloads(webhook_id: str) -> int:
            handled = 0
            for _ in range(MAX_PAGES_PER_READ):
                page = fetch(webhook_id)
                if page is None:
                    break
                handled += handle(webhook_id, page)
                if not page["more"] or page["cursor"] == page["start"]:
                    break
            return handled

        return airtable_payloads

    def fetch(self, webhook_id: str) -> dict[str, Any] | None:
        """The next page after the stored cursor (None: the webhook is no longer ours)."""
        return self._webhooks.payload_page(webhook_id)

    def handle(self, webhook_id: str, page: dict[str, Any]) -> int:
        """The page's effects, then the cursor; returns how many changes it held."""
        info = self._webhooks.get(webhook_id)
        if info is None or info.cursor != page["start"]:
            return 0  # gone, or this page was handled before a crash ended the step
        parsed = parse_payloads(info.base_id, info.owner_id, page["start"], page["payloads"])
        if parsed.schema_changed:
            self._gateway.forget_schema(info.base_id)
            for table_id in parsed.schema_tables | {info.table_id}:
                self._gateway.forget_names(info.base_id, table_id)
        started: list[str] = []
        if info.owner_id is not None:  # the org's webhooks serve mirrors, not triggers
            started = self._triggers.start_for(
                info.owner_id,
                info.base_id,
                info.table_id,
                webhook_id,
                parsed.changes,
                resolve=TableResolver(self._webhooks.watched_table),
            )
        changes = [c.change for c in parsed.changes]
        self._feed.publish(changes)
        for change in changes:
            self._events.publish(
                AIRTABLE_RECORD_CHANGED,
                {
                    "base_id": change.base_id,
                    "table_id": change.table_id,
                    "record_id": change.record_id,
                    "kind": change.kind,
                    "changed_fields": list(change.changed_fields),
                },
                user_id=info.owner_id,
            )
        moved = self._webhooks.advance(webhook_id, page["start"], page["cursor"])
        logger.info(
            "airtable webhook %s: %d payloads, %d changes, %d runs%s",
            webhook_id,
            len(page["payloads"]),
            len(changes),
            len(started),
            "" if moved else " (cursor already moved)",
        )
        return len(changes)
