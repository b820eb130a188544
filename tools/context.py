"""Who a tool call is for: passed per request as the agent's runtime context, never global."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssistantContext:
    """The per-request identity tools read from `runtime.context`.

    Pass it as `agent.invoke(..., context=AssistantContext(...))` with
    `create_agent(..., context_schema=AssistantContext)`.

    Attributes:
        user_id: The signed-in user; every Airtable call runs with their connection.
        base_id: The base in scope (chosen in the UI), used when a tool call names none.
        conversation_id: The conversation, recorded with proposals for the UI.
        time_zone: The person's IANA time zone (e.g. "Europe/Berlin") for relative dates in
            filters; None means UTC, the zone the system prompt states today's date in.
    """

    user_id: int
    base_id: str | None = None
    conversation_id: str | None = None
    time_zone: str | None = None
