"""The one place agents turn a provider's failure into a typed error."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from agents.model_calls import provider_errors
from services.errors import BudgetExceededError
from services.llm.errors import ProviderTimeoutError, ProviderUnavailableError

AGENTS = Path(__file__).resolve().parents[3] / "agents"


def test_provider_errors__translate_a_client_failure_and_log_its_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cause = ConnectionError(
        "Failed to connect to Ollama at key=AIzaSyAbcdefghijklmnopqrstuvwxyz012"
    )
    with (
        caplog.at_level(logging.WARNING, logger="agents.model_calls"),
        pytest.raises(ProviderUnavailableError) as excinfo,
        provider_errors("turn in c1"),
    ):
        raise cause
    assert excinfo.value.__cause__ is cause
    [record] = caplog.records
    assert "turn in c1 failed: kind=unavailable" in record.getMessage()
    assert "Failed to connect to Ollama" in record.getMessage()
    assert "AIzaSy" not in record.getMessage()  # redacted


def test_provider_errors__let_the_apps_own_errors_through_unchanged() -> None:
    refusal = BudgetExceededError("over the daily budget")
    with pytest.raises(BudgetExceededError) as excinfo, provider_errors("turn in c1"):
        raise refusal
    assert excinfo.value is refusal


def test_provider_errors__a_timeout_is_a_timeout() -> None:
    with pytest.raises(ProviderTimeoutError), provider_errors("prompt run r1"):
        raise TimeoutError("timed out")


def test_agents__catch_broad_exceptions_only_in_model_calls() -> None:
    """The assistant and prompt runs share one translation block instead of their own."""
    broad = {
        path.name
        for path in AGENTS.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ExceptHandler)
        and isinstance(node.type, ast.Name)
        and node.type.id in {"Exception", "BaseException"}
    }
    assert broad == {"model_calls.py"}
