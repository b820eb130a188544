"""The batch a dead worker may have had in flight: written at Airtable, not yet audited.

A change set is written ten records a request, each batch audited right after Airtable
answers. A worker killed between the two leaves one batch that Airtable holds and the
log does not list. Before a re-executed apply writes again, it looks at that batch in
Airtable: when the batch's values are all there, it is audited instead of written, so no
record is written twice. (A batch is one request: Airtable applies all of it or none.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from pyairtable.api.types import RecordDict
from pyairtable.formulas import EQ, OR
from pyairtable.formulas import Field as F

from services.airtable.cells import same_value
from services.airtable.gateway import AirtableGateway
from services.airtable.lookups import RecordLookups
from services.airtable.proposals import PlannedChange
from services.airtable.writing import BatchWriter, Target

logger = logging.getLogger(__name__)


class InFlightBatch:
    """Settles the first unaudited batch of a change set that is being resumed."""

    def __init__(
        self, gateway: AirtableGateway, lookups: RecordLookups, writer: BatchWriter
    ) -> None:
        self._gateway = gateway
        self._lookups = lookups
        self._writer = writer

    def settle(
        self,
        target: Target,
        batch: Sequence[PlannedChange],
        audited: set[str],
        since: datetime,
    ) -> bool:
        """Audit `batch` if Airtable already holds it; True when it did (skip writing it).

        Args:
            audited: record IDs the change set's audit already lists (not candidates).
            since: when the change set began; only records created after it are its own.
        """
        if not batch or len({c.action for c in batch}) != 1:
            return False
        action = batch[0].action
        if action == "create":
            found = self._created(target, batch, audited, since)
        else:
            found = self._touched(target, batch)
        if found is None:
            return False
        self._writer.audit_written(target, batch, found)
        logger.info(
            "change set %s: a batch of %d %ss written before a crash was audited, not rewritten",
            target.change_set_id,
            len(batch),
            action,
        )
        return True

    def _touched(self, target: Target, batch: Sequence[PlannedChange]) -> list[str] | None:
        ids = [str(c.record_id) for c in batch]
        fields = sorted({f for c in batch for f in c.after})
        current = self._lookups.by_id(
            target.user_id, target.base_id, target.table_id, ids, fields or []
        )
        if batch[0].action == "delete":
            return ids if not any(i in current for i in ids) else None
        for change in batch:
            record = current.get(str(change.record_id))
            if record is None or not all(
                same_value(record["fields"].get(f), v) for f, v in change.after.items()
            ):
                return None
        return ids

    def _created(
        self, target: Target, batch: Sequence[PlannedChange], audited: set[str], since: datetime
    ) -> list[str] | None:
        table = self._gateway.schema(target.user_id, target.base_id).table_by_id(target.table_id)
        if table is None:
            return None
        primary = table.primary_field_id
        names = [c.after.get(primary) for c in batch]
        if any(not isinstance(n, str) or not n for n in names):
            return None  # nothing to find them by: write them (a duplicate is possible)
        name_of = {f.id: f.name for f in table.fields}
        formula = OR(*(EQ(F(name_of[primary]), n) for n in dict.fromkeys(names)))
        fields = sorted({f for c in batch for f in c.after})
        candidates = [
            r
            for page in self._gateway.pages(
                target.user_id, target.base_id, target.table_id, fields=fields, formula=formula
            )
            for r in page
            if r["id"] not in audited and _created_at(r) >= since
        ]
        matched: list[str] = []
        for change in batch:
            hit = next(
                (
                    r
                    for r in candidates
                    if r["id"] not in matched
                    and all(same_value(r["fields"].get(f), v) for f, v in change.after.items())
                ),
                None,
            )
            if hit is None:
                return None
            matched.append(hit["id"])
        return matched


def _created_at(record: RecordDict) -> datetime:
    return datetime.fromisoformat(record["createdTime"].replace("Z", "+00:00"))
