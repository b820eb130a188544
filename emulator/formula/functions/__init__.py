"""Every formula function the engine knows, by upper-case name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import arrays, dates, logic, numeric, records, text
from .spec import CallStyle, FunctionSpec

FUNCTIONS: Mapping[str, FunctionSpec] = MappingProxyType(
    {
        **logic.FUNCTIONS,
        **text.FUNCTIONS,
        **numeric.FUNCTIONS,
        **dates.FUNCTIONS,
        **records.FUNCTIONS,
        **arrays.FUNCTIONS,
    }
)

__all__ = ["FUNCTIONS", "CallStyle", "FunctionSpec"]
