"""The model table (`config/models.toml`): providers, prices and output limits per model.

Prices are read as exact decimals and kept as integer nano-USD per token, so every cost the
app computes is an integer (no float rounding anywhere between the table and the ledger).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from config.settings import LLMProvider
from services.errors import ConfigurationError

# USD per 1M tokens -> nano-USD (1e-9 USD) per token.
_NANO_PER_TOKEN_PER_USD_PER_MTOK = Decimal(1000)

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Price = Annotated[Decimal, Field(ge=0)]


def price_to_nano_per_token(usd_per_mtok: Decimal) -> int:
    """Convert a price in USD per 1M tokens to whole nano-USD per token.

    Raises:
        ValueError: The price is not a whole number of nano-USD per token.
    """
    nano = usd_per_mtok * _NANO_PER_TOKEN_PER_USD_PER_MTOK
    if nano != nano.to_integral_value():
        raise ValueError(f"{usd_per_mtok} USD/1M tokens is not a whole nano-USD per token")
    return int(nano)


class Rates(BaseModel):
    """Per-token prices in integer nano-USD."""

    model_config = ConfigDict(frozen=True)

    input_nusd: int
    output_nusd: int
    cached_input_nusd: int


class _PriceBlock(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: Price
    output_per_mtok: Price
    cached_input_per_mtok: Price

    @model_validator(mode="after")
    def _whole_nano_prices(self) -> Self:
        self.rates()  # raises ValueError with the offending price
        return self

    def rates(self) -> Rates:
        return Rates(
            input_nusd=price_to_nano_per_token(self.input_per_mtok),
            output_nusd=price_to_nano_per_token(self.output_per_mtok),
            cached_input_nusd=price_to_nano_per_token(self.cached_input_per_mtok),
        )


class LongContextPrices(_PriceBlock):
    """Prices that apply to a whole call whose input exceeds `above_input_tokens`."""

    above_input_tokens: PositiveInt


class ModelSpec(_PriceBlock):
    """One row of the model table."""

    name: str
    provider: LLMProvider
    enabled: bool = False
    context_window: PositiveInt
    max_output_tokens: PositiveInt
    output_cap_tokens: PositiveInt | None = None
    thinking_budget_tokens: NonNegativeInt | None = None
    long_context: LongContextPrices | None = None

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        if self.provider is LLMProvider.NONE:
            raise ValueError("provider must be gemini or ollama")
        if self.output_cap_tokens is not None and self.output_cap_tokens > self.max_output_tokens:
            raise ValueError("output_cap_tokens cannot exceed max_output_tokens")
        if self.provider is LLMProvider.GEMINI and self.thinking_budget_tokens is None:
            raise ValueError(
                "thinking_budget_tokens is required for Gemini models: without it Gemini "
                "thinks as much as it likes, beyond what the budget guard reserves"
            )
        if self.provider is LLMProvider.OLLAMA and self.thinking_budget_tokens is not None:
            raise ValueError(
                "thinking_budget_tokens does not apply to Ollama models: their thinking "
                "counts within output_cap_tokens (num_predict)"
            )
        return self

    @property
    def output_cap(self) -> int:
        """The output tokens the app requests per call (and reserves for)."""
        return self.output_cap_tokens or self.max_output_tokens

    @property
    def thinking_budget(self) -> int:
        """The thinking tokens the app allows per call, on top of `output_cap`."""
        return self.thinking_budget_tokens or 0

    @property
    def reserved_output_tokens(self) -> int:
        """The most output a call may write, thinking included: what the guard reserves."""
        return self.output_cap + self.thinking_budget

    @property
    def is_free(self) -> bool:
        """True when every price, including any long-context tier, is zero."""
        blocks: list[_PriceBlock] = [self, *([self.long_context] if self.long_context else [])]
        return all(
            not (b.input_per_mtok or b.output_per_mtok or b.cached_input_per_mtok) for b in blocks
        )

    def rates_for(self, input_tokens: int) -> Rates:
        """The per-token rates for a call with `input_tokens` of input (cached included)."""
        if self.long_context is not None and input_tokens > self.long_context.above_input_tokens:
            return self.long_context.rates()
        return self.rates()


class ModelCatalog:
    """Every model in the table, looked up by name."""

    def __init__(self, models: dict[str, ModelSpec], defaults: dict[LLMProvider, str]) -> None:
        self._models = models
        self._defaults = defaults

    def get(self, name: str) -> ModelSpec:
        """Return the model called `name`.

        Raises:
            ConfigurationError: No model of that name is in the table.
        """
        try:
            return self._models[name]
        except KeyError:
            known = ", ".join(sorted(self._models))
            raise ConfigurationError(
                f"Unknown model {name!r}: config/models.toml lists {known}."
            ) from None

    def all(self) -> list[ModelSpec]:
        return list(self._models.values())

    def enabled(self, provider: LLMProvider) -> list[ModelSpec]:
        """The enabled models of `provider`, in table order."""
        return [m for m in self._models.values() if m.enabled and m.provider is provider]

    def default_name(self, provider: LLMProvider) -> str | None:
        return self._defaults.get(provider)

    def free_of_charge(self, provider: LLMProvider) -> ModelCatalog:
        """This table with every model of `provider` priced at zero."""
        prices = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")
        zero: dict[str, object] = dict.fromkeys(prices, Decimal(0))
        models = {
            name: spec.model_copy(update={**zero, "long_context": None})
            if spec.provider is provider
            else spec
            for name, spec in self._models.items()
        }
        return ModelCatalog(models, dict(self._defaults))


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[LLMProvider, str] = {}
    models: dict[str, dict[str, object]]


def parse_model_catalog(text: str, *, source: str = "config/models.toml") -> ModelCatalog:
    """Parse and validate a model table.

    Raises:
        ConfigurationError: The table is not valid TOML or a row is wrong.
    """
    try:
        raw = _TableFile.model_validate(tomllib.loads(text, parse_float=Decimal))
        models = {
            name: ModelSpec.model_validate({**row, "name": name})
            for name, row in raw.models.items()
        }
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"{source} is not a valid model table: {exc}") from exc
    for provider, name in raw.defaults.items():
        if name not in models or models[name].provider is not provider:
            raise ConfigurationError(
                f"{source}: the default {provider.value} model {name!r} is not in the table"
            )
    return ModelCatalog(models, dict(raw.defaults))


def load_model_catalog(path: Path, *, gemini_free_tier: bool = False) -> ModelCatalog:
    """Read the model table at `path` (settings.model_table_path).

    With `gemini_free_tier` (`GEMINI_PRICING_TIER=free`) every Gemini model is priced at
    zero: the ledger records what a free-tier key is billed, nothing; token budgets and
    rate limits still count its tokens.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"The model table {path} cannot be read.") from exc
    catalog = parse_model_catalog(text, source=str(path))
    return catalog.free_of_charge(LLMProvider.GEMINI) if gemini_free_tier else catalog
