"""Budget boxes as an admin types them: every wrong box is named, nothing overflows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.budget.budgets import BudgetOverrides, Limits
from services.budget.limit_input import (
    LIMIT_FIELDS,
    MAX_LIMIT_NUSD,
    MAX_LIMIT_TOKENS,
    LimitField,
    format_limit,
    limit_boxes,
    limit_input_text,
    parse_budget,
    parse_limit,
)
from services.budget.windows import Metric
from services.errors import InvalidInputError

DAY_USD, MONTH_USD, DAY_TOKENS, MONTH_TOKENS = LIMIT_FIELDS


def _form(**typed: str) -> dict[LimitField, tuple[str, bool]]:
    return {f: (typed.get(f.name, ""), False) for f in LIMIT_FIELDS}


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        (DAY_USD, "2", 2_000_000_000),
        (DAY_USD, "$1,000.50", 1_000_500_000_000),
        (DAY_USD, "0.000001", 1_000),
        (DAY_USD, "1000000", MAX_LIMIT_NUSD),
        (DAY_TOKENS, "2,000,000", 2_000_000),
        (DAY_TOKENS, "1000000000000", MAX_LIMIT_TOKENS),
        (DAY_USD, "  ", None),
    ],
)
def test_parse_limit__reads_amounts_and_tokens(field: LimitField, text: str, value: int) -> None:
    assert parse_limit(text, field, "Org day USD") == value


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        (DAY_USD, "99999999999999999999", "Org box: 99999999999999999999 is more than the largest"),
        (DAY_USD, "1e400", "Org box: 1e400 is more than the largest limit, $1,000,000.00."),
        (DAY_USD, "1e999999", "Org box: 1e999999 is more than the largest"),
        (DAY_USD, "1000000.000000001", "Org box: 1000000.000000001 is more than"),
        (DAY_USD, "inf", "Org box: “inf” is not an amount in USD."),
        (DAY_USD, "NaN", "Org box: “NaN” is not an amount in USD."),
        (DAY_USD, "abc", "Org box: “abc” is not an amount in USD."),
        (DAY_USD, "-1", "Org box: a limit cannot be less than 0."),
        (DAY_USD, "0", "Org box: 0 is not a limit."),
        (DAY_TOKENS, "1e400", "Org box: “1e400” is not a whole number of tokens."),
        (DAY_TOKENS, "9" * 5000, "Org box: 999999999999999999999999… is more than the largest"),
        (DAY_TOKENS, "-5", "Org box: a limit cannot be less than 0."),
        (DAY_TOKENS, "1.5", "Org box: “1.5” is not a whole number of tokens."),
    ],
)
def test_parse_limit__names_the_box_and_what_is_wrong(
    field: LimitField, text: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_limit(text, field, "Org box")
    assert str(caught.value).startswith(message)


@given(st.text(max_size=60))
def test_parse_limit__any_text_is_a_value_in_range_or_a_named_refusal(text: str) -> None:
    refusals: list[str] = []
    for field in LIMIT_FIELDS:
        try:
            value = parse_limit(text, field, "User month USD")
        except InvalidInputError as exc:
            refusals.append(str(exc))
            continue
        assert value is None or 0 < value <= field.maximum
    assert all(r.startswith("User month USD: ") for r in refusals)


def test_parse_budget__names_every_wrong_box_and_keeps_ticked_ones() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_budget(_form(day_nusd="1e400", month_tokens="lots"), "Org")
    message = str(caught.value)
    assert "Org day USD: 1e400 is more than" in message
    assert "Org month tokens: “lots” is not a whole number" in message

    entered = {**_form(day_nusd="0.5"), DAY_TOKENS: ("ignored", True)}
    assert parse_budget(entered, "User") == BudgetOverrides(day_nusd=500_000_000, day_tokens=0)


@given(st.integers(min_value=1, max_value=MAX_LIMIT_NUSD))
def test_limit_input_text__saving_unchanged_stores_the_same_amount(nusd: int) -> None:
    assert parse_limit(limit_input_text(nusd, Metric.USD), DAY_USD, "User day USD") == nusd


def test_format_limit__amount_tokens_or_no_limit() -> None:
    assert format_limit(1_998_100_000, Metric.USD) == "$1.998"
    assert format_limit(2_000_000, Metric.TOKENS) == "2,000,000 tokens"
    assert format_limit(0, Metric.USD) == "no limit"


def test_limit_boxes__name_each_box_and_the_default_it_stands_for() -> None:
    defaults = Limits(day_nusd=2_000_000_000, month_nusd=0, day_tokens=5, month_tokens=6)
    boxes = limit_boxes("Org", defaults)
    assert [(b.label, b.default_text) for b in boxes] == [
        ("Org day USD", "$2.00"),
        ("Org month USD", "no limit"),
        ("Org day tokens", "5 tokens"),
        ("Org month tokens", "6 tokens"),
    ]
    assert [b.limit for b in boxes] == list(LIMIT_FIELDS)
