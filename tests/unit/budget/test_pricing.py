"""Cost math in nano-USD against hand-computed values, per model of config/models.toml."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from config.settings import load_settings
from services.budget.pricing import (
    NANO_PER_USD,
    TokenUsage,
    cost_nusd,
    estimate_call,
    format_usd,
    usd_to_nusd,
)
from services.errors import InvalidInputError
from services.llm.catalog import ModelCatalog, load_model_catalog


@pytest.fixture(scope="module")
def catalog() -> ModelCatalog:
    return load_model_catalog(load_settings().model_table_path)


# 1,000,000 input tokens of which 250,000 cached, 400,000 output of which 150,000 thinking:
# (750,000 x input + 250,000 x cached + 400,000 x output) nano-USD per token rates.
BIG = TokenUsage(
    input_tokens=1_000_000, output_tokens=400_000, cached_tokens=250_000, reasoning_tokens=150_000
)


@pytest.mark.parametrize(
    ("model", "usage", "expected_nusd"),
    [
        # gemini-2.5-flash: 0.30 / 2.50 / 0.03 USD per 1M -> 300 / 2500 / 30 nano-USD a token
        ("gemini-2.5-flash", TokenUsage(1000, 500, 200, 100), 800 * 300 + 200 * 30 + 500 * 2500),
        ("gemini-2.5-flash", TokenUsage(1000, 0), 300_000),  # $0.0003
        # 75k x 300 + 25k x 30 + 40k x 2500 = 22,500,000 + 750,000 + 100,000,000
        ("gemini-2.5-flash", TokenUsage(100_000, 40_000, 25_000, 15_000), 123_250_000),
        # gemini-2.5-flash-lite: 0.10 / 0.40 / 0.01 -> 100 / 400 / 10
        ("gemini-2.5-flash-lite", TokenUsage(1000, 500, 200, 100), 80_000 + 2_000 + 200_000),
        # gemini-2.5-pro up to 200k input: 1.25 / 10.00 / 0.125 -> 1250 / 10000 / 125
        ("gemini-2.5-pro", TokenUsage(1000, 500, 200, 100), 1_000_000 + 25_000 + 5_000_000),
        ("gemini-2.5-pro", TokenUsage(200_000, 0), 250_000_000),  # exactly 200k: base tier
        # above 200k input, the whole call: 2.50 / 15.00 / 0.25 -> 2500 / 15000 / 250
        ("gemini-2.5-pro", TokenUsage(200_001, 0), 500_002_500),
        ("gemini-2.5-pro", BIG, 750_000 * 2500 + 250_000 * 250 + 400_000 * 15000),
        # gemini-3-flash-preview: 0.50 / 3.00 / 0.05 -> 500 / 3000 / 50
        ("gemini-3-flash-preview", TokenUsage(1000, 500, 200, 100), 400_000 + 10_000 + 1_500_000),
        ("llama3.2", BIG, 0),
        ("qwen3", BIG, 0),
        ("gemma3", BIG, 0),
    ],
)
def test_cost__matches_hand_computed_values(
    catalog: ModelCatalog, model: str, usage: TokenUsage, expected_nusd: int
) -> None:
    assert cost_nusd(catalog.get(model), usage) == expected_nusd


def test_cost__prices_thinking_tokens_once_as_output(catalog: ModelCatalog) -> None:
    flash = catalog.get("gemini-2.5-flash")
    with_thinking = TokenUsage(input_tokens=10, output_tokens=110, reasoning_tokens=100)
    without = TokenUsage(input_tokens=10, output_tokens=110)
    assert cost_nusd(flash, with_thinking) == cost_nusd(flash, without) == 10 * 300 + 110 * 2500


def test_usage__reads_langchain_metadata_with_cached_and_reasoning_details() -> None:
    usage = TokenUsage.from_metadata(
        {
            "input_tokens": 120,
            "output_tokens": 40,
            "total_tokens": 160,
            "input_token_details": {"cache_read": 100},
            "output_token_details": {"reasoning": 25},
        }
    )
    assert usage == TokenUsage(
        input_tokens=120, output_tokens=40, cached_tokens=100, reasoning_tokens=25
    )
    assert usage.total_tokens == 160


def test_usage__missing_details_count_as_zero_and_none_stays_none() -> None:
    assert TokenUsage.from_metadata({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}) == (
        TokenUsage(5, 2)
    )
    assert TokenUsage.from_metadata(None) is None


def test_usage__never_counts_more_cached_than_input() -> None:
    usage = TokenUsage.from_metadata(
        {
            "input_tokens": 10,
            "output_tokens": 0,
            "total_tokens": 10,
            "input_token_details": {"cache_read": 50},
        }
    )
    assert usage is not None
    assert usage.cached_tokens == 10


def test_estimate__is_input_times_safety_factor_plus_output_cap_and_thinking(
    catalog: ModelCatalog,
) -> None:
    flash = catalog.get("gemini-2.5-flash")
    messages = [SystemMessage("You answer questions about bases."), HumanMessage("x" * 4000)]
    counted = count_tokens_approximately(messages)

    estimate = estimate_call(flash, messages, safety_factor=1.3)

    assert estimate.input_tokens == math.ceil(counted * 1.3)
    assert (flash.output_cap, flash.thinking_budget) == (16_384, 8192)
    assert estimate.output_tokens == 16_384 + 8192
    assert estimate.input_nusd == estimate.input_tokens * 300
    assert estimate.total_nusd == estimate.input_nusd + (16_384 + 8192) * 2500


def test_estimate__counts_tools_and_uses_the_long_context_tier(catalog: ModelCatalog) -> None:
    pro = catalog.get("gemini-2.5-pro")
    tool = {
        "type": "function",
        "function": {
            "name": "search_records",
            "description": "Search a table " * 50,
            "parameters": {},
        },
    }
    short = [HumanMessage("hello")]
    assert estimate_call(pro, short, tools=[tool], safety_factor=1.0).input_tokens > (
        estimate_call(pro, short, safety_factor=1.0).input_tokens
    )

    long = [HumanMessage("word " * 200_000)]  # about 250k tokens
    estimate = estimate_call(pro, long, safety_factor=1.0, output_tokens=1000)
    assert estimate.input_tokens > 200_000
    assert estimate.total_nusd == estimate.input_tokens * 2500 + 1000 * 15000


def test_estimate__covers_what_the_provider_then_reports(catalog: ModelCatalog) -> None:
    flash = catalog.get("gemini-2.5-flash")
    messages = [HumanMessage("What is the total of the Amount field?"), AIMessage("Let me look.")]
    estimate = estimate_call(flash, messages, safety_factor=1.3)
    reported = TokenUsage(input_tokens=20, output_tokens=flash.output_cap, reasoning_tokens=500)
    assert cost_nusd(flash, reported) <= estimate.total_nusd


@pytest.mark.parametrize(
    ("nusd", "text"),
    [
        (2_000_000_000, "$2.00"),
        (1_980_000_000, "$1.98"),
        (1_998_100_000, "$1.998"),  # $2 budget less $0.0019 spent
        (11_000_000, "$0.011"),  # was "$0.02": rounded up to the cent
        (1_900_000, "$0.0019"),
        (50_000_000, "$0.05"),
        (49_000_001, "$0.049"),
        (300_000, "$0.0003"),
        (123_456, "$0.0001234"),
        (999_999_999, "$0.9999"),
        (1, "$0.000000001"),
        (0, "$0.00"),
        (12_345_678_900, "$12.34"),
        (1_234_500_000_000, "$1,234.50"),
        (-5_000_000, "-$0.005"),
    ],
)
def test_format_usd__four_significant_digits_at_least_cents(nusd: int, text: str) -> None:
    assert format_usd(nusd) == text


_AMOUNT = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2,9}$")
_NANO = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # the ledger's BigInteger


def _value(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


@given(_NANO)
def test_format_usd__reads_back_within_a_thousandth_never_above(nusd: int) -> None:
    text = format_usd(nusd)
    exact = Decimal(nusd) / NANO_PER_USD
    assert _AMOUNT.match(text), text
    shown = _value(text)
    assert abs(shown) <= abs(exact)  # cut toward zero: never more than there is
    assert abs(exact) - abs(shown) <= abs(exact) / 1000  # 4 significant digits
    assert (shown == 0) == (nusd == 0)  # a cost is never shown as nothing


@given(st.integers(min_value=0, max_value=9_999), st.integers(min_value=-9, max_value=-2))
def test_format_usd__exact_for_amounts_of_four_digits(digits: int, exponent: int) -> None:
    amount = Decimal(digits).scaleb(exponent)
    assert _value(format_usd(int(amount * NANO_PER_USD))) == amount


@given(_NANO, _NANO)
def test_format_usd__keeps_the_order_of_amounts(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert _value(format_usd(low)) <= _value(format_usd(high))


# A limit typed as a round amount (whole cents, up to $1,000,000) and anything spent of it.
_LIMIT_AND_SPENT = st.integers(min_value=1, max_value=10**8).flatmap(
    lambda cents: st.tuples(
        st.just(cents * 10_000_000), st.integers(min_value=1, max_value=cents * 10_000_000 - 1)
    )
)


@given(_LIMIT_AND_SPENT)
def test_format_usd__a_budget_with_spend_never_reads_untouched(
    limit_spent: tuple[int, int],
) -> None:
    limit, spent = limit_spent
    assert format_usd(limit - spent) != format_usd(limit)


def test_usd_to_nusd__is_exact_and_refuses_bad_input() -> None:
    assert usd_to_nusd("0.30") == 300_000_000
    assert usd_to_nusd(2.0) == 2_000_000_000
    assert usd_to_nusd(Decimal("0.000000001")) == 1
    for bad in ("-1", "abc", "NaN"):
        with pytest.raises(InvalidInputError):
            usd_to_nusd(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Amount in USD: 'abc' is not a number."),
        ("-1", "Amount in USD: '-1' is not a number of 0 or more."),
    ],
)
def test_usd_to_nusd__names_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        usd_to_nusd(text)
    assert str(refused.value) == message
