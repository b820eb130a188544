"""Budget limits as an admin types them into a form and as anyone reads them.

Each box of a budget form is named after its owner and limit ("Org day USD"); every
problem names its box. Stored, 0 means "no limit" and None "the default from settings",
so 0 is refused as typed input: nobody types 0 meaning "stop spending" and gets no limit.
The largest limit keeps the budget scripts' arithmetic exact (Redis Lua counts in
doubles, exact up to 2**53): $1,000,000 and a trillion tokens per window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.budget.budgets import BudgetOverrides, Limits
from services.budget.pricing import NANO_PER_USD, format_usd
from services.budget.windows import Metric
from services.errors import InvalidInputError

MAX_LIMIT_USD = 1_000_000
MAX_LIMIT_NUSD = MAX_LIMIT_USD * NANO_PER_USD
MAX_LIMIT_TOKENS = 1_000_000_000_000
_SHOWN_CHARS = 24  # how much of a wrong entry a message repeats


@dataclass(frozen=True)
class LimitField:
    """One limit of a budget: its `BudgetOverrides` field, its label and its unit."""

    name: str
    label: str
    metric: Metric

    @property
    def maximum(self) -> int:
        return MAX_LIMIT_NUSD if self.metric is Metric.USD else MAX_LIMIT_TOKENS


LIMIT_FIELDS = (
    LimitField("day_nusd", "day USD", Metric.USD),
    LimitField("month_nusd", "month USD", Metric.USD),
    LimitField("day_tokens", "day tokens", Metric.TOKENS),
    LimitField("month_tokens", "month tokens", Metric.TOKENS),
)


@dataclass(frozen=True)
class LimitBox:
    """One box of a budget form: the limit it sets, its label, the default it stands for."""

    limit: LimitField
    label: str
    default_text: str


def limit_boxes(owner: str, defaults: Limits) -> list[LimitBox]:
    """The boxes of `owner`'s budget form ("Org", "User"), one per limit, in form order."""
    return [
        LimitBox(f, box_label(owner, f), format_limit(getattr(defaults, f.name), f.metric))
        for f in LIMIT_FIELDS
    ]


def format_amount(value: int, metric: Metric) -> str:
    """Money (`value` in nano-USD) as `$1.998`, tokens as `12,345 tokens`."""
    return format_usd(value) if metric is Metric.USD else f"{value:,} tokens"


def format_limit(value: int, metric: Metric) -> str:
    """A resolved limit: its amount, or "no limit" for 0."""
    return format_amount(value, metric) if value else "no limit"


def limit_input_text(value: int | None, metric: Metric) -> str:
    """What a box shows for a stored limit: exact, so saving it unchanged stores it again.

    Empty for None (the default) and for 0 (no limit: the form's checkbox says that).
    """
    if not value:
        return ""
    if metric is Metric.USD:
        return f"{(Decimal(value) / NANO_PER_USD).normalize():f}"
    return str(value)


def parse_limit(text: str, field: LimitField, box: str) -> int | None:
    """The stored value for what was typed in `box`: None when empty (the default).

    Raises:
        InvalidInputError: Not a number of the field's unit, 0, negative or too large;
            the message names `box`.
    """
    cleaned = text.strip().replace(",", "").removeprefix("$").strip()
    if not cleaned:
        return None
    shown = cleaned if len(cleaned) <= _SHOWN_CHARS else cleaned[:_SHOWN_CHARS] + "…"
    if field.metric is Metric.USD:
        amount = _usd(cleaned, box, shown)
        # Compared in USD first: a huge exponent ("1e999999") cannot be scaled to nano-USD.
        too_big = amount > MAX_LIMIT_USD
        value = field.maximum + 1 if too_big else int(amount * NANO_PER_USD)
    else:
        value = _tokens(cleaned, box, shown, field.maximum)
    if value > field.maximum:
        raise InvalidInputError(
            f"{box}: {shown} is more than the largest limit, "
            f"{format_amount(field.maximum, field.metric)}. For no limit at all tick “No limit”."
        )
    if value == 0:
        raise InvalidInputError(
            f"{box}: 0 is not a limit. To remove the limit tick “No limit”; to stop spending, "
            "set the smallest amount (0.000001 USD or 1 token)."
        )
    return value


def _usd(text: str, box: str, shown: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInputError(f"{box}: “{shown}” is not an amount in USD.") from None
    if not amount.is_finite():
        raise InvalidInputError(f"{box}: “{shown}” is not an amount in USD.")
    if amount < 0:
        raise InvalidInputError(f"{box}: a limit cannot be less than 0.")
    return amount


def _tokens(text: str, box: str, shown: str, maximum: int) -> int:
    if text.startswith("-") and re.fullmatch(r"-\d+", text):
        raise InvalidInputError(f"{box}: a limit cannot be less than 0.")
    if not re.fullmatch(r"\d+", text):
        raise InvalidInputError(f"{box}: “{shown}” is not a whole number of tokens.")
    # Past the largest limit's digits the exact value does not matter (and a huge digit
    # string would be slow to convert).
    return int(text) if len(text) <= len(str(maximum)) else maximum + 1


def parse_budget(entered: Mapping[LimitField, tuple[str, bool]], owner: str) -> BudgetOverrides:
    """A budget from its form: each field's (typed text, "No limit" ticked).

    Raises:
        InvalidInputError: One or more boxes are wrong; every wrong box is named.
    """
    values: dict[str, int | None] = {}
    problems: list[str] = []
    for field, (text, unlimited) in entered.items():
        box = box_label(owner, field)
        try:
            values[field.name] = 0 if unlimited else parse_limit(text, field, box)
        except InvalidInputError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidInputError(" ".join(problems))
    return BudgetOverrides(**values)


def box_label(owner: str, field: LimitField) -> str:
    """The label of a limit's box in `owner`'s budget form: "Org day USD"."""
    return f"{owner} {field.label}"
