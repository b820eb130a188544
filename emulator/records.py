"""Handlers for ``/v0/{baseId}/{tableIdOrName}[/{recordId}]`` (the Records API)."""

from typing import Any

from emulator import errors
from emulator.listing import list_page, render_options
from emulator.query import ListQuery, from_body, from_query_string, parse_bool
from emulator.render import RenderOptions, render_record
from emulator.schema import Field, Record, Table
from emulator.state import Call
from emulator.writes import MAX_BATCH, RecordWriter


def list_records(call: Call) -> dict[str, Any]:
    """``GET /v0/{baseId}/{tableIdOrName}``."""
    return _list(call, from_query_string(call.query))


def list_records_post(call: Call) -> dict[str, Any]:
    """``POST /v0/{baseId}/{tableIdOrName}/listRecords`` (parameters in the body)."""
    return _list(call, from_body(call.json(), call.query))


def _list(call: Call, query: ListQuery) -> dict[str, Any]:
    table = call.table()
    return list_page(call.evaluator(), table, query, call.state.iterators, call.store.comments)


def get_record(call: Call) -> dict[str, Any]:
    """``GET /v0/{baseId}/{tableIdOrName}/{recordId}``."""
    table = call.table()
    record = _record(table, call.params["recordId"])
    options = render_options(table, from_query_string(call.query))
    return render_record(call.evaluator(), table, record, options)


def _record(table: Table, record_id: str) -> Record:
    record = table.records.get(record_id)
    if record is None:
        raise errors.record_not_found(record_id)
    return record


def _writer(call: Call, table: Table, body: dict[str, Any]) -> RecordWriter:
    typecast = parse_bool(body.get("typecast", False))
    return RecordWriter(call.store, call.need_base(), table, typecast=typecast, now=call.now)


def _render(call: Call, table: Table, records: list[Record], body: dict[str, Any]) -> list[Any]:
    options = RenderOptions(by_id=parse_bool(body.get("returnFieldsByFieldId", False)))
    evaluator = call.evaluator()
    return [render_record(evaluator, table, r, options) for r in records]


def _notify(call: Call, writer: RecordWriter) -> None:
    """After a write: webhook payloads, and reading new URL attachments."""
    call.state.hooks.record(call.need_base(), writer.changes)
    call.state.urls.schedule(call.need_base(), writer.remote_attachments)


def _batch(body: dict[str, Any]) -> list[Any]:
    items = body["records"]
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        raise errors.invalid_records()
    if not all(isinstance(item, dict) for item in items):
        raise errors.invalid_records()
    return items


def create_records(call: Call) -> dict[str, Any]:
    """``POST /v0/{baseId}/{tableIdOrName}``: one record (``fields``) or up to 10."""
    table = call.table()
    body = call.json()
    writer = _writer(call, table, body)
    if "records" in body:
        pending = [writer.prepare_create(item.get("fields", {})) for item in _batch(body)]
        written = writer.apply(pending)
        _notify(call, writer)
        return {"records": _render(call, table, written, body)}
    if "fields" not in body:
        raise errors.missing_body_field("fields")
    written = writer.apply([writer.prepare_create(body["fields"])])
    _notify(call, writer)
    return _render(call, table, written, body)[0]


def update_record(call: Call) -> dict[str, Any]:
    """``PATCH`` (merge) or ``PUT`` (replace) ``/v0/{baseId}/{tableIdOrName}/{recordId}``."""
    table = call.table()
    record = _record(table, call.params["recordId"])
    body = call.json()
    if "fields" not in body:
        raise errors.missing_body_field("fields")
    writer = _writer(call, table, body)
    pending = writer.prepare_update(record, body["fields"], replace=call.method == "PUT")
    written = writer.apply([pending])
    _notify(call, writer)
    return _render(call, table, written, body)[0]


def update_records(call: Call) -> dict[str, Any]:
    """``PATCH``/``PUT`` on the table: batch update, or upsert with ``performUpsert``."""
    table = call.table()
    body = call.json()
    if "records" not in body:
        raise errors.missing_body_field("records")
    items = _batch(body)
    writer = _writer(call, table, body)
    replace = call.method == "PUT"
    upsert = body.get("performUpsert")
    if upsert is not None:
        return _upsert(call, table, body, items, writer, replace, upsert)
    pending = []
    for item in items:
        rec_id = item.get("id")
        if not isinstance(rec_id, str):
            raise errors.invalid_records(
                "You must provide an array of up to 10 record objects, each with an id"
            )
        if rec_id not in table.records:
            raise errors.row_does_not_exist(rec_id)
        record = table.records[rec_id]
        pending.append(writer.prepare_update(record, item.get("fields", {}), replace=replace))
    written = writer.apply(pending)
    _notify(call, writer)
    return {"records": _render(call, table, written, body)}


def _merge_fields(table: Table, upsert: Any) -> list[Field]:
    names = upsert.get("fieldsToMergeOn") if isinstance(upsert, dict) else None
    if not isinstance(names, list) or not 1 <= len(names) <= 3:
        raise errors.invalid_request("performUpsert.fieldsToMergeOn must list 1 to 3 fields")
    fields = []
    for name in names:
        fld = table.field(name) if isinstance(name, str) else None
        if fld is None:
            raise errors.unknown_field(str(name))
        if fld.computed:
            raise errors.invalid_request(f'Field "{fld.name}" cannot be used to merge on')
        fields.append(fld)
    return fields


def _upsert(
    call: Call,
    table: Table,
    body: dict[str, Any],
    items: list[Any],
    writer: RecordWriter,
    replace: bool,
    upsert: Any,
) -> dict[str, Any]:
    merge_on = _merge_fields(table, upsert)
    pending = []
    created_at: list[int] = []
    for index, item in enumerate(items):
        fields = item.get("fields", {})
        rec_id = item.get("id")
        if rec_id is not None:
            if rec_id not in table.records:
                raise errors.row_does_not_exist(str(rec_id))
            matches = [table.records[rec_id]]
        else:
            matches = writer.find_matches(merge_on, writer.merge_key(fields, merge_on))
        if len(matches) > 1:
            raise errors.upsert_ambiguous(len(matches))
        if matches:
            pending.append(writer.prepare_update(matches[0], fields, replace=replace))
        else:
            pending.append(writer.prepare_create(fields))
            created_at.append(index)
    written = writer.apply(pending)
    _notify(call, writer)
    created = [written[i].id for i in created_at]
    return {
        "records": _render(call, table, written, body),
        "createdRecords": created,
        "updatedRecords": [r.id for r in written if r.id not in created],
    }


def delete_record(call: Call) -> dict[str, Any]:
    """``DELETE /v0/{baseId}/{tableIdOrName}/{recordId}``."""
    table = call.table()
    record = _record(table, call.params["recordId"])
    writer = RecordWriter(call.store, call.need_base(), table, typecast=False, now=call.now)
    writer.delete([record.id])
    _notify(call, writer)
    return {"deleted": True, "id": record.id}


def delete_records(call: Call) -> dict[str, Any]:
    """``DELETE /v0/{baseId}/{tableIdOrName}?records[]=a&records[]=b`` (up to 10)."""
    table = call.table()
    ids = call.query.getlist("records[]") + call.query.getlist("records")
    if not ids or len(ids) > MAX_BATCH:
        raise errors.invalid_records("You must provide an array of up to 10 record IDs")
    for rec_id in ids:
        if rec_id not in table.records:
            raise errors.batch_delete_not_found(rec_id)
    unique = list(dict.fromkeys(ids))
    writer = RecordWriter(call.store, call.need_base(), table, typecast=False, now=call.now)
    writer.delete(unique)
    _notify(call, writer)
    return {"records": [{"deleted": True, "id": rec_id} for rec_id in unique]}
