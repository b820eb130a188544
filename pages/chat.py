"""Chat: ask about a base, watch the tools work, confirm or undo proposed changes."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from agents.assistant import TurnEvent
from agents.prompt_runs import NEW_CHAT
from services.airtable.change_sets import UndoConflictError
from services.budget.pricing import format_usd
from services.budget.usage import budget_left
from services.budget.windows import Window
from services.conversations import Conversation
from services.errors import AppError
from services.llm.factory import CONNECT_MODEL_HELP
from services.orm import User
from ui.alerts import show_current_user_alerts
from ui.bulk_cards import BULK_CARD_KINDS, render_bulk_card
from ui.chat_extras import (
    ask_box,
    download_conversation,
    example_questions,
    remember_base,
    remembered_base,
)
from ui.chat_view import render_context_gauge, render_history, tool_label, undo_conflict_key
from ui.context import get_chat_turns, get_services
from ui.signed_in import require_user
from ui.workflow_cards import render_workflow_card

services = get_services()
user = require_user()
settings = services.settings

if not settings.llm_configured:
    st.title("Connect a language model")
    st.write(
        "Everything else works without one, but chatting needs a model. "
        "Nothing is sent to any hosted service until you configure it."
    )
    st.markdown(CONNECT_MODEL_HELP)
    st.stop()

conversations = services.conversations


def _select(conversation_id: str | None) -> None:
    """Remember the open conversation in the URL, so a reload or a link reopens it."""
    if conversation_id:
        st.query_params["c"] = conversation_id
    else:
        st.query_params.pop("c", None)


def _current(owner: User) -> Conversation | None:
    conversation_id = st.query_params.get("c")
    if not conversation_id:
        return None
    try:
        return conversations.get(user_id=owner.id, conversation_id=conversation_id)
    except AppError:
        _select(None)
        return None


with st.sidebar:
    if st.button("New conversation", icon=":material/add:", use_container_width=True):
        _select(None)
    query = st.text_input(
        "Search conversations", placeholder="Search…", label_visibility="collapsed"
    )
    for item in conversations.find(user_id=user.id, query=query, limit=50):
        selected = item.id == st.query_params.get("c")
        st.button(
            item.title,
            key=f"conv-{item.id}",
            use_container_width=True,
            type="primary" if selected else "secondary",
            on_click=_select,
            args=(item.id,),
        )

conversation = _current(user)

try:
    bases = services.airtable.bases(user.id)
except AppError as exc:
    st.error(str(exc))
    st.stop()
models = [m.name for m in services.chat_models.available_models()]
default_model = services.chat_models.default_model().name
base_names = {b.id: b.name for b in bases}

top = st.columns([3, 2])
base_ids = list(base_names)
current_base = conversation.base_id if conversation else remembered_base(user.id)
base_id = top[0].selectbox(
    "Base",
    base_ids,
    format_func=lambda b: base_names.get(b, b),
    index=base_ids.index(current_base) if current_base in base_ids else 0 if base_ids else None,
)
current_model = (conversation.model if conversation else None) or default_model
model = top[1].selectbox(
    "Model", models, index=models.index(current_model) if current_model in models else 0
)
remember_base(user.id, base_id)
if conversation and (conversation.base_id, conversation.model) != (base_id, model):
    conversations.set_scope(
        user_id=user.id, conversation_id=conversation.id, base_id=base_id, model=model
    )


def _progress_bar(verb: str) -> Callable[[int, int], None]:
    bar = st.progress(0.0, text=f"{verb}…")

    def report(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{verb}: {done} of {total} records")

    return report


def _act(action: str, change_id: str) -> None:
    changes = services.airtable_changes
    try:
        if action == "apply":
            result = changes.apply(change_id, user.id, progress=_progress_bar("Applying"))
            st.toast(
                "This change was already applied."
                if result.already_done
                else f"Applied {result.done} changes."
            )
        elif action == "cancel":
            changes.cancel(change_id, user.id)
            st.toast("Cancelled; nothing was changed.")
        elif action in ("undo", "force_undo"):
            force = action == "force_undo"
            changes.undo(change_id, user.id, progress=_progress_bar("Undoing"), force=force)
            st.session_state.pop(undo_conflict_key(change_id), None)
            st.toast("Undone.")
    except UndoConflictError as exc:
        # The card lists what was edited and offers "Undo anyway".
        st.session_state[undo_conflict_key(change_id)] = str(exc)
        return
    except AppError as exc:
        st.error(str(exc))
        return
    st.rerun()


if conversation is not None:
    st.title(conversation.title)
    title_cols = st.columns([5, 2, 2], vertical_alignment="center")
    with title_cols[1].popover("Rename", icon=":material/edit:"):
        new_title = st.text_input("Title", value=conversation.title, key="rename-title")
        if st.button("Save", key="rename-save"):
            try:
                conversations.rename(
                    user_id=user.id, conversation_id=conversation.id, title=new_title
                )
                st.rerun()
            except AppError as exc:
                st.error(str(exc))
    with title_cols[2].popover("Delete", icon=":material/delete:"):
        st.write("The conversation and its messages are removed; this cannot be undone.")
        if st.button(
            "Delete this conversation permanently", key="delete-conversation", type="primary"
        ):
            try:
                conversations.delete(user_id=user.id, conversation_id=conversation.id)
            except AppError as exc:
                st.error(str(exc))
            else:
                _select(None)
                st.rerun()
    history = conversations.messages(user_id=user.id, conversation_id=conversation.id)
    render_history(
        services,
        history,
        proposal_state=lambda pid: services.airtable_changes.state(pid, user.id),
        act=_act,
        workflow_card=lambda artifact, key: (
            render_bulk_card(services, user, artifact, key)
            if artifact.get("kind") in BULK_CARD_KINDS
            else render_workflow_card(services, user, artifact, key)
        ),
    )
    download_conversation(conversation.title, history)
    render_context_gauge(get_chat_turns().context(conversation.id))
else:
    st.title("Ask about your bases")
    st.caption("Counts and sums cover whole tables; every change waits for your confirmation.")
    example_questions()


def _budget_line() -> str:
    try:
        tightest = budget_left(services.budget_guard, user.id)
    except AppError:
        return ""
    if tightest is None or tightest.left is None:
        return ""
    when = "today" if tightest.window is Window.DAY else "this month"
    return f"Budget left {when}: {format_usd(tightest.left)} of {format_usd(tightest.limit)}"


budget = _budget_line()
if budget:
    st.caption(budget)
show_current_user_alerts(user.id)

prompt = ask_box("Ask about your base…")
if prompt and prompt.startswith("/"):
    # "/name" opens that saved prompt's run form instead of asking the model.
    saved = services.prompts.find_by_name(user_id=user.id, name=prompt[1:])
    if saved is None:
        st.error(f'No saved prompt is called "{prompt[1:].strip()}"; see the Prompts page.')
        st.stop()
    # The run is added to this conversation (or a new one, made when it runs).
    chat = conversation.id if conversation else NEW_CHAT
    st.switch_page("pages/prompts.py", query_params={"p": saved.id, "c": chat})
if prompt:
    if conversation is None:
        try:
            conversation = get_chat_turns().open(user.id, base_id=base_id, model=model)
        except AppError as exc:
            st.error(str(exc))
            st.stop()
        _select(conversation.id)
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        answer = st.empty()
        streamed: list[str] = []

        def on_event(event: TurnEvent) -> None:
            if event.kind == "token":
                streamed.append(event.text)
                answer.markdown("".join(streamed) + "▌")
            elif event.kind == "tool_call":
                st.status(f"{tool_label(event.name, event.args, running=True)}…", state="running")
            elif event.kind == "tool_result":
                streamed.clear()

        try:
            get_chat_turns().run(user.id, conversation, prompt, on_event)
        except AppError as exc:
            answer.empty()
            st.error(str(exc))
            st.stop()
    st.rerun()
