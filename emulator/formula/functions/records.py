"""Record functions: RECORD_ID CREATED_TIME LAST_MODIFIED_TIME."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..model import RecordContext
from .spec import FunctionSpec


def record_id(ctx: RecordContext) -> str:
    """RECORD_ID(): the record's ID."""
    return ctx.record_id


def created_time(ctx: RecordContext) -> datetime:
    """CREATED_TIME(): when the record was created."""
    return ctx.created_time


def last_modified_time(ctx: RecordContext, *fields: Any) -> datetime:
    """LAST_MODIFIED_TIME([{field}, ...]): when the record last changed.

    The record keeps one modification time, so field arguments do not narrow it.
    """
    return ctx.last_modified_time


FUNCTIONS: dict[str, FunctionSpec] = {
    "RECORD_ID": FunctionSpec(record_id, 0, 0, "record"),
    "CREATED_TIME": FunctionSpec(created_time, 0, 0, "record"),
    "LAST_MODIFIED_TIME": FunctionSpec(last_modified_time, 0, None, "record"),
}
