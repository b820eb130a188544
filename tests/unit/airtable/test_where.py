"""Nested groups and text searches compile to one formula through pyairtable.formulas."""

from __future__ import annotations

from datetime import date

import pytest

from services.airtable.dates import DateResolver
from services.airtable.filters import Condition
from services.airtable.where import FilterGroup, Subgroup, TextSearch, Where, compile_where
from services.errors import InvalidInputError
from tests.unit.airtable.schemas import TASKS

DATES = DateResolver(date(2026, 12, 9))


def _c(field: str, op: str, value: str | None = None) -> Condition:
    return Condition.model_validate({"field": field, "op": op, "value": value})


def test_groups__combine_as_written() -> None:
    where = Where(
        [_c("Done", "equals", "false")],
        "all",
        [
            FilterGroup(
                match="any",
                conditions=[_c("Status", "equals", "Todo")],
                groups=[Subgroup(match="not", conditions=[_c("Estimate Hours", "gt", "3")])],
            )
        ],
    )
    formula = compile_where(TASKS, where, DATES).formula
    assert formula == (
        "AND(NOT({Done}), OR({Status}='Todo', NOT(AND(LEN(CONCATENATE({Estimate Hours}, ''))>0, "
        "{Estimate Hours}>3))))"
    )


def test_groups__refuse_an_empty_group() -> None:
    with pytest.raises(InvalidInputError, match="at least one condition"):
        compile_where(TASKS, Where(groups=[FilterGroup(match="any")]), DATES)


def test_text_search__looks_in_every_text_field_or_the_ones_named() -> None:
    every = compile_where(TASKS, Where(text=TextSearch(text="  Login  ")), DATES)
    assert every.searched == ["Name", "Status", "Tags", "Notes", "Odd {name}"]
    assert "FIND('login', LOWER(CONCATENATE({Name}, '')))>0" in str(every.formula)
    assert "ARRAYJOIN({Tags}, ' ')" in str(every.formula)
    chosen = compile_where(
        TASKS, Where(text=TextSearch(text="o'brien x", fields=["Notes"], match="all_words")), DATES
    )
    assert chosen.formula == (
        "AND(FIND('o\\'brien', LOWER(CONCATENATE({Notes}, '')))>0, "
        "FIND('x', LOWER(CONCATENATE({Notes}, '')))>0)"
    )


def test_relative_dates__become_concrete_dates_in_the_formula() -> None:
    dates = DateResolver(date(2026, 12, 9))
    formula = compile_where(TASKS, Where([_c("Due Date", "on", "next_14_days")]), dates).formula
    assert "DATETIME_PARSE('2026-12-09')" in str(formula)
    assert "DATETIME_PARSE('2026-12-24')" in str(formula)  # the day after the window
    assert dates.used == {"next_14_days": (date(2026, 12, 9), date(2026, 12, 23))}
