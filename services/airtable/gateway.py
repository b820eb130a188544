"""The Airtable gateway: per-user connections, base access, the schema cache and raw calls.

Every call names the user it is made for. The user's token comes from their Airtable
connection; a base they cannot see through that connection is refused before any request
is sent (`NotAllowedError`). Every request goes through the shared pacing adapter.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import redis
import requests
from pyairtable import Api, Table
from pyairtable.api.types import RecordDict

from services.airtable.change_feed import ChangeFeed, ChangeKind, RecordChange
from services.airtable.client import make_paced_api
from services.airtable.connections import AirtableConnections, BaseInfo
from services.airtable.errors import translate
from services.airtable.pacing import PacedAdapter, PacingPolicy, SharedRateLimiter
from services.airtable.pacing import token_fingerprint as fingerprint
from services.airtable.schema import BaseSchema, TableSchema
from services.errors import InvalidInputError, NotAllowedError
from services.metrics import Metrics

logger = logging.getLogger(__name__)
T = TypeVar("T")
BATCH_SIZE = 10  # Airtable's limit of records per write request
_MAX_CLIENTS = 64
_STRIPES = 32  # locks that make concurrent cache misses fetch once
_MAX_DECODED_SCHEMAS = 256


class AirtableGateway:
    """Airtable for one user at a time: bases, schemas and records, paced and checked.

    Args:
        connections: Where each user's token comes from.
        client: Redis, for the shared limiter and the caches.
        endpoint_url: api.airtable.com or the emulator.
        prefix: Redis key prefix.
        policy: Pacing and retry settings.
        schema_ttl_seconds: How long a base's schema is cached.
        bases_ttl_seconds: How long a user's list of bases is cached.
        feed: Told of every record this gateway creates, updates or deletes.
    """

    def __init__(
        self,
        connections: AirtableConnections,
        client: redis.Redis,
        *,
        endpoint_url: str,
        prefix: str,
        policy: PacingPolicy,
        schema_ttl_seconds: int,
        bases_ttl_seconds: int,
        feed: ChangeFeed | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.feed = feed or ChangeFeed()
        self._connections = connections
        self._redis = client
        self._endpoint = endpoint_url
        self._prefix = f"{prefix}airtable:"
        self._policy = policy
        self._limiter = SharedRateLimiter(client, prefix=prefix, policy=policy, metrics=metrics)
        self._schema_ttl = schema_ttl_seconds
        self._bases_ttl = bases_ttl_seconds
        self._apis: dict[str, Api] = {}
        self._decoded_schemas: dict[str, tuple[bytes | str, BaseSchema]] = {}
        self._lock = threading.Lock()
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]

    # -- connections -------------------------------------------------------------------

    def _api(self, user_id: int) -> tuple[Api, str]:
        token = self._connections.token_for(user_id)
        key = fingerprint(token)
        with self._lock:
            api = self._apis.get(key)
            if api is None:
                if len(self._apis) >= _MAX_CLIENTS:
                    self._apis.pop(next(iter(self._apis)))
                adapter = PacedAdapter(self._limiter, self._policy, key)
                api = self._apis[key] = make_paced_api(self._endpoint, token, adapter)
        return api, key

    def meta_api(self, user_id: int) -> Api:
        """The paced pyairtable client of `user_id`'s token, for the meta API (schema help)."""
        return self._api(user_id)[0]

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except requests.RequestException as exc:
            raise translate(exc, what=what) from exc

    # -- bases -------------------------------------------------------------------------

    def bases(self, user_id: int, *, fresh: bool = False) -> list[BaseInfo]:
        """The bases this user's connection can see (cached briefly unless `fresh`)."""
        api, key = self._api(user_id)

        def fetch() -> list[dict[str, str]]:
            found = self._call("your bases", lambda: api.bases(force=True))
            return [
                dataclasses.asdict(BaseInfo(b.id, b.name or b.id, b.permission_level or ""))
                for b in found
            ]

        payload = self._cached(
            f"{self._prefix}bases:{user_id}:{key}", self._bases_ttl, fetch, refresh=fresh
        )
        return [BaseInfo(**item) for item in payload]

    def require_base(self, user_id: int, base_id: str, *, fresh: bool = False) -> BaseInfo:
        """The base, if the user's connection can see it; else `NotAllowedError`.

        A miss in the cached list is checked once more against Airtable, so a base shared
        a moment ago is found.
        """
        found = _find(self.bases(user_id, fresh=fresh), base_id)
        if found is None and not fresh:
            found = _find(self.bases(user_id, fresh=True), base_id)
        if found is not None:
            return found
        raise NotAllowedError(
            f"Base {base_id} is not available through your Airtable connection; "
            "list_bases shows the ones you can use."
        )

    # -- schema ------------------------------------------------------------------------

    def schema(self, user_id: int, base_id: str, *, refresh: bool = False) -> BaseSchema:
        """Every table and field of a base (cached in Redis; `refresh` refetches).

        A cached schema comes with the base's check in one Redis round trip and is the
        object decoded before while it is unchanged (`base_and_schema`): read it, never
        change it. A tool call reads it several times.
        """
        if not refresh:
            return self.base_and_schema(user_id, base_id)[1]
        return self._schema(user_id, base_id, refresh=True)

    def _schema(self, user_id: int, base_id: str, *, refresh: bool) -> BaseSchema:
        """The schema through the Redis cache (fetched on a miss or when `refresh`)."""
        self.require_base(user_id, base_id)
        return self._cached_schema(user_id, base_id, refresh=refresh)

    def _cached_schema(self, user_id: int, base_id: str, *, refresh: bool) -> BaseSchema:
        """`_schema` for a base already checked."""

        def fetch() -> dict[str, Any]:
            api, _ = self._api(user_id)
            url = str(api.build_url("meta/bases", base_id, "tables"))
            data = self._call(f"the schema of base {base_id}", lambda: api.request("GET", url))
            schema = BaseSchema.from_json(base_id, data)
            logger.info("schema of %s fetched: %d tables", base_id, len(schema.tables))
            return schema.to_json()

        cache_key = f"{self._prefix}schema:{base_id}"
        data = self._cached(cache_key, self._schema_ttl, fetch, refresh=refresh)
        return BaseSchema.from_json(base_id, data)

    def base_and_schema(self, user_id: int, base_id: str) -> tuple[BaseInfo, BaseSchema]:
        """`require_base` and `schema` together: one Redis round trip when both are cached
        (the assistant reads them for the system prompt of every turn).

        The schema returned is shared with later calls that find the same cached schema
        (decoded once per version, not on every turn): read it, never change it.
        """
        _, key = self._api(user_id)
        bases, schema = self._redis.mget(
            f"{self._prefix}bases:{user_id}:{key}", f"{self._prefix}schema:{base_id}"
        )
        if bases and schema:
            found = _find([BaseInfo(**item) for item in json.loads(bases)], base_id)
            if found is not None:
                return found, self._decoded_schema(base_id, schema)
        base = self.require_base(user_id, base_id)
        return base, self._cached_schema(user_id, base_id, refresh=False)

    def _decoded_schema(self, base_id: str, raw: bytes | str) -> BaseSchema:
        """`raw` (a cached schema) decoded, or the schema decoded from the same text before."""
        with self._lock:
            kept = self._decoded_schemas.get(base_id)
        if kept is not None and kept[0] == raw:
            return kept[1]
        schema = BaseSchema.from_json(base_id, json.loads(raw))
        with self._lock:
            if len(self._decoded_schemas) >= _MAX_DECODED_SCHEMAS:
                self._decoded_schemas.clear()
            self._decoded_schemas[base_id] = (raw, schema)
        return schema

    def forget_schema(self, base_id: str) -> None:
        """Drop the cached schema, after Airtable said a field or table is not there."""
        self._redis.delete(f"{self._prefix}schema:{base_id}")

    def cached_names(self, base_id: str, table_id: str, ids: Sequence[str]) -> dict[str, str]:
        """Primary field texts remembered for these records (linked records' labels)."""
        if not ids:
            return {}
        found = self._redis.hmget(f"{self._prefix}names:{base_id}:{table_id}", list(ids))
        return {
            i: v.decode() if isinstance(v, bytes) else str(v)
            for i, v in zip(ids, found, strict=True)
            if v is not None
        }

    def forget_names(self, base_id: str, table_id: str) -> None:
        """Drop the remembered record labels of a table (its primary field changed)."""
        self._redis.delete(f"{self._prefix}names:{base_id}:{table_id}")

    def remember_names(self, base_id: str, table_id: str, names: dict[str, str]) -> None:
        """Keep record labels as long as schemas (a rename shows up within that time)."""
        if not names:
            return
        key = f"{self._prefix}names:{base_id}:{table_id}"
        with self._redis.pipeline() as pipe:
            pipe.hset(key, mapping=dict(names.items()))
            pipe.ttl(key)
            _, ttl = pipe.execute()
        # The first write starts the clock; later ones must not extend it (Redis 6.2
        # has no EXPIRE NX), so every label is refreshed at least once per TTL.
        if ttl < 0:
            self._redis.expire(key, self._schema_ttl)

    def table(
        self, user_id: int, base_id: str, name: str, *, uses: Sequence[str] = ()
    ) -> TableSchema:
        """The table called `name`, with every field in `uses` known to it.

        When the cached schema misses the table or one of the fields, it is refetched
        once (it may have changed); what is still missing then gets "did you mean".

        Raises:
            InvalidInputError: unknown table, or (through `TableSchema.field`) field.
        """
        schema = self.schema(user_id, base_id)
        table = schema.find_table(name)
        if table is None or any(table.find_field(f) is None for f in uses):
            schema = self.schema(user_id, base_id, refresh=True)
        table = schema.table(name)
        for wanted in uses:
            table.field(wanted)
        return table

    # -- records -----------------------------------------------------------------------

    def _table(self, user_id: int, base_id: str, table_id: str) -> Table:
        self.require_base(user_id, base_id)
        api, _ = self._api(user_id)
        return api.table(base_id, table_id)

    def pages(
        self, user_id: int, base_id: str, table_id: str, **options: Any
    ) -> Iterator[list[RecordDict]]:
        """Every page of a listing (fields keyed by field ID), following `offset` to the end."""
        table = self._table(user_id, base_id, table_id)
        what = f"table {table_id}"
        pages = table.iterate(use_field_ids=True, page_size=100, **options)
        started, count = time.monotonic(), 0
        while True:
            try:
                page = next(pages)
            except StopIteration:
                break
            except requests.RequestException as exc:
                self._forget_on_unknown_name(exc, base_id)
                raise translate(exc, what=what) from exc
            count += 1
            yield page
        logger.info(
            "listed %s/%s: %d pages in %d ms",
            base_id,
            table_id,
            count,
            (time.monotonic() - started) * 1000,
        )

    def get(self, user_id: int, base_id: str, table_id: str, record_id: str) -> RecordDict:
        """One record, fields keyed by field ID."""
        table = self._table(user_id, base_id, table_id)
        return self._call(f"record {record_id}", lambda: table.get(record_id, use_field_ids=True))

    def create(
        self, user_id: int, base_id: str, table_id: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordDict]:
        """Create up to ten records (fields keyed by field ID) in one request."""
        table = self._table(user_id, base_id, table_id)
        _check_batch(records)
        created = self._call(
            f"table {table_id}",
            lambda: table.batch_create(list(records), use_field_ids=True),
        )
        self._report(user_id, base_id, table_id, "created", created)
        return created

    def update(
        self, user_id: int, base_id: str, table_id: str, updates: Sequence[dict[str, Any]]
    ) -> list[RecordDict]:
        """Update up to ten records (`{"id", "fields"}`) in one PATCH."""
        table = self._table(user_id, base_id, table_id)
        _check_batch(updates)
        updated = self._call(
            f"table {table_id}",
            lambda: table.batch_update(list(updates), use_field_ids=True),  # type: ignore[arg-type]
        )
        changed = {u["id"]: tuple(u.get("fields", {})) for u in updates}
        self._report(user_id, base_id, table_id, "updated", updated, changed)
        return updated

    def delete(self, user_id: int, base_id: str, table_id: str, record_ids: Sequence[str]) -> int:
        """Delete up to ten records in one request; returns how many were deleted."""
        table = self._table(user_id, base_id, table_id)
        _check_batch(record_ids)
        deleted = self._call(f"table {table_id}", lambda: table.batch_delete(list(record_ids)))
        gone = [item for item in deleted if item.get("deleted")]
        self._report(user_id, base_id, table_id, "deleted", gone)
        return len(gone)

    def _report(
        self,
        user_id: int,
        base_id: str,
        table_id: str,
        kind: ChangeKind,
        records: Sequence[Any],
        changed: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.feed.publish(
            [
                RecordChange(
                    base_id=base_id,
                    table_id=table_id,
                    record_id=r["id"],
                    kind=kind,
                    source="app",
                    fields=dict(r.get("fields") or {}),
                    changed_fields=(changed or {}).get(r["id"], ()),
                    user_id=user_id,
                )
                for r in records
            ]
        )

    # -- caches ------------------------------------------------------------------------

    def _forget_on_unknown_name(self, exc: requests.RequestException, base_id: str) -> None:
        response = exc.response if isinstance(exc, requests.HTTPError) else None
        if response is not None and response.status_code in (404, 422):
            self.forget_schema(base_id)

    def _cached(self, key: str, ttl: int, fetch: Callable[[], Any], *, refresh: bool) -> Any:
        """The cached value, else fetched once per process however many threads ask."""
        if not refresh and (hit := self._cache_get(key)) is not None:
            return hit
        with self._stripes[zlib.crc32(key.encode()) % len(self._stripes)]:
            if not refresh and (hit := self._cache_get(key)) is not None:
                return hit
            value = fetch()
            self._cache_set(key, value, ttl)
            return value

    def _cache_get(self, key: str) -> Any:
        raw = self._redis.get(key)
        return json.loads(raw) if raw else None

    def _cache_set(self, key: str, value: Any, ttl: int) -> None:
        self._redis.set(key, json.dumps(value, separators=(",", ":")), ex=ttl)


def _find(bases: list[BaseInfo], base_id: str) -> BaseInfo | None:
    return next((b for b in bases if b.id == base_id), None)


def _check_batch(items: Sequence[Any]) -> None:
    if not 0 < len(items) <= BATCH_SIZE:
        raise InvalidInputError(f"A write request carries 1 to {BATCH_SIZE} records.")
