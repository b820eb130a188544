"""Typed prompt variables: their definitions, validation of a run's inputs, rendering.

A template names variables as `{{name}}`; `{{today}}` and `{{user_name}}` are built in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.errors import InvalidInputError

BUILT_INS = frozenset({"today", "user_name"})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
MAX_TEXT = 500
MAX_LONG_TEXT = 8_000

# (base_id, table, field) -> the field's choices; raises AppError when not available.
ChoicesLookup = Callable[[str, str, str], list[str]]


class VariableType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    FIELD_OPTIONS = "field_options"
    BASE = "base"
    TABLE = "table"


@dataclass(frozen=True)
class Variable:
    """One input of a prompt. `options` for selects; base/table/field for field options."""

    name: str
    type: VariableType
    label: str = ""
    required: bool = True
    options: list[str] = field(default_factory=list)
    base_id: str = ""
    table: str = ""
    field: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "type": self.type.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variable:
        try:
            kind = VariableType(str(data.get("type", "")))
        except ValueError:
            raise InvalidInputError(f'Unknown variable type "{data.get("type")}".') from None
        return cls(
            name=str(data.get("name", "")).strip(),
            type=kind,
            label=str(data.get("label", "")).strip(),
            required=bool(data.get("required", True)),
            options=[str(o).strip() for o in data.get("options") or [] if str(o).strip()],
            base_id=str(data.get("base_id", "")).strip(),
            table=str(data.get("table", "")).strip(),
            field=str(data.get("field", "")).strip(),
        )


def check_definitions(template: str, variables: list[Variable]) -> None:
    """Refuse a template whose variables are badly named, duplicated or undeclared."""
    names: set[str] = set()
    for var in variables:
        if not _NAME.match(var.name):
            raise InvalidInputError(
                f'Variable name "{var.name}" must start with a letter and use only letters, '
                "digits and underscores."
            )
        if var.name in BUILT_INS or var.name in names:
            raise InvalidInputError(f'Variable "{var.name}" is declared twice or is built in.')
        if var.type is VariableType.SELECT and not var.options:
            raise InvalidInputError(f'Select variable "{var.name}" needs at least one option.')
        if var.type is VariableType.FIELD_OPTIONS and not (var.base_id and var.table and var.field):
            raise InvalidInputError(
                f'Variable "{var.name}" needs a base, a table and a field to offer options.'
            )
        names.add(var.name)
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - names - BUILT_INS)
    if unknown:
        raise InvalidInputError(f"The template uses undeclared variables: {', '.join(unknown)}.")


def validate_inputs(
    variables: list[Variable], values: Mapping[str, Any], choices: ChoicesLookup
) -> dict[str, str]:
    """Each variable's value as text, or `InvalidInputError` listing every problem."""
    clean: dict[str, str] = {}
    problems: list[str] = []
    for var in variables:
        raw = values.get(var.name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if var.required:
                problems.append(f"{var.title} is required.")
            clean[var.name] = ""
            continue
        try:
            clean[var.name] = _check(var, text, choices)
        except InvalidInputError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInputError(" ".join(problems))
    return clean


def _check(var: Variable, text: str, choices: ChoicesLookup) -> str:
    kind = var.type
    if kind is VariableType.NUMBER:
        try:
            float(text.replace(",", ""))
        except ValueError:
            raise InvalidInputError(f'{var.title} must be a number, not "{text}".') from None
        return text.replace(",", "")
    if kind is VariableType.DATE:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidInputError(
                f'{var.title} must be a date like 2026-01-31, not "{text}".'
            ) from None
    allowed: list[str] | None = None
    if kind is VariableType.SELECT:
        allowed = var.options
    elif kind is VariableType.FIELD_OPTIONS:
        allowed = choices(var.base_id, var.table, var.field)
    if allowed is not None and text not in allowed:
        raise InvalidInputError(
            f'"{text}" is not an option of {var.title}; choose one of: {", ".join(allowed)}.'
        )
    limit = MAX_LONG_TEXT if kind is VariableType.LONG_TEXT else MAX_TEXT
    if len(text) > limit:
        raise InvalidInputError(f"{var.title} must be at most {limit} characters.")
    return text


def render(template: str, values: Mapping[str, str], *, today: date, user_name: str) -> str:
    """The template with every `{{name}}` replaced (built-ins included)."""
    filled = {**values, "today": today.isoformat(), "user_name": user_name}
    return _PLACEHOLDER.sub(lambda m: filled.get(m.group(1), m.group(0)), template)
