"""Typed prompt variables: their definitions, validation of a run's inputs, rendering.

A template names variables as `{{name}}`; `{{today}}` and `{{user_name}}` are built in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from services.errors import AppError, InvalidInputError

BUILT_INS = frozenset({"today", "user_name"})
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
MAX_TEXT = 500
MAX_LONG_TEXT = 8_000
# Beyond 2**53 a float (what a model or Airtable computes with) loses whole units.
MAX_NUMBER = 10**15


class AirtableLookups(Protocol):
    """What validating Airtable-backed inputs needs to know, for the user running the prompt.

    Each raises an `AppError` when the base, table or field is not available to them.
    """

    def bases(self) -> dict[str, str]:
        """The user's bases: ID -> name."""
        ...

    def tables(self, base_id: str) -> list[str]:
        """The table names of a base."""
        ...

    def choices(self, base_id: str, table: str, field: str) -> list[str]:
        """The options of a select field."""
        ...


@dataclass(frozen=True)
class Inputs:
    """A run's validated inputs as text, and the base it works on (`base_id`).

    The base is the one chosen in the first base picker, else the prompt's own base.
    """

    values: dict[str, str]
    base_id: str


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
            raise InvalidInputError(f'Variable type: "{data.get("type")}" is not a type.') from None
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


def check_definitions(template: str, variables: list[Variable], *, base_id: str = "") -> None:
    """Refuse a template whose variables are badly named, duplicated or undeclared, or a
    table picker with no base to list tables from (`base_id` is the prompt's own base)."""
    names: set[str] = set()
    has_base = bool(base_id) or any(v.type is VariableType.BASE for v in variables)
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
        if var.type is VariableType.TABLE and not has_base:
            raise InvalidInputError(
                f'Table picker "{var.name}" needs a base: choose the prompt\'s base or add a '
                "base picker."
            )
        names.add(var.name)
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - names - BUILT_INS)
    if unknown:
        raise InvalidInputError(f"Template: it uses undeclared variables: {', '.join(unknown)}.")


def validate_inputs(
    variables: list[Variable],
    values: Mapping[str, Any],
    lookups: AirtableLookups,
    *,
    base_id: str = "",
) -> Inputs:
    """Each variable's value as text, or `InvalidInputError` listing every problem.

    `base_id` is the prompt's own base. A base picker accepts a base's name or ID and gives
    its name to the template; the first one chosen becomes the run's base, whose tables a
    table picker must name.
    """
    clean: dict[str, str] = {}
    problems: list[str] = []
    run_base = base_id
    chosen_base = False
    # Base pickers first: a table picker's value is checked against the chosen base.
    ordered = sorted(variables, key=lambda v: v.type is not VariableType.BASE)
    for var in ordered:
        raw = values.get(var.name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if var.required:
                problems.append(f"{var.title} is required.")
            clean[var.name] = ""
            continue
        try:
            if var.type is VariableType.BASE:
                picked_id, clean[var.name] = _base(var, text, lookups.bases())
                if not chosen_base:
                    run_base, chosen_base = picked_id, True
            else:
                clean[var.name] = _check(var, text, lookups, run_base)
        except AppError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInputError(" ".join(problems))
    return Inputs({v.name: clean[v.name] for v in variables}, run_base)


def _base(var: Variable, text: str, bases: dict[str, str]) -> tuple[str, str]:
    """(ID, name) of the base `text` names, by ID or by name (ignoring case)."""
    if text in bases:
        return text, bases[text]
    for base_id, name in bases.items():
        if name.casefold() == text.casefold():
            return base_id, name
    raise InvalidInputError(
        f'"{text}" is not one of your bases; choose one of: {", ".join(bases.values())}.'
    )


def _check(var: Variable, text: str, lookups: AirtableLookups, base_id: str) -> str:
    kind = var.type
    if kind is VariableType.NUMBER:
        return _number(var, text.replace(",", ""))
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
        allowed = lookups.choices(var.base_id, var.table, var.field)
    elif kind is VariableType.TABLE:
        if not base_id:
            raise InvalidInputError(f"{var.title} needs a base: give the prompt one first.")
        allowed = lookups.tables(base_id)
    if allowed is not None and text not in allowed:
        raise InvalidInputError(
            f'"{text}" is not an option of {var.title}; choose one of: {", ".join(allowed)}.'
        )
    limit = MAX_LONG_TEXT if kind is VariableType.LONG_TEXT else MAX_TEXT
    if len(text) > limit:
        raise InvalidInputError(f"{var.title} must be at most {limit} characters.")
    return text


def _number(var: Variable, text: str) -> str:
    """`text` as a finite number within ±MAX_NUMBER ("1e400" and "inf" are not)."""
    shown = text if len(text) <= 24 else text[:24] + "…"
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(f'{var.title} must be a number, not "{shown}".') from None
    if not number.is_finite():
        raise InvalidInputError(f'{var.title} must be a number, not "{shown}".')
    if abs(number) > MAX_NUMBER:
        raise InvalidInputError(
            f"{var.title} must be between -{MAX_NUMBER:,} and {MAX_NUMBER:,}, not {shown}."
        )
    return text


def render(template: str, values: Mapping[str, str], *, today: date, user_name: str) -> str:
    """The template with every `{{name}}` replaced (built-ins included)."""
    filled = {**values, "today": today.isoformat(), "user_name": user_name}
    return _PLACEHOLDER.sub(lambda m: filled.get(m.group(1), m.group(0)), template)
