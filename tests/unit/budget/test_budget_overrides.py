"""A stored budget refuses a bad limit with a message that names the limit."""

from __future__ import annotations

import pytest

from services.budget.budgets import BudgetOverrides
from services.errors import InvalidInputError


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"day_nusd": -1}, "Budget day limit in nano-USD: use a whole number of 0 or more."),
        ({"month_tokens": -5}, "Budget month limit in tokens: use a whole number of 0 or more."),
    ],
)
def test_budget_overrides__name_the_limit_in_their_message(
    limits: dict[str, int], message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        BudgetOverrides(**limits)
    assert str(refused.value) == message
