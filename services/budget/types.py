"""Small value types shared by the budget guard, the ledger and the model factory."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    """Why a model was called; every ledger row carries one."""

    CHAT = "chat"
    SUMMARY = "summary"
    TITLE = "title"
    PROMPT_RUN = "prompt_run"
    WORKFLOW_RUN = "workflow_run"
    BULK_FILL = "bulk_fill"


class CallStatus(StrEnum):
    """How a model call ended, as recorded in the ledger."""

    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"
    # The provider reported no usage: the reservation was kept as the charge.
    ESTIMATED = "estimated"
    # The caller never settled (process died); the reaper charged the input estimate.
    EXPIRED = "expired"


class RefType(StrEnum):
    """What a model call belongs to."""

    CONVERSATION = "conversation"
    PROMPT = "prompt"
    RUN = "run"
    WORKFLOW_RUN = "workflow_run"
    BULK_FILL = "bulk_fill"


@dataclass(frozen=True)
class CallRef:
    """The conversation, prompt or run a model call belongs to."""

    type: RefType
    id: str
