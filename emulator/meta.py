"""Handlers for the Meta API: ``/v0/meta/...`` (whoami, bases, tables, fields)."""

from typing import Any

from emulator import errors
from emulator.fielddefs import LINKED_TYPES, build_field, check_name, computed_options
from emulator.fieldtypes import plain_options
from emulator.ids import format_time, new_id
from emulator.schema import Base, Field, Table, clone_schema
from emulator.state import Call
from emulator.tables import add_tables

BASES_PAGE_SIZE = 1000


def whoami(call: Call) -> dict[str, Any]:
    """``GET /v0/meta/whoami``."""
    return {"id": call.store.user["id"], "email": call.store.user["email"]}


def _allowed(call: Call) -> set[str] | None:
    return call.state.tokens.get(call.token)


def list_bases(call: Call) -> dict[str, Any]:
    """``GET /v0/meta/bases`` (1,000 a page, ``offset`` to continue)."""
    allowed = _allowed(call)
    bases = [b for b in call.store.bases.values() if allowed is None or b.id in allowed]
    raw = call.query.get("offset")
    start = 0
    if raw:
        if not raw.isdigit() or int(raw) > len(bases):
            raise errors.invalid_offset(raw)
        start = int(raw)
    page = bases[start : start + BASES_PAGE_SIZE]
    body: dict[str, Any] = {"bases": [b.to_api() for b in page]}
    if start + BASES_PAGE_SIZE < len(bases):
        body["offset"] = str(start + BASES_PAGE_SIZE)
    return body


def create_base(call: Call) -> dict[str, Any]:
    """``POST /v0/meta/bases`` with ``{name, workspaceId, tables}``."""
    body = call.json()
    name, workspace, specs = body.get("name"), body.get("workspaceId"), body.get("tables")
    if not isinstance(name, str) or not name.strip():
        raise errors.invalid_request("A base needs a name")
    if not isinstance(workspace, str) or not workspace:
        raise errors.invalid_request("A base needs a workspaceId")
    if not isinstance(specs, list) or not specs:
        raise errors.invalid_request("A base needs at least one table")
    base = Base(
        id=new_id("app"),
        name=name.strip(),
        workspace_id=workspace,
        created_time=format_time(call.now),
    )
    tables = add_tables(base, specs, call.now)
    call.store.save_base(base)
    allowed = _allowed(call)
    if allowed is not None:
        allowed.add(base.id)
    return {"id": base.id, "tables": [t.to_api() for t in tables]}


BASE_INCLUDES = ("collaborators", "inviteLinks", "interfaces")


def get_base(call: Call) -> dict[str, Any]:
    """``GET /v0/meta/bases/{baseId}``: base info and, on request, who can use it.

    ``include`` (repeatable, also ``include[]``) adds ``collaborators`` (the one emulator
    user, as a base collaborator), ``inviteLinks`` (none) and ``interfaces`` (none).
    """
    base = call.need_base()
    include = call.query.getlist("include") + call.query.getlist("include[]")
    unknown = sorted(set(include) - set(BASE_INCLUDES))
    if unknown:
        raise errors.invalid_request(f"Unknown include value: {', '.join(unknown)}")
    body: dict[str, Any] = {
        "id": base.id,
        "name": base.name,
        "createdTime": base.created_time,
        "permissionLevel": base.permission_level,
        "workspaceId": base.workspace_id,
    }
    user = call.store.user
    if "collaborators" in include:
        body["individualCollaborators"] = {
            "baseCollaborators": [
                {
                    "userId": user["id"],
                    "email": user["email"],
                    "permissionLevel": base.permission_level,
                    "createdTime": base.created_time,
                    "grantedByUserId": user["id"],
                }
            ],
            "workspaceCollaborators": [],
        }
        body["groupCollaborators"] = {"baseCollaborators": [], "workspaceCollaborators": []}
    if "inviteLinks" in include:
        body["inviteLinks"] = {"baseInviteLinks": [], "workspaceInviteLinks": []}
    if "interfaces" in include:
        body["interfaces"] = {}
    return body


def get_tables(call: Call) -> dict[str, Any]:
    """``GET /v0/meta/bases/{baseId}/tables`` (``include=visibleFieldIds`` adds view fields)."""
    include = call.query.getlist("include") + call.query.getlist("include[]")
    visible = "visibleFieldIds" in include
    return {"tables": [t.to_api(include_visible=visible) for t in call.need_base().tables]}


def _commit(call: Call, work: Base) -> None:
    base = call.need_base()
    base.tables = work.tables
    call.store.save_base(base)


def _table(work: Base, call: Call) -> Table:
    key = call.params["tableIdOrName"]
    table = work.table(key)
    if table is None:
        raise errors.table_not_found(key, work.id)
    return table


def create_table(call: Call) -> dict[str, Any]:
    """``POST /v0/meta/bases/{baseId}/tables`` (the table gets a "Grid view")."""
    work = clone_schema(call.need_base())
    (table,) = add_tables(work, [call.json()], call.now)
    _commit(call, work)
    return table.to_api()


def update_table(call: Call) -> dict[str, Any]:
    """``PATCH /v0/meta/bases/{baseId}/tables/{tableIdOrName}``: name and description."""
    body = call.json()
    work = clone_schema(call.need_base())
    table = _table(work, call)
    if set(body) - {"name", "description"}:
        raise errors.invalid_request("Only name and description can be changed")
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip():
            raise errors.invalid_schema("Table names must be non-empty strings")
        for other in work.tables:
            if other is not table and other.name.casefold() == name.strip().casefold():
                raise errors.duplicate_name("table", name)
        table.name = name.strip()
    if "description" in body:
        table.description = body["description"] or None
    _commit(call, work)
    return table.to_api()


def create_field(call: Call) -> dict[str, Any]:
    """``POST /v0/meta/bases/{baseId}/tables/{tableIdOrName}/fields``."""
    work = clone_schema(call.need_base())
    table = _table(work, call)
    fld = build_field(work, table, call.json(), call.now)
    _commit(call, work)
    return fld.to_api()


def update_field(call: Call) -> dict[str, Any]:
    """``PATCH .../fields/{fieldIdOrName}``: only name, description and options change."""
    body = call.json()
    if set(body) - {"name", "description", "options"}:
        raise errors.invalid_request("Only name, description and options can be changed")
    work = clone_schema(call.need_base())
    table = _table(work, call)
    fld = table.field(call.params["fieldIdOrName"])
    if fld is None:
        raise errors.unknown_field(call.params["fieldIdOrName"])
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            raise errors.invalid_schema("description must be a string")
        fld.description = body["description"] or None
    if "options" in body:
        _update_options(work, table, fld, body["options"], call)
    if "name" in body:
        old = fld.name
        fld.name = check_name(table, body["name"], ignore=fld)
        table.reindex()
        _rename_references(table, old, fld.name)
    _commit(call, work)
    return fld.to_api()


def _update_options(work: Base, table: Table, fld: Field, options: Any, call: Call) -> None:
    if not isinstance(options, dict):
        raise errors.invalid_schema("options must be an object")
    if fld.type == "multipleRecordLinks":
        if options.get("linkedTableId", fld.option("linkedTableId")) != fld.option("linkedTableId"):
            raise errors.invalid_schema("linkedTableId cannot be changed")
        merged = dict(fld.options or {})
        for key in ("isReversed", "prefersSingleRecordLink"):
            if key in options:
                merged[key] = bool(options[key])
        fld.options = merged
    elif fld.type in LINKED_TYPES or fld.type in ("formula", "button"):
        fld.options = {**(fld.options or {}), **options}
        if fld.type == "formula" and "formula" in options and "result" not in options:
            fld.options.pop("result", None)
        fld.options = computed_options(work, table, fld, call.now)
    elif fld.type in ("singleSelect", "multipleSelects"):
        old = {c["name"]: c for c in fld.option("choices", [])}
        old.update({c["id"]: c for c in fld.option("choices", [])})
        choices = options.get("choices", fld.option("choices", []))
        if isinstance(choices, list):
            choices = [
                {**old.get(c.get("id") or c.get("name"), {}), **c} if isinstance(c, dict) else c
                for c in choices
            ]
        fld.options = plain_options(fld.type, {"choices": choices}, fld.name)
    else:
        fld.options = plain_options(fld.type, {**(fld.options or {}), **options}, fld.name)


def _rename_references(table: Table, old: str, new: str) -> None:
    """Keep formulas and view filters that name the field by ``{Name}`` working."""

    def escape(name: str) -> str:
        return "{" + name.replace("\\", "\\\\").replace("}", "\\}") + "}"

    def rewrite(text: str) -> str:
        return text.replace(escape(old), escape(new)).replace("{" + old + "}", escape(new))

    for other in table.fields:
        if other.type == "formula" and other.options and "formula" in other.options:
            other.options["formula"] = rewrite(other.options["formula"])
        if other.type == "button" and other.options and other.options.get("url"):
            other.options["url"] = rewrite(other.options["url"])
    for view in table.views:
        if view.filter_formula:
            view.filter_formula = rewrite(view.filter_formula)
