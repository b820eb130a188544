"""Record changes, from wherever they are seen, to whoever keeps something in step.

Two sources report changes: the gateway after every write it makes for the app
(`source="app"`), and the Airtable-webhook payload reader (`source="airtable"`). Listeners
(mirrors, record triggers, sync) subscribe once at composition time. A listener that fails
is logged and does not stop the others or the write that reported the change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)

ChangeKind = Literal["created", "updated", "deleted"]
ChangeSource = Literal["app", "airtable"]


@dataclass(frozen=True)
class RecordChange:
    """One record created, updated or deleted in one table.

    Attributes:
        fields: The record's cells keyed by field ID as known after the change (all of
            them for app writes, the changed ones for webhook payloads); empty for deletes.
        changed_fields: Field IDs whose value changed (empty when unknown: a create).
        user_id: Whose connection made the write (app) or watches the table (airtable).
    """

    base_id: str
    table_id: str
    record_id: str
    kind: ChangeKind
    source: ChangeSource
    fields: dict[str, Any] = field(default_factory=dict)
    changed_fields: tuple[str, ...] = ()
    user_id: int | None = None


Listener = Callable[[Sequence[RecordChange]], None]


class ChangeFeed:
    """In-process fan-out of record changes to subscribed listeners."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish(self, changes: Sequence[RecordChange]) -> None:
        if not changes:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(changes)
            except Exception:
                logger.exception("a record-change listener failed; the others still ran")
