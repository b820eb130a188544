"""Who a tool call acts for and on which base, and errors the model can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import ToolException
from pydantic import ValidationError

from services.airtable.dates import DateResolver, resolver_for
from services.errors import AppError
from tools.context import AssistantContext


@dataclass(frozen=True)
class Scope:
    user_id: int
    base_id: str
    conversation_id: str | None


def user_of(runtime: ToolRuntime[AssistantContext, Any]) -> AssistantContext:
    """The request's `AssistantContext`, or a `ToolException` when the call carries none."""
    context = runtime.context
    if not isinstance(context, AssistantContext):
        raise ToolException("This tool needs a signed-in user; none was given with the request.")
    return context


def scope_of(runtime: ToolRuntime[AssistantContext, Any], base_id: str | None) -> Scope:
    """The user and the base: the one named in the call, else the one in scope."""
    context = user_of(runtime)
    base = (base_id or "").strip() or context.base_id
    if not base:
        raise ToolException("No base is selected: call list_bases, then pass base_id.")
    return Scope(context.user_id, base, context.conversation_id)


def dates_of(runtime: ToolRuntime[AssistantContext, Any]) -> DateResolver:
    """Relative dates resolved in the person's time zone (UTC when unknown)."""
    return resolver_for(user_of(runtime).time_zone)


@contextmanager
def as_tool_errors() -> Iterator[None]:
    """Turn the app's errors into `ToolException` with their (safe, short) message."""
    try:
        yield
    except AppError as exc:
        raise ToolException(str(exc)) from exc


def validation_message(error: ValidationError) -> str:
    """A one-line account of bad arguments, for `handle_validation_error`."""
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "Invalid arguments: " + "; ".join(problems)
