"""Persistent state: SQLite (stdlib ``sqlite3``) behind an in-memory working copy.

Everything is loaded once at :meth:`Store.open`; reads never touch SQLite, and every
write goes through to it in one transaction. One re-entrant lock guards the whole store:
callers hold ``store.lock`` around a read-modify-write sequence.
"""

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator.ids import derived_id, format_time, parse_time
from emulator.schema import Base, Record, Table, base_from_json, base_to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bases (
    position INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, base_id TEXT NOT NULL,
    table_id TEXT NOT NULL, created_time TEXT NOT NULL, modified_time TEXT NOT NULL,
    auto_number INTEGER NOT NULL, cells TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (table_id TEXT PRIMARY KEY, next_auto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS comments (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, record_id TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, base_id TEXT NOT NULL,
    data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attachment_files (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_payloads (
    webhook_id TEXT NOT NULL, cursor INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (webhook_id, cursor));
"""

#: The single user every token acts as.
USER = {"id": derived_id("usr", "emulator-user"), "email": "you@example.com", "name": "You"}


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Store:
    """The emulator's data: bases with records, comments and webhooks.

    Build it with :meth:`open`. Attributes are read under ``lock``; mutate only through
    the methods below so that SQLite stays in step.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.lock = threading.RLock()
        self._conn = conn
        self.bases: dict[str, Base] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.payloads: dict[str, list[dict[str, Any]]] = {}
        self.user = dict(USER)

    @classmethod
    def open(cls, path: str | Path) -> "Store":
        """Open (creating if needed) the SQLite file at ``path`` and load it into memory.

        Args:
            path: A file path, or ``":memory:"`` for a throw-away store.

        Returns:
            The loaded store.
        """
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if target != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        store = cls(conn)
        store._load()
        return store

    def close(self) -> None:
        """Close the SQLite connection."""
        with self.lock:
            self._conn.close()

    def is_empty(self) -> bool:
        """Whether the store holds no bases."""
        with self.lock:
            return not self.bases

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _load(self) -> None:
        conn = self._conn
        for (data,) in conn.execute("SELECT data FROM bases ORDER BY position"):
            base = base_from_json(json.loads(data))
            self.bases[base.id] = base
        tables = {t.id: t for b in self.bases.values() for t in b.tables}
        counters = dict(conn.execute("SELECT table_id, next_auto FROM counters").fetchall())
        rows = conn.execute(
            "SELECT id, table_id, created_time, modified_time, auto_number, cells "
            "FROM records ORDER BY seq"
        )
        for rec_id, table_id, created, modified, auto, cells in rows:
            table = tables.get(table_id)
            if table is None:
                continue
            table.records[rec_id] = Record(
                id=rec_id,
                created=parse_time(created),
                created_time=created,
                modified=parse_time(modified),
                cells=json.loads(cells),
                auto_number=auto,
            )
        for table in tables.values():
            highest = max((r.auto_number for r in table.records.values()), default=0)
            table.next_auto_number = max(counters.get(table.id, 1), highest + 1)
        for (data,) in conn.execute("SELECT data FROM comments ORDER BY seq"):
            comment = json.loads(data)
            self.comments.setdefault(comment["recordId"], []).append(comment)
        for (data,) in conn.execute("SELECT data FROM webhooks ORDER BY rowid"):
            hook = json.loads(data)
            self.webhooks[hook["id"]] = hook
            self.payloads[hook["id"]] = []
        for hook_id, data in conn.execute(
            "SELECT webhook_id, data FROM webhook_payloads ORDER BY webhook_id, cursor"
        ):
            self.payloads.setdefault(hook_id, []).append(json.loads(data))

    # -- schema ---------------------------------------------------------------------------

    def save_base(self, base: Base) -> None:
        """Persist a new or changed base schema."""
        with self._tx() as conn:
            self.bases[base.id] = base
            position = list(self.bases).index(base.id)
            conn.execute(
                "INSERT INTO bases (position, id, data) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                (position, base.id, _dump(base_to_json(base))),
            )

    # -- records --------------------------------------------------------------------------

    def _record_rows(self, base: Base, table: Table, records: Iterable[Record]) -> list[tuple]:
        return [
            (
                r.id,
                base.id,
                table.id,
                r.created_time,
                format_time(r.modified),
                r.auto_number,
                _dump(r.cells),
            )
            for r in records
        ]

    def put_records(self, base: Base, changes: dict[str, list[Record]]) -> None:
        """Insert or replace records, possibly in several tables of one base.

        Args:
            base: The base the tables belong to.
            changes: Table ID -> records to write. New records must already be in
                ``table.records`` (so that creation order is kept).
        """
        with self._tx() as conn:
            for table_id, records in changes.items():
                table = base.table_by_id(table_id)
                conn.executemany(
                    "INSERT INTO records (id, base_id, table_id, created_time, modified_time,"
                    " auto_number, cells) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
                    " SET modified_time = excluded.modified_time, cells = excluded.cells",
                    self._record_rows(base, table, records),
                )
                conn.execute(
                    "INSERT INTO counters (table_id, next_auto) VALUES (?, ?) ON CONFLICT"
                    "(table_id) DO UPDATE SET next_auto = excluded.next_auto",
                    (table.id, table.next_auto_number),
                )

    def delete_records(self, base: Base, table: Table, record_ids: list[str]) -> None:
        """Delete records (and their comments) from memory and disk."""
        with self._tx() as conn:
            for rec_id in record_ids:
                table.records.pop(rec_id, None)
                self.comments.pop(rec_id, None)
            conn.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in record_ids])
            conn.executemany("DELETE FROM comments WHERE record_id = ?", [(i,) for i in record_ids])

    # -- attachment files -----------------------------------------------------------------

    def put_file(self, file_id: str, filename: str, media_type: str, data: bytes) -> None:
        """Keep an uploaded file (on disk only; files are read back on demand)."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO attachment_files (id, filename, type, data) VALUES (?, ?, ?, ?)",
                (file_id, filename, media_type, data),
            )

    def file(self, file_id: str) -> tuple[str, str, bytes] | None:
        """An uploaded file as (filename, type, bytes), or ``None``."""
        with self.lock:
            row = self._conn.execute(
                "SELECT filename, type, data FROM attachment_files WHERE id = ?", (file_id,)
            ).fetchone()
        return None if row is None else (row[0], row[1], bytes(row[2]))

    def file_info(self, file_id: str) -> tuple[int, str] | None:
        """An uploaded file's (size, type), or ``None``."""
        with self.lock:
            row = self._conn.execute(
                "SELECT length(data), type FROM attachment_files WHERE id = ?", (file_id,)
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    # -- comments -------------------------------------------------------------------------

    def put_comment(self, comment: dict[str, Any]) -> None:
        """Insert or replace a comment (a dict with ``id`` and ``recordId``)."""
        with self._tx() as conn:
            thread = self.comments.setdefault(comment["recordId"], [])
            for index, existing in enumerate(thread):
                if existing["id"] == comment["id"]:
                    thread[index] = comment
                    break
            else:
                thread.append(comment)
            conn.execute(
                "INSERT INTO comments (id, record_id, data) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                (comment["id"], comment["recordId"], _dump(comment)),
            )

    def delete_comment(self, record_id: str, comment_id: str) -> None:
        """Delete one comment."""
        with self._tx() as conn:
            thread = self.comments.get(record_id, [])
            self.comments[record_id] = [c for c in thread if c["id"] != comment_id]
            conn.execute("DELETE FROM comments WHERE id = ?", (comment_id,))

    # -- webhooks -------------------------------------------------------------------------

    def put_webhook(self, hook: dict[str, Any]) -> None:
        """Insert or replace a webhook (a dict with ``id`` and ``baseId``)."""
        with self._tx() as conn:
            self.webhooks[hook["id"]] = hook
            self.payloads.setdefault(hook["id"], [])
            conn.execute(
                "INSERT INTO webhooks (id, base_id, data) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                (hook["id"], hook["baseId"], _dump(hook)),
            )

    def delete_webhook(self, hook_id: str) -> None:
        """Delete a webhook and its payloads."""
        with self._tx() as conn:
            self.webhooks.pop(hook_id, None)
            self.payloads.pop(hook_id, None)
            conn.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))
            conn.execute("DELETE FROM webhook_payloads WHERE webhook_id = ?", (hook_id,))

    def add_payload(self, hook: dict[str, Any], payload: dict[str, Any]) -> int:
        """Append a payload to a webhook's log and return its cursor (1-based)."""
        with self._tx() as conn:
            log = self.payloads.setdefault(hook["id"], [])
            log.append(payload)
            cursor = len(log)
            conn.execute(
                "INSERT INTO webhook_payloads (webhook_id, cursor, data) VALUES (?, ?, ?)",
                (hook["id"], cursor, _dump(payload)),
            )
            return cursor
