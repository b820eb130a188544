from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import DEV_PLACEHOLDER, Environment, LLMProvider, load_settings

STRONG = "x" * 40


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "AIRTABLE_ENDPOINT_URL", "LLM_PROVIDER", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_defaults__work_on_a_laptop_with_nothing_installed() -> None:
    settings = load_settings()
    assert settings.app_env is Environment.DEVELOPMENT
    assert settings.sql_url.startswith("sqlite:///")
    assert settings.sql_url.endswith("var/app.db")
    assert settings.redis_url is None
    assert settings.uses_emulator
    assert settings.airtable_url == "http://127.0.0.1:8787"
    assert settings.llm_provider is LLMProvider.NONE
    assert not settings.llm_configured


def test_production__refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        load_settings(app_env="production")


def test_production__refuses_short_encryption_key() -> None:
    with pytest.raises(ValidationError, match="ENCRYPTION_KEY"):
        load_settings(app_env="production", secret_key=STRONG, encryption_key="short")


def test_production__accepts_strong_secrets() -> None:
    settings = load_settings(app_env="production", secret_key=STRONG, encryption_key=STRONG)
    assert settings.secret_key.get_secret_value() == STRONG


def test_development__accepts_placeholders() -> None:
    assert load_settings().secret_key.get_secret_value() == DEV_PLACEHOLDER


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_sql_url__selects_the_shipped_driver(given: str, expected: str) -> None:
    assert load_settings(database_url=given).sql_url == expected


def test_environment__is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRTABLE_ENDPOINT_URL", "https://api.airtable.com/")
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    settings = load_settings()
    assert settings.airtable_url == "https://api.airtable.com"
    assert not settings.uses_emulator
    assert settings.llm_configured


def test_gemini__needs_a_key() -> None:
    assert not load_settings(llm_provider="gemini").llm_configured
    assert load_settings(llm_provider="gemini", google_api_key="k").llm_configured


def test_secret_values__lists_every_secret_set() -> None:
    settings = load_settings(google_api_key="AIzaSecret", airtable_token="patX.y")
    assert {"AIzaSecret", "patX.y", DEV_PLACEHOLDER} <= set(settings.secret_values())


def test_secrets__are_not_in_repr() -> None:
    settings = load_settings(google_api_key="AIzaSecret123")
    assert "AIzaSecret123" not in repr(settings)
