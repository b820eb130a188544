"""The services for Streamlit script runs, built once per process."""

from __future__ import annotations

import streamlit as st

from agents.assistant import Assistant
from agents.chat_turns import ChatTurns
from agents.prompt_runs import PromptRunner
from config.logging import setup_logging
from config.settings import Settings, load_settings
from services.container import Services, build_services


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    settings = load_settings()
    setup_logging(
        settings.log_level, settings.secret_values(), json_lines=settings.log_format == "json"
    )
    return settings


@st.cache_resource(show_spinner=False)
def get_services() -> Services:
    """Engine and Redis pool are thread-safe, so one instance serves every session."""
    return build_services(get_settings())


@st.cache_resource(show_spinner=False)
def get_assistant() -> Assistant:
    """Stateless across users (identity travels in each turn's context): one per process."""
    return Assistant(get_services())


@st.cache_resource(show_spinner=False)
def get_prompt_runner() -> PromptRunner:
    """Runs saved prompts over the process's services and assistant: one per process."""
    services = get_services()
    return PromptRunner(services, services.prompts, services.prompt_runs, assistant=get_assistant())


@st.cache_resource(show_spinner=False)
def get_chat_turns() -> ChatTurns:
    """The chat page's and `POST /api/chat`'s turns, over the process's assistant."""
    return ChatTurns(get_services(), get_assistant())
