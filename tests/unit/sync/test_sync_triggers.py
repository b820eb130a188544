"""Recognising a job's own writes in webhook payloads (Airtable's payload cell shapes)."""

from __future__ import annotations

from services.airtable.change_feed import RecordChange
from services.sync.triggers import _same
from services.sync.types import FieldMapping

MAPPINGS = (
    FieldMapping("fldName", "name", "text"),
    FieldMapping("fldStatus", "status", "select"),
    FieldMapping("fldTags", "tags", "multiselect"),
    FieldMapping("fldOwners", "owners", "link_names"),
    FieldMapping("fldLinks", "links", "links"),
)
SEEN = {
    "name": "Item",
    "status": "Done",
    "tags": ["a", "b"],
    "owners": ["Alice", "Bob"],
    "links": ["recA", "recB"],
}


def _change(cells: dict) -> RecordChange:
    return RecordChange(
        "appX", "tblX", "recX", "updated", "airtable", fields=cells, changed_fields=tuple(cells)
    )


def test_same__payload_objects_compare_by_name_or_id() -> None:
    cells = {
        "fldName": "Item",
        "fldStatus": {"id": "selDone", "name": "Done", "color": "greenLight2"},
        "fldTags": [{"id": "selB", "name": "b"}, {"id": "selA", "name": "a"}],
        "fldOwners": [{"id": "recA", "name": "Alice"}, {"id": "recB", "name": "Bob"}],
        "fldLinks": [{"id": "recB", "name": "Bob"}, {"id": "recA", "name": "Alice"}],
    }
    assert _same(_change(cells), MAPPINGS, SEEN)


def test_same__a_different_value_or_an_unreadable_cell_is_news() -> None:
    assert not _same(_change({"fldName": "Other"}), MAPPINGS, SEEN)
    assert not _same(_change({"fldStatus": {"id": "selTodo", "name": "Todo"}}), MAPPINGS, SEEN)
    # Link IDs where the job keeps names: not comparable here, so a run decides.
    assert not _same(_change({"fldOwners": ["recA", "recB"]}), MAPPINGS, SEEN)
    assert not _same(_change({"fldName": {"unexpected": True}}), MAPPINGS, SEEN)
