"""What a sync job is, as the store, the runner and the pages see it, and who acts on one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from services.sync.convert import Converter, Kind
from services.sync.merge import DeleteRule, Direction, Policy

MatchKind = Literal["record_id", "field"]
Detection = Literal["updated_at", "change_table"]


class Actor(Protocol):
    """Who acts on a job: a signed-in user (`services.orm.User` fits)."""

    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True)
class FieldMapping:
    """One Airtable field (by ID) ↔ one SQL column, converted as `kind`."""

    airtable_field: str
    sql_column: str
    kind: Kind
    timezone: str = "UTC"

    @property
    def converter(self) -> Converter:
        return Converter(self.kind, self.timezone)


@dataclass(frozen=True)
class JobSpec:
    """Everything a person sets on a job (the SQL URL in clear only on its way in)."""

    name: str
    base_id: str
    table_id: str
    sql_table: str
    sql_key_column: str
    mappings: tuple[FieldMapping, ...]
    match_kind: MatchKind = "record_id"
    match_sql_column: str = "airtable_id"
    match_airtable_field: str = ""
    direction: Direction = "both"
    policy: Policy = "manual"
    delete_rule: DeleteRule = "keep"
    change_detection: Detection = "updated_at"
    updated_at_column: str = "updated_at"
    airtable_modified_field: str = ""
    every_seconds: int = 300
    enabled: bool = True
    sql_url: str | None = None  # None: keep the stored one (edit); "": the app's database


@dataclass(frozen=True)
class SyncJobInfo:
    """A stored job; the SQL URL is never part of it (only whether one is set)."""

    id: str
    owner_id: int
    spec: JobSpec
    external_database: bool
    last_run_at: datetime | None
    failures: int
    created_at: datetime
    updated_at: datetime


@dataclass
class RunSummary:
    """One run's figures, as the run history keeps them."""

    run_id: str
    job_id: str
    status: str = "running"
    read_airtable: int = 0
    read_sql: int = 0
    written_airtable: int = 0
    written_sql: int = 0
    conflicts: int = 0
    errors: int = 0
    requests: int = 0
    duration_ms: int = 0
    log: list[str] = field(default_factory=list)
