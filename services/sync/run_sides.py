"""`RunSides`: what one run of a sync job works on.

The run (`runner.SyncRun`) and the part of it that writes to Airtable
(`airtable_writes.AirtableWrites`) share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.sync.airtable_side import GatewayTable
from services.sync.sql_side import SqlTable
from services.sync.store import SnapshotStore
from services.sync.types import JobSpec, RunSummary


@dataclass(frozen=True)
class RunSides:
    """The job, its two sides, the snapshots of what the sides last agreed on, and the
    summary the run fills."""

    job_id: str
    owner_id: int
    spec: JobSpec
    airtable: GatewayTable
    sql: SqlTable
    store: SnapshotStore
    summary: RunSummary
