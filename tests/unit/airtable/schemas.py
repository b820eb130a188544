"""A table schema to test against, shaped like the Meta API's answer."""

from __future__ import annotations

from services.airtable.schema import BaseSchema, TableSchema


def _select(name: str, *options: str, kind: str = "singleSelect") -> dict[str, object]:
    return {"id": f"fld{name[:3]}", "name": name, "type": kind,
            "options": {"choices": [{"name": o} for o in options]}}  # fmt: skip


BASE = BaseSchema.from_json(
    "appTestBase000000",
    {
        "tables": [
            {
                "id": "tblTasks",
                "name": "Tasks",
                "primaryFieldId": "fldName",
                "views": [{"id": "viwGrid", "name": "Grid view"}],
                "fields": [
                    {"id": "fldName", "name": "Name", "type": "singleLineText"},
                    _select("Status", "Todo", "In Progress", "Done"),
                    _select("Tags", "QA", "QA Team", "Docs", kind="multipleSelects"),
                    {"id": "fldHours", "name": "Estimate Hours", "type": "number"},
                    {"id": "fldDue", "name": "Due Date", "type": "date"},
                    {"id": "fldDone", "name": "Done", "type": "checkbox"},
                    {"id": "fldNotes", "name": "Notes", "type": "multilineText"},
                    {"id": "fldPct", "name": "Progress", "type": "percent"},
                    {"id": "fldBrace", "name": "Odd {name}", "type": "singleLineText"},
                    {
                        "id": "fldProj",
                        "name": "Project",
                        "type": "multipleRecordLinks",
                        "options": {"linkedTableId": "tblProjects"},
                    },
                    {
                        "id": "fldLate",
                        "name": "Overdue",
                        "type": "formula",
                        "options": {"formula": "1", "result": {"type": "number"}},
                    },
                ],
            },
            {
                "id": "tblProjects",
                "name": "Projects",
                "primaryFieldId": "fldPName",
                "fields": [{"id": "fldPName", "name": "Name", "type": "singleLineText"}],
            },
        ]
    },
)
TASKS: TableSchema = BASE.table("Tasks")
