"""Sync runs started by Airtable changes, beside the schedule.

A sync job's table is watched by an Airtable webhook (`SyncJobs.watched`, registered with
`AirtableWebhooks.also_watch` like mirrors). The payload reader publishes each change on
the change feed (`source="airtable"`); `SyncTriggers.on_changes` notes the jobs a change
concerns in `ChangeRequests` (Redis: job → when its first unsynced change was seen), and
the worker's sync loop (`SyncLauncher.fire_changed`) queues one run per job once the
debounce has passed and no run of the job is queued or going. The schedule stays the
safety net (a lost webhook, Redis emptied).

What does not start a run:
- app writes (`source="app"`): the webhook reports the same change again, and the job's
  own writes are among them;
- the echo of the job's own writes: a change whose mapped cells equal what the job last
  saw in Airtable for that record (its snapshot) is nothing new. An echo the filter cannot
  recognise starts one run that finds nothing to write, so it never loops;
- changes to fields the job does not map, and deletes of records it never synced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.change_feed import RecordChange
from services.sync.convert import ConversionError
from services.sync.orm import SyncFieldMap, SyncJob, SyncSnapshot
from services.sync.types import FieldMapping

logger = logging.getLogger(__name__)

# A change run queued this long ago and never started is taken as lost (its job deleted,
# the queue dropped): another may be queued.
QUEUED_FOR_AT_MOST_SECONDS = 600


class ChangeRequests:
    """Jobs waiting for a change-triggered run, shared by every process (Redis)."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._key = f"{prefix}sync:changed"
        self._prefix = prefix

    def request(self, job_ids: Sequence[str], now: float | None = None) -> None:
        """Note a change for these jobs; the first unsynced change's time is kept."""
        if job_ids:
            moment = time.time() if now is None else now
            self._redis.zadd(self._key, dict.fromkeys(job_ids, moment), nx=True)

    def due(self, before: float) -> list[tuple[str, float]]:
        """Jobs whose first waiting change is older than `before`, with its time."""
        found: list[Any] = self._redis.zrangebyscore(self._key, "-inf", before, withscores=True)
        return [(_text(job), float(score)) for job, score in found]

    def waiting(self) -> set[str]:
        return {_text(j) for j in self._redis.zrange(self._key, 0, -1)}

    def taken(self, job_id: str, run_id: str) -> None:
        """The job's waiting changes are now the business of queued run `run_id`."""
        with self._redis.pipeline() as pipe:
            pipe.zrem(self._key, job_id)
            pipe.set(self._queued_key(job_id), run_id, ex=QUEUED_FOR_AT_MOST_SECONDS)
            pipe.execute()

    def drop(self, job_id: str) -> None:
        self._redis.zrem(self._key, job_id)

    def queued(self, job_id: str) -> str | None:
        """The change run last queued for the job (within the last ten minutes)."""
        value = self._redis.get(self._queued_key(job_id))
        return _text(value) if value is not None else None

    def _queued_key(self, job_id: str) -> str:
        return f"{self._prefix}sync:queued:{job_id}"


class SyncTriggers:
    """The change-feed listener that asks for runs of the jobs a change concerns."""

    def __init__(self, sessions: sessionmaker[Session], requests: ChangeRequests) -> None:
        self._db = sessions
        self._requests = requests

    def on_changes(self, changes: Sequence[RecordChange]) -> None:
        by_table: dict[tuple[str, str], list[RecordChange]] = {}
        for change in changes:
            if change.source == "airtable":
                by_table.setdefault((change.base_id, change.table_id), []).append(change)
        wanted: list[str] = []
        for (base_id, table_id), found in by_table.items():
            for job_id, mappings in self._jobs(base_id, table_id).items():
                if self._news(job_id, mappings, found):
                    wanted.append(job_id)
        if wanted:
            self._requests.request(wanted)
            logger.info("sync jobs %s: Airtable changed; a run is coming", ", ".join(wanted))

    def _jobs(self, base_id: str, table_id: str) -> dict[str, tuple[FieldMapping, ...]]:
        with self._db() as session:
            ids = list(
                session.scalars(
                    select(SyncJob.id).where(
                        SyncJob.base_id == base_id,
                        SyncJob.table_id == table_id,
                        SyncJob.enabled.is_(True),
                        SyncJob.direction != "s_to_a",  # Airtable changes are not read
                    )
                )
            )
            maps = session.scalars(
                select(SyncFieldMap).where(SyncFieldMap.job_id.in_(ids)).order_by(SyncFieldMap.id)
            )
            found: dict[str, list[FieldMapping]] = {i: [] for i in ids}
            for m in maps:
                found[m.job_id].append(
                    FieldMapping(m.airtable_field, m.sql_column, m.kind, m.timezone)  # type: ignore[arg-type]
                )
            return {i: tuple(m) for i, m in found.items()}

    def _news(
        self, job_id: str, mappings: tuple[FieldMapping, ...], changes: list[RecordChange]
    ) -> bool:
        """Whether any change is something the job has not seen (see the module docstring)."""
        mapped = {m.airtable_field for m in mappings}
        relevant = [
            c
            for c in changes
            if c.kind != "updated" or not c.changed_fields or mapped & set(c.changed_fields)
        ]
        if not relevant:
            return False
        with self._db() as session:
            snaps = {
                s.airtable_id: s.airtable
                for s in session.scalars(
                    select(SyncSnapshot).where(
                        SyncSnapshot.job_id == job_id,
                        SyncSnapshot.airtable_id.in_([c.record_id for c in relevant]),
                    )
                )
            }
        for change in relevant:
            seen = snaps.get(change.record_id)
            if change.kind == "deleted":
                if change.record_id in snaps:
                    return True  # a record the job keeps in step is gone
                continue
            if seen is None or not _same(change, mappings, seen):
                return True
        return False


def _same(change: RecordChange, mappings: tuple[FieldMapping, ...], seen: dict) -> bool:
    """Whether the change's cells of the mapped fields equal what the job last saw."""
    fields = set(change.changed_fields) or {m.airtable_field for m in mappings}
    for mapping in mappings:
        if mapping.airtable_field not in fields:
            continue
        try:
            value = mapping.converter.from_airtable(
                _plain(mapping, change.fields.get(mapping.airtable_field))
            )
        except (ConversionError, _Unknown):
            return False
        if value != seen.get(mapping.sql_column):
            return False
    return True


class _Unknown(Exception):
    """A payload cell this filter cannot compare (then the change counts as news)."""


def _plain(mapping: FieldMapping, value: Any) -> Any:
    """A webhook payload's cell as the REST API gives it: selects carry `{id, name}`
    objects there, links `{id, name}` objects."""
    if isinstance(value, dict):
        if "name" in value:
            return value["name"]
        raise _Unknown
    if isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, dict):
                items.append(item)
            elif mapping.kind == "links" and "id" in item:
                items.append(item["id"])
            elif mapping.kind != "links" and "name" in item:
                items.append(item["name"])
            else:
                raise _Unknown
        if mapping.kind == "link_names" and items and not all(isinstance(i, dict) for i in value):
            raise _Unknown  # record IDs, not names: compare after a run instead
        return items
    return value


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
