"""The field types a fill can write, and the check every model answer passes first.

An answer that does not fit the field (an option the field does not have, a number that
is not one, a date that is not a date) is never written: `coerce` says why instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Field type -> records per model call. Short answers (an option, a number, yes/no, a
# date) share a call with many records; free text gets fewer per call so that one long
# answer cannot crowd out the others.
RECORDS_PER_CALL = {
    "singleSelect": 40,
    "multipleSelects": 40,
    "checkbox": 40,
    "number": 40,
    "percent": 40,
    "currency": 40,
    "rating": 40,
    "date": 40,
    "singleLineText": 10,
    "multilineText": 5,
}
SUPPORTED = frozenset(RECORDS_PER_CALL)
# Output tokens of one record's answer line (`"12": "Positive",`): expected and most.
_SHORT = (8, 24)
_TEXT = (40, 200)
_LONG_TEXT = (120, 500)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class OutputField:
    """The field a fill writes: its ID, name, type and (select fields) allowed options."""

    id: str
    name: str
    type: str
    options: list[str] = field(default_factory=list)
    precision: int | None = None
    max_rating: int | None = None

    @property
    def per_call(self) -> int:
        return RECORDS_PER_CALL[self.type]

    @property
    def output_tokens(self) -> tuple[int, int]:
        """(expected, most) output tokens of one record's answer."""
        if self.type == "singleLineText":
            return _TEXT
        if self.type == "multilineText":
            return _LONG_TEXT
        return _SHORT

    def describe(self) -> str:
        """What the model is told the answer must be."""
        kind = self.type
        if kind == "singleSelect":
            return "exactly one of these options: " + ", ".join(f'"{o}"' for o in self.options)
        if kind == "multipleSelects":
            shown = ", ".join(f'"{o}"' for o in self.options)
            return f"a JSON list of zero or more of these options: {shown}"
        if kind == "checkbox":
            return "true or false"
        if kind == "date":
            return "a date as YYYY-MM-DD"
        if kind == "rating":
            return f"a whole number from 1 to {self.max_rating or 5}"
        if kind in ("number", "percent", "currency"):
            places = "a whole number" if self.precision == 0 else "a number"
            return places + (" (a fraction: 0.25 for 25%)" if kind == "percent" else "")
        if kind == "singleLineText":
            return "one short line of text"
        return "text (a few sentences at most)"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "options": list(self.options),
            "precision": self.precision,
            "max_rating": self.max_rating,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutputField:
        return cls(**data)


def coerce(output: OutputField, raw: Any) -> tuple[Any, str]:
    """The cell value for a model's answer, or (None, why it does not fit the field)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, "no answer for this record"
    kind = output.type
    if kind == "singleSelect":
        return _option(output, raw)
    if kind == "multipleSelects":
        items = raw if isinstance(raw, list) else [p for p in str(raw).split(",") if p.strip()]
        chosen: list[str] = []
        for item in items:
            value, reason = _option(output, item)
            if value is None:
                return None, reason
            if value not in chosen:
                chosen.append(value)
        return chosen, ""
    if kind == "checkbox":
        return _boolean(raw)
    if kind == "date":
        text = str(raw).strip()
        if _DATE.match(text):
            try:
                return date.fromisoformat(text).isoformat(), ""
            except ValueError:
                pass
        return None, f'"{_short(raw)}" is not a date (YYYY-MM-DD)'
    if kind in ("number", "percent", "currency", "rating"):
        return _number(output, raw)
    if not isinstance(raw, str | int | float):
        return None, "the answer is not text"
    text = str(raw).strip()
    if kind == "singleLineText":
        text = " ".join(text.split())
    return text, ""


def _option(output: OutputField, raw: Any) -> tuple[Any, str]:
    if not isinstance(raw, str):
        return None, f'"{_short(raw)}" is not one of the options'
    wanted = raw.strip().strip('"').strip()
    for option in output.options:
        if option == wanted or option.casefold() == wanted.casefold():
            return option, ""
    return None, f'"{_short(raw)}" is not an option of {output.name}'


def _boolean(raw: Any) -> tuple[Any, str]:
    if isinstance(raw, bool):
        return raw, ""
    text = str(raw).strip().casefold()
    if text in ("true", "yes", "1", "checked"):
        return True, ""
    if text in ("false", "no", "0", "unchecked"):
        return False, ""
    return None, f'"{_short(raw)}" is not true or false'


def _number(output: OutputField, raw: Any) -> tuple[Any, str]:
    if isinstance(raw, bool):
        return None, f'"{raw}" is not a number'
    try:
        number = float(str(raw).strip().replace(",", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        return None, f'"{_short(raw)}" is not a number'
    if not math.isfinite(number):
        return None, f'"{_short(raw)}" is not a number'
    if output.type == "rating":
        top = output.max_rating or 5
        if number != int(number) or not 1 <= number <= top:
            return None, f'"{_short(raw)}" is not a whole number from 1 to {top}'
        return int(number), ""
    if output.precision == 0:
        if number != int(number):
            return None, f'"{_short(raw)}" is not a whole number'
        return int(number), ""
    if output.precision is not None:
        number = round(number, output.precision)
    return number, ""


def _short(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 60 else text[:57] + "…"


def is_empty(value: Any) -> bool:
    """An empty cell as Airtable returns it (absent, blank text, no options, unchecked)."""
    return value is None or value == "" or value == [] or value is False
