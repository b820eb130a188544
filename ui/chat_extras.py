"""Chat page additions: the question box, example questions, the remembered base, record
links and downloads (a conversation as Markdown, any answer table as CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st
from langchain_core.messages import BaseMessage

from services.airtable.links import airtable_web_url, record_url
from services.chat_export import answer_table, conversation_markdown, download_name, table_csv
from services.questions import question_problem
from ui.context import get_services

QUESTION_KEY = "chat-question"
EXAMPLE_KEY = "chat-example"
REFUSED_KEY = "chat-refused"
LINK_COLUMN = "Airtable"
#: Offered on an empty chat, one per demo base; each is also a question in
#: bench/questions.yaml, and a test checks it has a real answer in the demo data.
EXAMPLE_QUESTIONS = (
    "How many open tasks are overdue, by assignee?",
    "What is each salesperson's win rate on closed deals?",
    "Which products need reordering, and from which supplier?",
    "How many hours are estimated for each active project?",
)


def _screen_question() -> None:
    """Runs on send, before the page: a question that cannot be asked is neither shown nor
    sent; it goes back into the box with the reason, so nothing typed is lost."""
    text = st.session_state.get(QUESTION_KEY)
    problem = question_problem(text) if isinstance(text, str) else None
    if problem and isinstance(text, str):
        st.session_state[REFUSED_KEY] = problem
        st.session_state[QUESTION_KEY] = text


def ask_box(hint: str) -> str | None:
    """The chat input; returns a question to ask (typed, or an example that was clicked)."""
    refused = st.session_state.pop(REFUSED_KEY, None)
    if refused:
        st.error(refused, icon=":material/edit_note:")
    typed = st.chat_input(hint, key=QUESTION_KEY, on_submit=_screen_question)
    example = st.session_state.pop(EXAMPLE_KEY, None)
    return typed or (example if isinstance(example, str) else None)


def _pick_example(question: str) -> None:
    st.session_state[EXAMPLE_KEY] = question


def example_questions(questions: Sequence[str] = EXAMPLE_QUESTIONS) -> None:
    """Example questions as buttons: a click asks that question."""
    st.write("For example:")
    for number, question in enumerate(questions):
        st.button(
            question,
            key=f"example-question-{number}",
            type="tertiary",
            icon=":material/chat_bubble:",
            on_click=_pick_example,
            args=(question,),
        )


def remembered_base(user_id: int) -> str | None:
    """The base this person last picked, in any browser and any earlier sign-in."""
    return get_services().preferences.last_base(user_id)


def remember_base(user_id: int, base_id: str | None) -> None:
    """Store the picked base for next time (written only when it changes in this session)."""
    seen = f"last-base-{user_id}"
    if base_id and st.session_state.get(seen) != base_id:
        get_services().preferences.remember_base(user_id, base_id)
        st.session_state[seen] = base_id


def records_dataframe(frame: pd.DataFrame, artifact: dict[str, Any], key: str) -> None:
    """Records as a table; with real Airtable, each row links to its record there."""
    config: dict[str, Any] = {"id": None}  # record IDs mean nothing to a reader
    web_url = airtable_web_url(get_services().settings)
    base_id, table_id = artifact.get("base_id"), artifact.get("table_id")
    if web_url and base_id and table_id and "id" in frame:
        frame[LINK_COLUMN] = [record_url(web_url, base_id, table_id, str(i)) for i in frame["id"]]
        config[LINK_COLUMN] = st.column_config.LinkColumn(
            LINK_COLUMN, display_text="Open", help="Open the record in Airtable"
        )
    st.dataframe(frame, hide_index=True, column_config=config, key=f"df-{key}")


def download_table(artifact: dict[str, Any], key: str) -> None:
    """A CSV download of the table a tool result shows."""
    table = answer_table(artifact)
    if table is None:
        return
    st.download_button(
        "Download CSV",
        data=table_csv(table.columns, table.rows),
        file_name=download_name(str(artifact.get("table") or "table"), "csv"),
        mime="text/csv",
        key=f"csv-{key}",
        on_click="ignore",
        icon=":material/download:",
        help=table.caption,
    )


def download_conversation(title: str, messages: Sequence[BaseMessage]) -> None:
    """The whole conversation as a Markdown file."""
    st.download_button(
        "Download conversation (Markdown)",
        data=conversation_markdown(title, messages),
        file_name=download_name(title, "md"),
        mime="text/markdown",
        key="conversation-markdown",
        on_click="ignore",
        icon=":material/download:",
    )
