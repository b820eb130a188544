"""Errors raised while compiling a formula; ``str(error)`` is Airtable's own message."""

from __future__ import annotations

from collections.abc import Iterable

_PREFIX = "The formula for filtering records is invalid: "
INVALID_FORMULA_MESSAGE = _PREFIX + "Invalid formula. Please check your formula text."


class FormulaError(Exception):
    """A formula that cannot be compiled.

    ``str(error)`` is the message Airtable returns with ``INVALID_FILTER_BY_FORMULA``;
    ``reason`` says what was wrong, for logs and tests (Airtable does not tell users).
    """

    def __init__(self, message: str = INVALID_FORMULA_MESSAGE, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class UnknownFieldError(FormulaError):
    """A formula that references fields the table does not have."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: list[str] = list(dict.fromkeys(names))
        message = _PREFIX + "Unknown field names: " + ", ".join(self.names)
        super().__init__(message, reason="unknown fields")
