"""Property tests: any text compiles or fails cleanly, and everything pyairtable.formulas
can build compiles and evaluates with the expected meaning."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyairtable.formulas as F
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emulator.formula import (
    ErrorValue,
    FieldInfo,
    FormulaError,
    RecordContext,
    compile_formula,
    is_truthy,
    to_cell_value,
)
from emulator.formula.functions import FUNCTIONS

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESULT_TYPES = (None, "number", "singleLineText", "date", "dateTime", "checkbox")

# ---- tables and records -------------------------------------------------------------

_NAME_CHARS = st.one_of(st.characters(codec="utf-8"), st.sampled_from("{}\\'\" ,()="))
_names = st.text(_NAME_CHARS, min_size=1, max_size=10)
_text_values = st.text(_NAME_CHARS, max_size=12)
_int_values = st.integers(min_value=-(2**53), max_value=2**53)
_float_values = st.floats(allow_nan=False, allow_infinity=False)
# From year 1000: pyairtable writes dates with strftime("%Y"), which does not pad
# earlier years to four digits, and no date reader accepts "999-01-01".
_date_values = st.dates(min_value=date(1000, 1, 1), max_value=date(9998, 12, 31))
_zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30))])
_datetime_values = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    _zones,
)
_CELLS: dict[str, st.SearchStrategy[Any]] = {
    "singleLineText": _text_values,
    "number": st.one_of(_int_values, _float_values),
    "checkbox": st.just(True),
    "date": _date_values.map(date.isoformat),
    "dateTime": _datetime_values.map(
        lambda value: (
            value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
            if value.tzinfo
            else value.isoformat(timespec="milliseconds") + "Z"
        )
    ),
    "multipleSelects": st.lists(st.text(min_size=1, max_size=5), max_size=3),
}


def _spelling(name: str) -> str:
    return str(F.Field(name))


def _unambiguous(names: list[str]) -> bool:
    # pyairtable's spelling of one name can be a prefix of another's ("{\}" and
    # "{\}='}"); then the text alone cannot tell them apart, in Airtable as here.
    spellings = [_spelling(name) for name in names]
    return not any(a != b and b.startswith(a) for a in spellings for b in spellings)


@st.composite
def tables(draw: st.DrawFn) -> tuple[FieldInfo, ...]:
    names = draw(st.lists(_names, min_size=1, max_size=4, unique=True).filter(_unambiguous))
    types = draw(
        st.lists(st.sampled_from(sorted(_CELLS)), min_size=len(names), max_size=len(names))
    )
    return tuple(
        FieldInfo(f"fld{index:014d}", name, kind)
        for index, (name, kind) in enumerate(zip(names, types, strict=True))
    )


@st.composite
def records(draw: st.DrawFn, fields: tuple[FieldInfo, ...]) -> RecordContext:
    values = {field.id: draw(st.one_of(st.none(), _CELLS[field.type])) for field in fields}
    return RecordContext("recAAAAAAAAAAAAAA", T0, T0, values, now=T0)


# ---- pyairtable formulas ---------------------------------------------------------------

_literals = st.one_of(
    _text_values,
    _int_values,
    _float_values,
    st.booleans(),
    _date_values,
    _datetime_values,
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.fractions(max_denominator=50),
)


def _pyairtable_functions() -> dict[str, Callable[..., F.FunctionCall]]:
    return {
        name: value
        for name, value in vars(F).items()
        if name.isupper()
        and inspect.isfunction(value)
        and value.__annotations__.get("return") is F.FunctionCall
    }


PYAIRTABLE_FUNCTIONS = _pyairtable_functions()


def _arity(function: Callable[..., Any]) -> tuple[int, int, bool]:
    params = inspect.signature(function).parameters.values()
    required = sum(1 for p in params if p.kind == p.POSITIONAL_ONLY and p.default is p.empty)
    optional = sum(1 for p in params if p.kind == p.POSITIONAL_ONLY and p.default is not p.empty)
    return required, optional, any(p.kind == p.VAR_POSITIONAL for p in params)


@st.composite
def function_calls(draw: st.DrawFn, argument: st.SearchStrategy[Any]) -> F.FunctionCall:
    name = draw(st.sampled_from(sorted(PYAIRTABLE_FUNCTIONS)))
    required, optional, variadic = _arity(PYAIRTABLE_FUNCTIONS[name])
    count = required + draw(st.integers(0, optional)) + (draw(st.integers(0, 2)) if variadic else 0)
    return PYAIRTABLE_FUNCTIONS[name](*draw(st.lists(argument, min_size=count, max_size=count)))


def conditions(fields: tuple[FieldInfo, ...]) -> st.SearchStrategy[F.Formula]:
    """Comparisons and boolean compounds over the table's fields, as pyairtable builds them."""
    names = st.sampled_from([field.name for field in fields])
    operand = st.one_of(
        names.map(F.Field),
        names.map(lambda name: F.LOWER(F.Field(name))),
        names.map(lambda name: F.LEN(F.Field(name))),
        names.map(lambda name: F.CONCATENATE(F.Field(name), "!")),
        st.tuples(_text_values, names).map(lambda pair: F.FIND(pair[0], F.Field(pair[1]))),
        st.just(F.RECORD_ID()),
    )
    comparison_classes = st.sampled_from([F.EQ, F.NE, F.GT, F.GTE, F.LT, F.LTE])
    comparisons = st.one_of(
        st.builds(
            lambda cls, left, right: cls(left, right), comparison_classes, operand, _literals
        ),
        st.dictionaries(names, _literals, min_size=1).flatmap(
            lambda mapping: st.booleans().map(lambda any_: F.match(mapping, match_any=any_))
        ),
    )
    return st.recursive(
        comparisons,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda items: F.AND(*items)),
            st.lists(children, min_size=1, max_size=3).map(lambda items: F.OR(*items)),
            children.map(F.NOT),
            children.map(lambda item: ~item),
            st.tuples(children, children).map(lambda pair: pair[0] & pair[1]),
            st.tuples(children, children).map(lambda pair: pair[0] | pair[1]),
            st.tuples(children, children).map(lambda pair: F.XOR(pair[0], pair[1])),
        ),
        max_leaves=6,
    )


def _check_result(value: Any) -> None:
    is_truthy(value)
    for result_type in RESULT_TYPES:
        to_cell_value(value, result_type)


# ---- properties ------------------------------------------------------------------------

_TOKENS = st.sampled_from(
    ["{A}", "{B}", "{", "}", "(", ")", ",", "&", "+", "-", "*", "/", "=", "!=", "<", ">=",
     "'x'", "'", '"', "\\", "1", "2.5", "1e999", " ", "\n", "BLANK()", "TRUE()", "é", *FUNCTIONS,
     *(name + "(" for name in FUNCTIONS)]
)  # fmt: skip
_SOUP_FIELDS = (FieldInfo("fldA", "A", "number"), FieldInfo("fldB", "B", "multipleSelects"))
_SOUP_RECORD = RecordContext("recA", T0, T0, {"fldA": 2, "fldB": ["x", "y"]})


@FAST
@given(st.one_of(st.text(), st.lists(_TOKENS, max_size=12).map("".join)))
def test_any_text__compiles_or_raises_formula_error(text: str) -> None:
    error: FormulaError | None = None
    try:
        formula = compile_formula(text, _SOUP_FIELDS)
    except FormulaError as caught:
        error = caught
    if error is not None:
        assert str(error).startswith("The formula for filtering records is invalid: ")
        return

    _check_result(formula.evaluate(_SOUP_RECORD))
    _check_result(formula.evaluate(RecordContext("recB", T0, T0, {})))


@FAST
@given(st.data())
def test_pyairtable_conditions__compile_and_evaluate_to_booleans(data: st.DataObject) -> None:
    fields = data.draw(tables())
    formula = compile_formula(str(data.draw(conditions(fields))), fields)

    result = formula.evaluate(data.draw(records(fields)))

    assert result is True or result is False


@FAST
@given(st.data())
def test_pyairtable_function_calls__compile_and_evaluate(data: st.DataObject) -> None:
    fields = data.draw(tables())
    fields_and_values = st.one_of(st.sampled_from([F.Field(f.name) for f in fields]), _literals)
    call = data.draw(
        function_calls(st.one_of(fields_and_values, function_calls(fields_and_values)))
    )

    formula = compile_formula(str(call), fields)

    _check_result(formula.evaluate(data.draw(records(fields))))


@FAST
@given(name=_names, cell=_text_values, literal=_text_values, compare=st.sampled_from(["eq", "ne"]))
def test_pyairtable_text_equality__matches_python(
    name: str, cell: str, literal: str, compare: str
) -> None:
    fields = (FieldInfo("fldT", name, "singleLineText"),)
    condition = F.EQ(F.Field(name), literal) if compare == "eq" else F.NE(F.Field(name), literal)
    record = RecordContext("recA", T0, T0, {"fldT": cell})

    result = compile_formula(str(condition), fields).evaluate(record)

    assert result is ((cell == literal) if compare == "eq" else (cell != literal))
    assert compile_formula(str(F.match({name: literal})), fields).evaluate(record) is (
        cell == literal
    )


_PYTHON_COMPARISONS = {
    F.EQ: operator.eq,
    F.NE: operator.ne,
    F.GT: operator.gt,
    F.GTE: operator.ge,
    F.LT: operator.lt,
    F.LTE: operator.le,
}


@FAST
@given(
    cell=st.one_of(st.none(), _int_values, _float_values),
    literal=st.one_of(_int_values, _float_values),
    cls=st.sampled_from(sorted(_PYTHON_COMPARISONS, key=lambda c: c.operator)),
)
def test_pyairtable_number_comparisons__match_python(cell: Any, literal: Any, cls: Any) -> None:
    fields = (FieldInfo("fldN", "N", "number"),)
    record = RecordContext("recA", T0, T0, {"fldN": cell})

    result = compile_formula(str(cls(F.Field("N"), literal)), fields).evaluate(record)

    assert result is _PYTHON_COMPARISONS[cls](0 if cell is None else cell, literal)


@FAST
@given(value=st.one_of(_date_values, _datetime_values), kind=st.sampled_from(["date", "dateTime"]))
def test_pyairtable_dates__equal_the_cell_they_were_written_from(value: Any, kind: str) -> None:
    fields = (FieldInfo("fldD", "D", kind),)
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=value.tzinfo or UTC)
        cell = moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        assume(moment.microsecond % 1000 == 0)
    else:
        cell = value.isoformat()
    assume(kind == "dateTime" or not isinstance(value, datetime))
    record = RecordContext("recA", T0, T0, {"fldD": cell})

    formula = compile_formula(str(F.EQ(F.Field("D"), value)), fields)

    assert formula.evaluate(record) is True


@pytest.mark.parametrize("name", sorted(PYAIRTABLE_FUNCTIONS))
def test_every_pyairtable_function__is_known_with_its_arity(name: str) -> None:
    required, optional, variadic = _arity(PYAIRTABLE_FUNCTIONS[name])
    fields = (FieldInfo("fldA", "A", "singleLineText"),)

    for count in {required, required + optional, required + optional + (2 if variadic else 0)}:
        call = PYAIRTABLE_FUNCTIONS[name](*([F.Field("A")] * count))
        formula = compile_formula(str(call), fields)
        _check_result(formula.evaluate(RecordContext("recA", T0, T0, {"fldA": "2024-01-02"})))


def test_pyairtable_examples__from_the_api_notes() -> None:
    fields = (
        FieldInfo("fldA", "A", "singleLineText"),
        FieldInfo("fldB", "B", "number"),
        FieldInfo("fldE", "Email", "email"),
        FieldInfo("fldC", "Closing } brace", "singleLineText"),
    )
    record = RecordContext("recA", T0, T0, {"fldA": "x", "fldB": 30, "fldE": "a@b.co", "fldC": "y"})
    examples = [
        F.AND(F.EQ(F.Field("A"), "x"), F.GTE(F.Field("B"), 21)),
        F.NE(F.Field("Email"), F.BLANK()),
        F.OR(F.EQ(F.RECORD_ID(), "recA"), F.EQ(F.RECORD_ID(), "recB")),
        F.LT(F.DATETIME_PARSE(date(2023, 12, 1)), F.DATETIME_PARSE(datetime(2023, 12, 2))),
        F.LT(F.Field("B"), Fraction(400, 13)),
        F.GT(F.Field("B"), Decimal("29.5")),
        F.EQ(F.Field("Closing } brace"), "y"),
        F.match({"A": "x", "B": (">", 3)}),
    ]

    for example in examples:
        assert compile_formula(str(example), fields).evaluate(record) is True, str(example)
    assert not isinstance(
        compile_formula(str(F.DATETIME_PARSE(date(2023, 12, 1))), fields).evaluate(record),
        ErrorValue,
    )
