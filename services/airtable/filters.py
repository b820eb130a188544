"""Structured filters (what the model sends) and the Airtable formulas they become.

Every formula is assembled with `pyairtable.formulas`: field names come from the table's
schema (escaped by `Field`), values are quoted by `to_formula`; no text from a request is
ever pasted into a formula as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pyairtable.formulas import (
    AND,
    CONCATENATE,
    DATETIME_PARSE,
    EQ,
    FIND,
    GT,
    GTE,
    IS_BEFORE,
    LEN,
    LOWER,
    LT,
    LTE,
    NE,
    NOT,
    OR,
    Formula,
    FunctionCall,
)
from pyairtable.formulas import Field as F
from pydantic import BaseModel, BeforeValidator, Field, model_validator

from services.airtable.aliases import DIRECTIONS, OPERATORS, taking
from services.airtable.dates import DateResolver, today_in
from services.airtable.schema import DATE_TYPES, NUMBER_TYPES, FieldSchema, TableSchema
from services.errors import InvalidInputError

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "gt",
    "gte",
    "lt",
    "lte",
    "on",
    "before",
    "after",
    "between",
    "is_empty",
    "is_not_empty",
    "is_any_of",
    "is_none_of",
]
Direction = Literal["asc", "desc"]


def as_text(value: object) -> object:
    """Numbers and true/false as text: one plain string type suits every model provider
    (Gemini collapses a union of scalar types into one of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


Text = Annotated[str, BeforeValidator(as_text)]
_LIST_TYPES = frozenset(
    {
        "multipleSelects",
        "multipleRecordLinks",
        "multipleLookupValues",
        "multipleCollaborators",
        "multipleAttachments",
    }
)
_DATE_OPS = {
    "gt": "after",
    "lt": "before",
    "equals": "on",
    "gte": "on_or_after",
    "lte": "on_or_before",
}


class Condition(BaseModel):
    """One test on one field."""

    field: str = Field(description="Field name exactly as describe_table lists it.")
    op: Annotated[Operator, taking(Operator, OPERATORS)] = Field(
        description=(
            "equals / not_equals (text ignores case; linked records match by name); "
            "contains / not_contains (text, multiple selects, linked records); "
            "gt, gte, lt, lte (numbers, dates); on, before, after (dates); "
            "between (numbers or dates, inclusive: value..value_to); is_empty / is_not_empty "
            "(no value); is_any_of / is_none_of (values list). A date value is YYYY-MM-DD, "
            "a period (month 2026-03, quarter 2026-Q1, year 2026) or relative (today, -14d, "
            "+2w, start_of_month; periods like this_month, last_quarter or next_14_days); "
            "for a period 'on' means within, 'before' before its first day, 'after' after "
            "its last; resolved in the person's time zone."
        )
    )
    value: Text | None = Field(
        default=None,
        description="The value to compare with: text, a number, true/false, or a date.",
    )
    value_to: Text | None = Field(default=None, description="Upper end for 'between'.")
    values: list[Text] | None = Field(default=None, description="For is_any_of / is_none_of.")

    @model_validator(mode="before")
    @classmethod
    def _list_in_value(cls, data: Any) -> Any:
        """A list sent as `value` (is_any_of with value [A, B]) is taken as `values`."""
        listed = isinstance(data, dict) and isinstance(data.get("value"), list)
        if listed and data.get("values") is None:
            return {**data, "value": None, "values": data["value"]}
        return data


class SortKey(BaseModel):
    """One sort key."""

    field: str = Field(description="Field name to sort by.")
    direction: Annotated[Direction, taking(Direction, DIRECTIONS)] = Field(
        default="asc", description="asc or desc."
    )


def build_formula(
    table: TableSchema,
    conditions: Sequence[Condition],
    match: Literal["all", "any"] = "all",
    dates: DateResolver | None = None,
) -> str | None:
    """The `filterByFormula` text for these conditions, or None when there are none.

    Raises:
        InvalidInputError: an unknown field, an option that does not exist, or an operator
            or value that does not suit the field's type.
    """
    resolver = dates or DateResolver(today_in(None))
    parts = [condition_formula(table.field(c.field), c, resolver) for c in conditions]
    if not parts:
        return None
    if len(parts) == 1:
        return str(parts[0])
    return str(AND(*parts) if match == "all" else OR(*parts))


def _kind(fld: FieldSchema) -> str:
    kind = fld.value_type
    if kind == "checkbox":
        return "checkbox"
    if kind in NUMBER_TYPES:
        return "number"
    if kind in DATE_TYPES:
        return "date"
    if fld.type == "multipleLookupValues":
        result = str((fld.options.get("result") or {}).get("type") or "")
        return "number_list" if result in NUMBER_TYPES else "list"
    if kind in _LIST_TYPES or fld.type in _LIST_TYPES:
        return "list"
    return "text"


def condition_formula(fld: FieldSchema, cond: Condition, dates: DateResolver) -> Formula:
    """One condition as a formula (relative dates resolved by `dates`)."""
    ref = F(fld.name)
    if cond.op == "is_empty":
        return NOT(ref) if _kind(fld) == "checkbox" else EQ(LEN(CONCATENATE(ref, "")), 0)
    if cond.op == "is_not_empty":
        return ref if _kind(fld) == "checkbox" else _present(ref)
    if cond.op in ("is_any_of", "is_none_of"):
        if not cond.values:
            raise InvalidInputError(f"{cond.op} on {fld.name} needs a non-empty values list.")
        single = [cond.model_copy(update={"op": "equals", "value": v}) for v in cond.values]
        tests = [condition_formula(fld, c, dates) for c in single]
        formula = OR(*tests) if len(tests) > 1 else tests[0]
        return formula if cond.op == "is_any_of" else NOT(formula)
    if cond.value is None:
        raise InvalidInputError(f"The {cond.op} filter on {fld.name} needs a value.")
    if _kind(fld) == "date":
        return _date(fld, ref, cond, dates)
    builders = {
        "checkbox": _checkbox,
        "number": _number,
        "list": _list,
        "number_list": _number_list,
    }
    return builders.get(_kind(fld), _text)(fld, ref, cond)


def _present(ref: Formula) -> Formula:
    # BLANK() equals 0 and '' in Airtable, so emptiness is tested on the cell's text.
    return GT(LEN(CONCATENATE(ref, "")), 0)


def _checkbox(fld: FieldSchema, ref: Formula, cond: Condition) -> Formula:
    wanted = _truth(cond.value, fld)
    if cond.op not in ("equals", "not_equals"):
        raise InvalidInputError(f"{fld.name} is a checkbox: use equals true/false.")
    if cond.op == "not_equals":
        wanted = not wanted
    return ref if wanted else NOT(ref)


def _number(fld: FieldSchema, ref: Formula, cond: Condition) -> Formula:
    value = _to_number(cond.value, fld)
    compare = {"equals": EQ, "gt": GT, "gte": GTE, "lt": LT, "lte": LTE}
    if cond.op == "not_equals":
        return NE(ref, value)
    if cond.op == "between":
        upper = _to_number(cond.value_to, fld)
        return AND(_present(ref), GTE(ref, value), LTE(ref, upper))
    if cond.op not in compare:
        raise InvalidInputError(f"{fld.name} is a number: use equals, gt, gte, lt, lte or between.")
    return AND(_present(ref), compare[cond.op](ref, value))


def _date(fld: FieldSchema, ref: Formula, cond: Condition, dates: DateResolver) -> Formula:
    """A date test over whole days; a value may be a period (`this_month`): `on` is within
    it, `before` before its first day, `after` after its last."""
    op = _DATE_OPS.get(cond.op, cond.op)
    first, last = dates.span(cond.value, fld.name)
    if op == "between":
        end = dates.span(cond.value_to, fld.name)[1]
        return AND(_present(ref), NOT(_before(ref, first)), _before(ref, _next(end)))
    within = AND(NOT(_before(ref, first)), _before(ref, _next(last)))
    tests = {
        "on": lambda: within,
        "before": lambda: _before(ref, first),
        "after": lambda: NOT(_before(ref, _next(last))),
        "on_or_before": lambda: _before(ref, _next(last)),
        "on_or_after": lambda: NOT(_before(ref, first)),
        "not_equals": lambda: NOT(within),
    }
    if op not in tests:
        raise InvalidInputError(
            f"{fld.name} is a date: use on, before, after, gte, lte or between."
        )
    formula = tests[op]()
    return formula if op == "not_equals" else AND(_present(ref), formula)


def _before(ref: Formula, moment: date) -> Formula:
    return IS_BEFORE(ref, DATETIME_PARSE(moment.isoformat()))


def _next(day: date) -> date:
    # Dates compare as whole days: "after D" means from the next midnight on.
    return day + timedelta(days=1)


def _list(fld: FieldSchema, ref: Formula, cond: Condition) -> Formula:
    text = _to_text(cond.value, fld, whole=cond.op in ("equals", "not_equals"))
    joined = LOWER(FunctionCall("ARRAYJOIN", ref, "|"))
    if cond.op in ("equals", "not_equals"):
        # Whole items only: "|qa|" is found in "|backend|qa|" but not in "|qa team|".
        found = GT(FIND(f"|{text.lower()}|", CONCATENATE("|", joined, "|")), 0)
    elif cond.op in ("contains", "not_contains"):
        found = GT(FIND(text.lower(), joined), 0)
    else:
        raise InvalidInputError(f"{fld.name} holds several values: use equals or contains.")
    return NOT(found) if cond.op.startswith("not_") else found


def _number_list(fld: FieldSchema, ref: Formula, cond: Condition) -> Formula:
    """A lookup of numbers: equals/contains match an item's text; gt/gte hold when some item
    passes (MAX), lt/lte likewise (MIN), between when the items reach into the range (exact
    for a lookup through one link, which holds one value)."""
    if cond.op in ("equals", "not_equals", "contains", "not_contains"):
        return _list(fld, ref, cond)
    value = _to_number(cond.value, fld)
    high, low = FunctionCall("MAX", ref), FunctionCall("MIN", ref)
    tests = {
        "gt": lambda: GT(high, value),
        "gte": lambda: GTE(high, value),
        "lt": lambda: LT(low, value),
        "lte": lambda: LTE(low, value),
        "between": lambda: AND(GTE(high, value), LTE(low, _to_number(cond.value_to, fld))),
    }
    if cond.op not in tests:
        raise InvalidInputError(
            f"{fld.name} is a lookup of numbers: use equals, gt, gte, lt, lte or between."
        )
    return AND(_present(ref), tests[cond.op]())


def _text(fld: FieldSchema, ref: Formula, cond: Condition) -> Formula:
    text = _to_text(cond.value, fld)
    if fld.value_type == "singleSelect" and fld.choices and cond.op in ("equals", "not_equals"):
        choice = fld.choice(text)
        return EQ(ref, choice) if cond.op == "equals" else NE(ref, choice)
    lowered = LOWER(ref)
    if cond.op == "equals":
        return EQ(lowered, text.lower())
    if cond.op == "not_equals":
        return NE(lowered, text.lower())
    if cond.op == "contains":
        return GT(FIND(text.lower(), lowered), 0)
    if cond.op == "not_contains":
        return EQ(FIND(text.lower(), lowered), 0)
    raise InvalidInputError(
        f"{fld.name} is text: use equals, not_equals, contains, not_contains or is_any_of."
    )


def _to_text(value: str | None, fld: FieldSchema, *, whole: bool = True) -> str:
    """The filter's text; for a whole multi-select option, that option's exact name."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise InvalidInputError(f"The filter on {fld.name} needs a non-empty value.")
    if whole and fld.type == "multipleSelects" and fld.choices:
        return fld.choice(text)
    return text


def _to_number(value: str | None, fld: FieldSchema) -> int | float:
    cleaned = (value or "").strip().replace(",", "").lstrip("$€£")
    try:
        number = float(cleaned.rstrip("%"))
    except ValueError:
        raise InvalidInputError(f'"{value}" is not a number ({fld.name}).') from None
    number = number / 100 if cleaned.endswith("%") else number
    return int(number) if number.is_integer() else number


def _truth(value: str | None, fld: FieldSchema) -> bool:
    text = (value or "").strip().lower()
    if text in ("true", "yes", "checked", "1"):
        return True
    if text in ("false", "no", "unchecked", "0"):
        return False
    raise InvalidInputError(f"{fld.name} is a checkbox: use true or false.")
