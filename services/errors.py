"""The application's error hierarchy. Pages catch `AppError` once per action.

AppError
├── ConfigurationError    a setting is missing or wrong
├── StoreUnavailableError SQL or Redis cannot be reached
├── NotAllowedError       the user's role or connection does not allow this
├── NotFoundError         the thing asked for does not exist
├── InvalidInputError     the user's (or model's) input is wrong; nothing changed
├── AirtableError         Airtable refused or failed
├── ProviderError         the language model provider refused or failed (kinds in
│                         services/llm/errors.py)
└── BudgetExceededError   a spend or rate limit would be crossed
"""

from __future__ import annotations


class AppError(Exception):
    """Root of every error the app expects; its message is safe to show to a user."""


class ConfigurationError(AppError):
    pass


class StoreUnavailableError(AppError):
    def __init__(self, store: str, message: str) -> None:
        super().__init__(message)
        self.store = store


class NotAllowedError(AppError):
    pass


class NotFoundError(AppError):
    pass


class InvalidInputError(AppError):
    pass


class AirtableError(AppError):
    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class ProviderError(AppError):
    """A model call failed at the provider. The message is for the person; `detail` is the
    provider's own message (secrets redacted), for the log only."""

    kind = "error"

    def __init__(self, message: str, *, detail: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.detail = detail
        self.status = status


class BudgetExceededError(AppError):
    pass
