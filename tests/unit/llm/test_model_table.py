"""config/models.toml and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import LLMProvider, load_settings
from services.errors import ConfigurationError
from services.llm.catalog import load_model_catalog, parse_model_catalog

ROW = """
[models."m"]
provider = "gemini"
context_window = 1000
max_output_tokens = 100
thinking_budget_tokens = 0
input_per_mtok = {input}
output_per_mtok = 1
cached_input_per_mtok = 0
"""


def test_table__lists_the_required_models_with_integer_prices() -> None:
    catalog = load_model_catalog(load_settings().model_table_path)
    names = {m.name for m in catalog.all()}
    assert {"gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"} <= names
    assert "gemini-3-flash-preview" in names
    ollama = catalog.enabled(LLMProvider.OLLAMA)
    assert ollama
    assert all(m.is_free for m in ollama)
    assert not any(m.is_free for m in catalog.all() if m.provider is LLMProvider.GEMINI)
    pro = catalog.get("gemini-2.5-pro")
    assert pro.long_context is not None
    assert pro.long_context.above_input_tokens == 200_000
    assert catalog.default_name(LLMProvider.GEMINI) == "gemini-2.5-flash"
    for model in catalog.all():
        assert model.output_cap <= model.max_output_tokens <= model.context_window


def test_table__names_the_known_models_for_an_unknown_one() -> None:
    catalog = load_model_catalog(load_settings().model_table_path)
    with pytest.raises(ConfigurationError, match=r"Unknown model 'gpt-4o'.*gemini-2\.5-flash"):
        catalog.get("gpt-4o")


def test_table__reads_prices_exactly() -> None:
    catalog = parse_model_catalog(ROW.format(input="0.125"))
    assert catalog.get("m").rates().input_nusd == 125


def test_table__refuses_a_price_that_is_not_whole_nano_usd() -> None:
    with pytest.raises(ConfigurationError, match="not a whole nano-USD per token"):
        parse_model_catalog(ROW.format(input="0.0001"))


def test_table__refuses_an_output_cap_above_the_model_limit() -> None:
    text = ROW.format(input="1") + "output_cap_tokens = 101\n"
    with pytest.raises(ConfigurationError, match="output_cap_tokens"):
        parse_model_catalog(text)


def test_table__requires_a_thinking_budget_for_gemini() -> None:
    text = ROW.format(input="1").replace("thinking_budget_tokens = 0\n", "")
    with pytest.raises(ConfigurationError, match="thinking_budget_tokens is required"):
        parse_model_catalog(text)


def test_table__refuses_a_thinking_budget_for_ollama() -> None:
    text = ROW.format(input="0").replace('"gemini"', '"ollama"')
    with pytest.raises(ConfigurationError, match="does not apply to Ollama"):
        parse_model_catalog(text)


def test_table__reserves_the_output_cap_plus_the_thinking_budget() -> None:
    catalog = load_model_catalog(load_settings().model_table_path)
    for model in catalog.all():
        assert model.reserved_output_tokens == model.output_cap + model.thinking_budget
    assert catalog.get("gemini-2.5-flash").reserved_output_tokens == 16_384 + 8192
    assert catalog.get("llama3.2").thinking_budget == 0


def test_table__refuses_a_default_that_is_not_listed() -> None:
    with pytest.raises(ConfigurationError, match="default gemini model 'x'"):
        parse_model_catalog('[defaults]\ngemini = "x"\n' + ROW.format(input="1"))


def test_table__reports_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_model_catalog(tmp_path / "missing.toml")
