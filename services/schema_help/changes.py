"""Schema proposals: create a table, create a field, rename a field. Never a delete.

A tool proposes (checked against the base's schema now, kept in Redis for a while); the
person's Confirm applies it once through Airtable's meta API, audits it, and forgets the
cached schema so the next `describe_table` shows it.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import redis
import requests
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.cells import plain_text
from services.airtable.errors import translate
from services.airtable.gateway import AirtableGateway
from services.airtable.schema import TableSchema
from services.audit import record_event
from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.schema_help.formula import NotPreviewedError, check_formula, preview, shown

logger = logging.getLogger(__name__)

PREVIEW_RECORDS = 5
TTL_SECONDS = 1800
# Field types schema help creates, and the options each needs by default.
FIELD_TYPES: dict[str, dict[str, Any] | None] = {
    "singleLineText": None,
    "multilineText": None,
    "email": None,
    "url": None,
    "phoneNumber": None,
    "number": {"precision": 0},
    "percent": {"precision": 0},
    "currency": {"precision": 2, "symbol": "$"},
    "rating": {"max": 5, "icon": "star", "color": "yellowBright"},
    "checkbox": {"icon": "check", "color": "greenBright"},
    "date": {"dateFormat": {"name": "iso"}},
    "dateTime": {
        "dateFormat": {"name": "iso"},
        "timeFormat": {"name": "24hour"},
        "timeZone": "utc",
    },
    "singleSelect": {"choices": []},
    "multipleSelects": {"choices": []},
    "multipleRecordLinks": {"linkedTableId": ""},
    "formula": {"formula": ""},
}


@dataclass(frozen=True)
class FieldSpec:
    """A field to create: name, type and options (choices, precision, formula, link)."""

    name: str
    type: str
    choices: list[str] = field(default_factory=list)
    precision: int | None = None
    symbol: str | None = None
    formula: str | None = None
    linked_table: str | None = None  # a table name; resolved to its ID when checked
    description: str = ""

    def api_options(self, linked_table_id: str | None = None) -> dict[str, Any] | None:
        defaults = FIELD_TYPES[self.type]
        if defaults is None:
            return None
        options = json.loads(json.dumps(defaults))
        if self.type in ("singleSelect", "multipleSelects"):
            options["choices"] = [{"name": c} for c in self.choices]
        if self.precision is not None and "precision" in options:
            options["precision"] = self.precision
        if self.symbol and "symbol" in options:
            options["symbol"] = self.symbol
        if self.type == "formula":
            options = {"formula": self.formula or ""}
        if self.type == "multipleRecordLinks":
            options = {"linkedTableId": linked_table_id or ""}
        return dict(options)


@dataclass(frozen=True)
class SchemaProposal:
    id: str
    user_id: int
    base_id: str
    kind: str  # create_table | create_field | rename_field
    table: str  # the table's name (create_table: the new table's)
    table_id: str | None = None
    fields: list[FieldSpec] = field(default_factory=list)
    field_id: str | None = None
    old_name: str | None = None
    new_name: str | None = None
    linked_ids: dict[str, str] = field(default_factory=dict)  # field name -> linked table ID
    preview: list[dict[str, str]] = field(default_factory=list)
    preview_note: str = ""

    def to_artifact(self) -> dict[str, Any]:
        data = _jsonable(self)
        data["change"] = data.pop("kind")  # create_table, create_field or rename_field
        return {**data, "kind": "schema_proposal"}

    def describe(self) -> str:
        if self.kind == "rename_field":
            return f'Proposed: rename field "{self.old_name}" of {self.table} to "{self.new_name}".'
        names = ", ".join(f"{f.name} ({f.type})" for f in self.fields)
        where = "new table " + self.table if self.kind == "create_table" else self.table
        shown_preview = ""
        if self.preview:
            shown_preview = " Preview: " + "; ".join(
                f"{p['record']}: {p['value']}" for p in self.preview
            )
        return (
            f"Proposed: create {names} in {where}.{shown_preview} {self.preview_note} Nothing "
            "changes until the person presses Confirm on the card."
        ).replace("  ", " ")


def _jsonable(proposal: SchemaProposal) -> dict[str, Any]:
    return asdict(proposal)


def _from_json(raw: bytes | str) -> SchemaProposal:
    data = json.loads(raw)
    data["fields"] = [FieldSpec(**f) for f in data["fields"]]
    return SchemaProposal(**data)


class SchemaHelp:
    """Propose and apply schema changes for their owner."""

    def __init__(
        self,
        gateway: AirtableGateway,
        client: redis.Redis,
        sessions: sessionmaker[Session],
        *,
        prefix: str,
    ) -> None:
        self._gateway = gateway
        self._redis = client
        self._db = sessions
        self._prefix = f"{prefix}schema:proposal:"

    # -- proposals -----------------------------------------------------------------------

    def propose_table(
        self, user_id: int, base_id: str, name: str, fields: list[FieldSpec]
    ) -> SchemaProposal:
        """A new table; its first field is the primary field (a text, number or date type).

        Raises:
            InvalidInputError: the name is taken or empty, no fields, or a bad field.
        """
        schema = self._gateway.schema(user_id, base_id, refresh=True)
        if not name.strip():
            raise InvalidInputError("Give the new table a name.")
        if schema.find_table(name) is not None:
            raise InvalidInputError(f'There is already a table "{name}" in this base.')
        if not fields:
            raise InvalidInputError("A new table needs at least one field (its primary field).")
        if fields[0].type in ("checkbox", "multipleRecordLinks", "multipleSelects", "singleSelect"):
            raise InvalidInputError(
                f"{fields[0].name} cannot be the primary field: use text, a number or a date."
            )
        _unique_names([f.name for f in fields])
        linked = {f.name: self._linked(schema, f) for f in fields if f.linked_table}
        for spec in fields:
            _check_field(spec, [f.name for f in fields if f is not spec] + [spec.name])
        return self._save(
            SchemaProposal(
                _new_id(),
                user_id,
                base_id,
                "create_table",
                name.strip(),
                None,
                fields,
                linked_ids=linked,
            )
        )

    def propose_field(
        self, user_id: int, base_id: str, table: str, spec: FieldSpec
    ) -> SchemaProposal:
        """A new field in `table` (a formula field is checked and previewed on records).

        Raises:
            InvalidInputError: unknown table, a name taken, a bad type or options, or a
                formula that does not parse or reads unknown fields.
        """
        found = self._table(user_id, base_id, table)
        if found.find_field(spec.name) is not None:
            raise InvalidInputError(f'{found.name} already has a field "{spec.name}".')
        names = [f.name for f in found.fields]
        _check_field(spec, names)
        linked: dict[str, str] = {}
        if spec.linked_table:
            schema = self._gateway.schema(user_id, base_id)
            linked[spec.name] = self._linked(schema, spec)
        rows: list[dict[str, str]] = []
        note = ""
        if spec.type == "formula":
            rows, note = self._preview(user_id, base_id, found, spec.formula or "")
        return self._save(
            SchemaProposal(
                _new_id(),
                user_id,
                base_id,
                "create_field",
                found.name,
                found.id,
                [spec],
                linked_ids=linked,
                preview=rows,
                preview_note=note,
            )
        )

    def propose_rename(
        self, user_id: int, base_id: str, table: str, field_name: str, new_name: str
    ) -> SchemaProposal:
        found = self._table(user_id, base_id, table)
        current = found.field(field_name)
        if not new_name.strip():
            raise InvalidInputError("Give the field a new name.")
        other = found.find_field(new_name)
        if other is not None and other.id != current.id:
            raise InvalidInputError(f'{found.name} already has a field "{new_name}".')
        return self._save(
            SchemaProposal(
                _new_id(),
                user_id,
                base_id,
                "rename_field",
                found.name,
                found.id,
                field_id=current.id,
                old_name=current.name,
                new_name=new_name.strip(),
            )
        )

    # -- confirm / cancel ----------------------------------------------------------------

    def load(self, proposal_id: str, user_id: int) -> SchemaProposal:
        raw = self._redis.get(self._prefix + proposal_id)
        if raw is None:
            raise NotFoundError("This proposed schema change has expired or was handled.")
        proposal = _from_json(raw)
        if proposal.user_id != user_id:
            raise NotAllowedError("This proposed schema change belongs to someone else.")
        return proposal

    def apply(self, proposal_id: str, user_id: int) -> dict[str, Any]:
        """Apply once (the proposal is taken from Redis first); audited.

        Raises:
            NotFoundError: expired, cancelled or already applied.
            AirtableError: the meta API refused it (nothing was changed then).
        """
        proposal = self.load(proposal_id, user_id)
        if not self._redis.delete(self._prefix + proposal_id):
            raise NotFoundError("This proposed schema change was already applied.")
        api = self._gateway.meta_api(user_id)
        try:
            result = self._apply(api, proposal)
        except requests.RequestException as exc:
            raise translate(exc, what=f"base {proposal.base_id}") from exc
        finally:
            self._gateway.forget_schema(proposal.base_id)
        with self._db.begin() as session:
            record_event(
                session,
                actor_user_id=user_id,
                action=f"schema.{proposal.kind}",
                target=f"{proposal.base_id}/{proposal.table}",
                detail={"proposal_id": proposal.id, **result},
            )
        logger.info("schema proposal %s applied by %s", proposal.id, user_id)
        return result

    def cancel(self, proposal_id: str, user_id: int) -> None:
        self.load(proposal_id, user_id)
        self._redis.delete(self._prefix + proposal_id)

    def state(self, proposal_id: str, user_id: int) -> str:
        try:
            self.load(proposal_id, user_id)
        except (NotFoundError, NotAllowedError):
            return "closed"
        return "pending"

    # -- inside --------------------------------------------------------------------------

    def _apply(self, api: Any, proposal: SchemaProposal) -> dict[str, Any]:
        base = api.base(proposal.base_id)
        if proposal.kind == "create_table":
            fields = [_field_body(f, proposal.linked_ids.get(f.name)) for f in proposal.fields]
            created = base.create_table(proposal.table, fields)
            return {"table_id": created.id, "fields": [f.name for f in proposal.fields]}
        table = api.table(proposal.base_id, proposal.table_id)
        if proposal.kind == "create_field":
            spec = proposal.fields[0]
            made = table.create_field(
                spec.name,
                spec.type,
                description=spec.description or None,
                options=spec.api_options(proposal.linked_ids.get(spec.name)),
            )
            return {"field_id": made.id, "field": spec.name, "type": spec.type}
        url = f"{table.urls.fields}/{proposal.field_id}"
        api.request("PATCH", url, json={"name": proposal.new_name})
        return {"field_id": proposal.field_id, "old": proposal.old_name, "new": proposal.new_name}

    def _preview(
        self, user_id: int, base_id: str, table: TableSchema, formula: str
    ) -> tuple[list[dict[str, str]], str]:
        names = {f.id: f.name for f in table.fields}
        rows: list[dict[str, str]] = []
        pages = self._gateway.pages(user_id, base_id, table.id, max_records=PREVIEW_RECORDS)
        today = datetime.now(UTC).date()
        try:
            for page in pages:
                for record in page:
                    cells = {names.get(k, k): v for k, v in record["fields"].items()}
                    label = plain_text(record["fields"].get(table.primary.id)) or record["id"]
                    value = preview(formula, cells, today=today)
                    rows.append({"record": label[:80], "value": shown(value)})
        except NotPreviewedError as exc:
            return [], f"(No preview: it uses {exc}, which only Airtable evaluates.)"
        return rows[:PREVIEW_RECORDS], f"(Preview computed by the app for {today:%Y-%m-%d}.)"

    def _table(self, user_id: int, base_id: str, name: str) -> TableSchema:
        return self._gateway.schema(user_id, base_id, refresh=True).table(name)

    def _linked(self, schema: Any, spec: FieldSpec) -> str:
        target = schema.table(spec.linked_table or "")
        return str(target.id)

    def _save(self, proposal: SchemaProposal) -> SchemaProposal:
        self._redis.set(self._prefix + proposal.id, json.dumps(_jsonable(proposal)), ex=TTL_SECONDS)
        return proposal


def _field_body(spec: FieldSpec, linked_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": spec.name, "type": spec.type}
    options = spec.api_options(linked_id)
    if options is not None:
        body["options"] = options
    if spec.description:
        body["description"] = spec.description
    return body


def _check_field(spec: FieldSpec, names: list[str]) -> None:
    if not spec.name.strip():
        raise InvalidInputError("Every field needs a name.")
    if spec.type not in FIELD_TYPES:
        kinds = ", ".join(FIELD_TYPES)
        raise InvalidInputError(f"{spec.type} is not a field type schema help creates: {kinds}.")
    if spec.type in ("singleSelect", "multipleSelects"):
        if not spec.choices:
            raise InvalidInputError(f"{spec.name} needs its options (choices).")
        _unique_names(spec.choices)
    if spec.type == "multipleRecordLinks" and not spec.linked_table:
        raise InvalidInputError(f"{spec.name} links records: name the table it links to.")
    if spec.type == "formula":
        check_formula(spec.formula or "", [n for n in names if n != spec.name])


def _unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise InvalidInputError(f'"{name}" is used twice.')
        seen.add(name.casefold())


def _new_id() -> str:
    return f"schema_{secrets.token_hex(8)}"


__all__ = ["FieldSpec", "SchemaHelp", "SchemaProposal", "date"]
