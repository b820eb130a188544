"""google-genai's models answer `in` as before, without walking every field."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from services.llm.providers import _gemini_class


def test_sdk_models__answer_in_as_iterating_would_without_iterating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _gemini_class()  # installs the answer on first use
    part: Any = types.Part(text="hi")
    # What iterating gave: (name, value) pairs; a string is never one of them.
    assert "text" not in part
    assert ("text", "hi") in part
    assert ("text", "other") not in part

    def walked(_self: object) -> None:
        raise AssertionError("a string key walked the model")

    monkeypatch.setattr(types.Part, "__iter__", walked)
    assert "text" not in part
