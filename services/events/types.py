"""The event types (PLATFORM.md "Events and webhooks"), the same for the live stream and
outgoing webhooks."""

from __future__ import annotations

from typing import Final

WORKFLOW_RUN_STARTED: Final = "workflow.run.started"
WORKFLOW_RUN_STEP: Final = "workflow.run.step"
WORKFLOW_RUN_WAITING_APPROVAL: Final = "workflow.run.waiting_approval"
WORKFLOW_RUN_SUCCEEDED: Final = "workflow.run.succeeded"
WORKFLOW_RUN_FAILED: Final = "workflow.run.failed"
WORKFLOW_RUN_COMPENSATED: Final = "workflow.run.compensated"
CHANGE_APPLIED: Final = "change.applied"
CHANGE_UNDONE: Final = "change.undone"
BUDGET_ALERT: Final = "budget.alert"
AIRTABLE_RECORD_CHANGED: Final = "airtable.record.changed"
SYNC_CONFLICT: Final = "sync.conflict"
WEBHOOK_ENDPOINT_DISABLED: Final = "webhook.endpoint.disabled"

EVENT_TYPES: Final[tuple[str, ...]] = (
    WORKFLOW_RUN_STARTED,
    WORKFLOW_RUN_STEP,
    WORKFLOW_RUN_WAITING_APPROVAL,
    WORKFLOW_RUN_SUCCEEDED,
    WORKFLOW_RUN_FAILED,
    WORKFLOW_RUN_COMPENSATED,
    CHANGE_APPLIED,
    CHANGE_UNDONE,
    BUDGET_ALERT,
    AIRTABLE_RECORD_CHANGED,
    SYNC_CONFLICT,
    WEBHOOK_ENDPOINT_DISABLED,
)
"""Every type, in the order the README lists them."""


def unknown_types(names: list[str]) -> list[str]:
    """The names in `names` that are not event types (empty: all are)."""
    return [n for n in names if n not in EVENT_TYPES]
