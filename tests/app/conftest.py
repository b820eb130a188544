"""AppTest runs the real scripts in-process; point their settings at this session's stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st

from config.settings import Settings


@pytest.fixture
def app_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", settings.sql_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    monkeypatch.setenv("REDIS_KEY_PREFIX", settings.redis_key_prefix)
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("LLM_PROVIDER", "none")
    st.cache_resource.clear()
    yield settings
    st.cache_resource.clear()
