"""What went wrong with a model call, told apart so a person knows what to do.

ProviderError (services.errors)   the provider failed in some other way
├── ProviderAuthError             the API key is missing or not valid
├── ProviderQuotaError            a quota or rate limit was reached (`retry_after_s` if known)
├── ProviderSafetyError           the provider's safety filter blocked the request
├── ProviderModelNotFoundError    the provider does not serve the model (or it is not pulled)
├── ProviderUnavailableError      the provider failed (5xx) or cannot be reached
└── ProviderTimeoutError          no answer in time

`translate_provider_error` is the one place that reads the exceptions of google-genai,
ollama and httpx. It recognises them by their attributes and class names rather than by
importing them, so this module works whichever provider packages are installed (and only
`providers.py` imports provider packages).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.messages import BaseMessage

from config.logging import redact
from services.errors import ProviderError

DETAIL_CHARS = 500
_REFUSALS = frozenset({"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"})
_NOT_BLOCKED = frozenset({"", "0", "BLOCKED_REASON_UNSPECIFIED", "NONE"})
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_EXPIRED"})
_TIMEOUT_CLASSES = frozenset({"TimeoutException", "DeadlineExceeded"})
_UNREACHABLE_CLASSES = frozenset({"ConnectError", "NetworkError", "RemoteProtocolError"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class ProviderAuthError(ProviderError):
    kind = "auth"


class ProviderQuotaError(ProviderError):
    kind = "quota"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        detail: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, detail=detail, status=status)
        self.retry_after_s = retry_after_s


class ProviderSafetyError(ProviderError):
    kind = "safety"


class ProviderModelNotFoundError(ProviderError):
    kind = "model_not_found"


class ProviderUnavailableError(ProviderError):
    kind = "unavailable"


class ProviderTimeoutError(ProviderError):
    kind = "timeout"


AUTH_MESSAGE = (
    "The language model provider refused the API key: it is missing or not valid. "
    "An admin can check GOOGLE_API_KEY and use Test connection on the Status page."
)
SAFETY_MESSAGE = (
    "The provider's safety filter blocked this request, so there is no answer. "
    "Rephrase the question and try again."
)
TIMEOUT_MESSAGE = "The language model did not answer in time. Try again, or ask for less at once."
GENERIC_MESSAGE = "The language model failed to answer (the provider returned an error)."


def translate_provider_error(exc: BaseException, *, model: str | None = None) -> ProviderError:
    """The typed `ProviderError` for an exception raised by a provider client.

    Args:
        exc: What the LangChain model (or the provider's own client) raised.
        model: The model that was called, named in a not-found message.
    """
    if isinstance(exc, ProviderError):
        return exc
    for cause in _chain(exc):
        if _is_gemini_error(cause):
            code = int(getattr(cause, "code", 0))
            return _from_status(code, _gemini_detail(cause), model, _gemini_hints(cause))
        if _is_ollama_error(cause):
            detail = str(getattr(cause, "error", cause))
            return _from_status(int(getattr(cause, "status_code", 0)), detail, model, {})
    detail = _clean(f"{type(exc).__name__}: {exc}")
    if is_timeout(exc):
        return ProviderTimeoutError(TIMEOUT_MESSAGE, detail=detail)
    if _is_unreachable(exc):
        return ProviderUnavailableError(_unavailable_message(None), detail=detail)
    return ProviderError(GENERIC_MESSAGE, detail=detail)


def is_timeout(exc: BaseException) -> bool:
    """Whether the call ended because the client gave up waiting (any client's timeout)."""
    return any(
        isinstance(cause, TimeoutError) or _class_names(cause) & _TIMEOUT_CLASSES
        for cause in _chain(exc)
    )


def refusal_of(message: BaseMessage) -> ProviderSafetyError | None:
    """The safety block a provider reported on an answer (Gemini), or None."""
    metadata = message.response_metadata or {}
    finish = str(_value(metadata.get("finish_reason")) or "")
    feedback = metadata.get("prompt_feedback")
    blocked = ""
    if isinstance(feedback, Mapping):
        blocked = str(_value(feedback.get("block_reason")) or "")
    if finish.upper() in _REFUSALS:
        return ProviderSafetyError(SAFETY_MESSAGE, detail=f"finish_reason={finish}")
    if blocked.upper() not in _NOT_BLOCKED:
        return ProviderSafetyError(SAFETY_MESSAGE, detail=f"block_reason={blocked}")
    return None


def retry_after_words(seconds: float | None) -> str:
    """ "in 38 seconds", "in 2 minutes", or "later" when the provider did not say."""
    if seconds is None:
        return "later"
    whole = max(1, math.ceil(seconds))
    if whole < 120:
        return f"in {whole} second{'s' if whole != 1 else ''}"
    return f"in {math.ceil(whole / 60)} minutes"


def _from_status(
    status: int, detail: str, model: str | None, hints: Mapping[str, Any]
) -> ProviderError:
    detail = _clean(detail)
    if status in (401, 403) or hints.get("key_invalid"):
        return ProviderAuthError(AUTH_MESSAGE, detail=detail, status=status)
    if status == 429:
        retry = hints.get("retry_after_s")
        message = (
            "The language model provider's quota or rate limit was reached; "
            f"try again {retry_after_words(retry)}."
        )
        return ProviderQuotaError(message, retry_after_s=retry, detail=detail, status=status)
    if status == 404:
        which = f"The model {model}" if model else "The model"
        message = (
            f"{which} is not available from the provider. An admin can pick another model "
            "in config/models.toml (or, for Ollama, pull it with `ollama pull`)."
        )
        return ProviderModelNotFoundError(message, detail=detail, status=status)
    if status in (408, 504):
        return ProviderTimeoutError(TIMEOUT_MESSAGE, detail=detail, status=status)
    if status >= 500:
        return ProviderUnavailableError(_unavailable_message(status), detail=detail, status=status)
    return ProviderError(GENERIC_MESSAGE, detail=detail, status=status)


def _unavailable_message(status: int | None) -> str:
    what = f"is failing (HTTP {status})" if status else "cannot be reached"
    return f"The language model provider {what}. Try again in a few minutes."


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_unreachable(exc: BaseException) -> bool:
    return any(
        isinstance(cause, ConnectionError) or _class_names(cause) & _UNREACHABLE_CLASSES
        for cause in _chain(exc)
    )


def _is_gemini_error(exc: BaseException) -> bool:
    # google.genai.errors.APIError: code, status, message and the parsed body in `details`.
    module = type(exc).__module__
    return module.startswith("google.genai") and isinstance(getattr(exc, "code", None), int)


def _is_ollama_error(exc: BaseException) -> bool:
    # ollama.ResponseError: the body's "error" text and the HTTP status (-1 if none).
    return (
        type(exc).__module__.startswith("ollama")
        and isinstance(getattr(exc, "status_code", None), int)
        and getattr(exc, "status_code", -1) > 0
    )


def _gemini_detail(exc: Any) -> str:
    status = getattr(exc, "status", None) or ""
    return f"{status} {getattr(exc, 'message', None) or ''}".strip()


def _gemini_hints(exc: Any) -> dict[str, Any]:
    """What Google's error details say: a bad key (`ErrorInfo`), a retry delay (`RetryInfo`)."""
    body = getattr(exc, "details", None)
    error = body.get("error", body) if isinstance(body, Mapping) else {}
    details = error.get("details") if isinstance(error, Mapping) else None
    hints: dict[str, Any] = {}
    for item in details if isinstance(details, list) else []:
        if not isinstance(item, Mapping):
            continue
        kind = str(item.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and item.get("reason") in _KEY_REASONS:
            hints["key_invalid"] = True
        if kind.endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                hints["retry_after_s"] = float(match.group(1))
    if "retry_after_s" not in hints:
        hints["retry_after_s"] = _retry_after_header(getattr(exc, "response", None))
    return hints


def _retry_after_header(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _value(raw: Any) -> Any:
    return getattr(raw, "value", raw)  # enums (BlockedReason.SAFETY) to their value


def _clean(text: str) -> str:
    """The provider's message with secrets redacted, on one line, cut short."""
    one_line = " ".join(redact(text).split())
    return one_line[:DETAIL_CHARS]
