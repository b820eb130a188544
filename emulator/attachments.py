"""``POST /v0/{baseId}/{recordId}/{fieldIdOrName}/uploadAttachment``.

Takes ``{contentType, filename, file}`` (``file`` base64, at most 5 MB decoded), keeps
the bytes in the store (served as described in :mod:`emulator.files`) and appends the
attachment to the cell. pyairtable sends this request to the ``content.airtable.com``
host; the emulator serves the same path on its own host, so a client pointed at the
emulator must route that host to it too.
"""

import base64
import binascii
from typing import Any

from emulator import errors
from emulator.files import MAX_UPLOAD_BYTES, file_url
from emulator.ids import new_id
from emulator.render import RenderOptions, render_record
from emulator.schema import Base, Record, Table
from emulator.state import Call
from emulator.writes import RecordWriter


def _find_record(base: Base, record_id: str) -> tuple[Table, Record]:
    for table in base.tables:
        record = table.records.get(record_id)
        if record is not None:
            return table, record
    raise errors.record_not_found(record_id)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise errors.invalid_request(f'"{name}" must be a non-empty string')
    return value


def _decode(body: dict[str, Any]) -> tuple[str, str, bytes]:
    content_type, filename = _text(body, "contentType"), _text(body, "filename")
    data = _text(body, "file")
    try:
        content = base64.b64decode(data.encode("ascii"), validate=False)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise errors.invalid_request('"file" must be base64-encoded') from exc
    if len(content) > MAX_UPLOAD_BYTES:
        raise errors.attachment_too_large(MAX_UPLOAD_BYTES)
    return content_type, filename, content


def upload_attachment(call: Call) -> dict[str, Any]:
    """``POST /v0/{baseId}/{recordId}/{fieldIdOrName}/uploadAttachment``.

    Returns:
        ``{"id", "createdTime", "fields": {fieldId: [every attachment of the cell]}}``.
    """
    base = call.need_base()
    table, record = _find_record(base, call.params["recordId"])
    fld = table.field(call.params["fieldIdOrName"])
    if fld is None:
        raise errors.unknown_field(call.params["fieldIdOrName"])
    if fld.type != "multipleAttachments":
        raise errors.invalid_value(fld.name, "it is not an attachment field")
    content_type, filename, content = _decode(call.json())
    attachment_id = new_id("att")
    attachment = {
        "id": attachment_id,
        "url": file_url(call.origin, attachment_id, filename),
        "filename": filename,
        "size": len(content),
        "type": content_type,
    }
    call.store.put_file(attachment_id, filename, content_type, content)
    writer = RecordWriter(call.store, base, table, typecast=False, now=call.now)
    current = list(record.cells.get(fld.id) or [])
    writer.apply([writer.prepare_cells(record, {**record.cells, fld.id: [*current, attachment]})])
    call.state.hooks.record(base, writer.changes)
    options = RenderOptions(by_id=True, fields=(fld,))
    return render_record(call.evaluator(), table, record, options)
