"""Cost of a model call in integer nano-USD: from reported usage, and worst case up front.

LangChain's `usage_metadata` already folds cached input into `input_tokens` and thinking
into `output_tokens`; the details only say which part is which. Each token is therefore
priced exactly once: uncached input at the input rate, cached input at the cached rate,
all output (thinking included) at the output rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata

from services.errors import InvalidInputError
from services.llm.catalog import ModelSpec
from services.llm.token_counts import message_tokens

NANO_PER_USD = 1_000_000_000
# How many digits an amount shows (at least down to cents): see `format_usd`.
SIGNIFICANT_DIGITS = 4


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one call. `input_tokens` includes `cached_tokens`; `output_tokens` includes
    `reasoning_tokens`."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @classmethod
    def from_metadata(cls, usage: UsageMetadata | Mapping[str, Any] | None) -> TokenUsage | None:
        """Read LangChain usage metadata; None when the provider reported none."""
        if not usage:
            return None
        input_details = usage.get("input_token_details") or {}
        output_details = usage.get("output_token_details") or {}
        input_tokens = max(int(usage.get("input_tokens") or 0), 0)
        output_tokens = max(int(usage.get("output_tokens") or 0), 0)
        return cls(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=min(max(int(input_details.get("cache_read") or 0), 0), input_tokens),
            reasoning_tokens=min(max(int(output_details.get("reasoning") or 0), 0), output_tokens),
        )


def cost_nusd(spec: ModelSpec, usage: TokenUsage) -> int:
    """The price of `usage` on `spec`, choosing the tier by the call's whole input."""
    rates = spec.rates_for(usage.input_tokens)
    uncached = usage.input_tokens - usage.cached_tokens
    return (
        uncached * rates.input_nusd
        + usage.cached_tokens * rates.cached_input_nusd
        + usage.output_tokens * rates.output_nusd
    )


@dataclass(frozen=True)
class CostEstimate:
    """The worst case of a call before it runs: estimated input plus the most output it
    may write (`output_tokens`, thinking included)."""

    input_tokens: int
    output_tokens: int
    input_nusd: int
    total_nusd: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def estimate_call(
    spec: ModelSpec,
    messages: Sequence[BaseMessage],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    safety_factor: float,
    output_tokens: int | None = None,
) -> CostEstimate:
    """Estimate the worst-case cost of sending `messages` (and `tools`) to `spec`.

    Input is counted offline (`count_tokens_approximately`, each message once: see
    `services.llm.token_counts`; no network) and scaled by `safety_factor`; output is
    `output_tokens` or the model's output cap plus its thinking budget, all priced at the
    output rate. The long-context tier is chosen from the estimated input.
    """
    counted = message_tokens(messages) + tool_tokens(tools or ())
    input_tokens = math.ceil(counted * safety_factor)
    output = spec.reserved_output_tokens if output_tokens is None else output_tokens
    rates = spec.rates_for(input_tokens)
    input_nusd = input_tokens * rates.input_nusd
    return CostEstimate(
        input_tokens=input_tokens,
        output_tokens=output,
        input_nusd=input_nusd,
        total_nusd=input_nusd + output * rates.output_nusd,
    )


CHARS_PER_TOKEN = 4
"""`count_tokens_approximately`'s default, which `tool_tokens` counts with too."""

_tool_chars: dict[int, tuple[Mapping[str, Any], int]] = {}
_MAX_KEPT = 4096


def tool_tokens(tools: Sequence[Mapping[str, Any]]) -> int:
    """The tokens `count_tokens_approximately(..., tools=tools)` adds for `tools` (their
    JSON, 4 characters a token), each tool's JSON length measured once per schema object.

    A turn binds the same tool schemas (one object per tool, see
    `services.llm.tool_schemas`) to every model call, and serialising two dozen of them
    was most of a call's estimate. Schemas are read, never changed, once made.
    """
    if not tools:
        return 0
    chars = 0
    for tool in tools:
        kept = _tool_chars.get(id(tool))
        if kept is None or kept[0] is not tool:
            if len(_tool_chars) >= _MAX_KEPT:  # callers making a new schema every call
                _tool_chars.clear()
            kept = _tool_chars[id(tool)] = (tool, len(json.dumps(dict(tool))))
        chars += kept[1]
    return math.ceil(chars / CHARS_PER_TOKEN)


def format_usd(nusd: int) -> str:
    """An amount as people read it: 4 significant digits, never fewer than cents.

    `$2.00`, `$1.998`, `$0.011`, `$0.0019`, `$1,234.50`. Extra digits are cut, not rounded
    (toward zero): a cost never reads as more than was charged, and a budget with anything
    spent never reads as untouched ($1.998 left of $2.00, not $2.00).
    """
    with localcontext() as context:
        context.prec = len(str(abs(nusd))) + 16  # room for every digit: exact at any size
        usd = Decimal(nusd) / NANO_PER_USD
        places = 2 if usd == 0 else max(2, SIGNIFICANT_DIGITS - 1 - usd.adjusted())
        cut = usd.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    text = f"{abs(cut):,f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{'-' if cut < 0 else ''}${whole}.{fraction}"


def usd_to_nusd(amount: Decimal | str | float) -> int:
    """Whole nano-USD for a USD amount (admin input, settings).

    Raises:
        InvalidInputError: `amount` is not a non-negative number.
    """
    try:
        usd = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInputError(f"Amount in USD: {amount!r} is not a number.") from None
    if not usd.is_finite() or usd < 0:
        raise InvalidInputError(f"Amount in USD: {amount!r} is not a number of 0 or more.")
    return int((usd * NANO_PER_USD).to_integral_value())
