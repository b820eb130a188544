from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from services.container import Services
from services.conversations import ConversationStore, error_entry, is_error_entry
from services.errors import InvalidInputError, NotFoundError


@pytest.fixture
def store(services: Services) -> ConversationStore:
    return ConversationStore(
        services.redis, prefix=services.settings.redis_key_prefix, ttl_seconds=3600
    )


def _turn(n: int, words: int = 5) -> list[BaseMessage]:
    text = " ".join(["word"] * words)
    return [
        HumanMessage(f"question {n} {text}"),
        AIMessage("", tool_calls=[{"name": "count", "args": {"n": n}, "id": f"c{n}"}]),
        ToolMessage(f"result {n}", tool_call_id=f"c{n}"),
        AIMessage(f"answer {n} {text}"),
    ]


def test_messages__round_trip_with_tool_calls(store: ConversationStore) -> None:
    conversation = store.create(user_id=1, base_id="appX")
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1))
    messages = store.messages(user_id=1, conversation_id=conversation.id)
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert isinstance(messages[1], AIMessage)
    assert messages[1].tool_calls[0]["args"] == {"n": 1}


def test_conversations__belong_to_their_user(store: ConversationStore) -> None:
    conversation = store.create(user_id=1)
    with pytest.raises(NotFoundError):
        store.messages(user_id=2, conversation_id=conversation.id)
    with pytest.raises(NotFoundError):
        store.delete(user_id=2, conversation_id=conversation.id)
    assert store.find(user_id=2) == []


def test_find__newest_first_and_searches_titles_and_text(store: ConversationStore) -> None:
    first = store.create(user_id=1)
    second = store.create(user_id=1)
    store.rename(user_id=1, conversation_id=first.id, title="Pipeline  by owner ")
    store.append(user_id=1, conversation_id=second.id, messages=[HumanMessage("overdue tasks")])
    assert [c.id for c in store.find(user_id=1)] == [second.id, first.id]
    assert [c.title for c in store.find(user_id=1, query="pipeline")] == ["Pipeline by owner"]
    assert [c.id for c in store.find(user_id=1, query="OVERDUE")] == [second.id]


def test_rename_and_delete(store: ConversationStore) -> None:
    conversation = store.create(user_id=1)
    with pytest.raises(InvalidInputError):
        store.rename(user_id=1, conversation_id=conversation.id, title="   ")
    store.delete(user_id=1, conversation_id=conversation.id)
    assert store.find(user_id=1) == []
    with pytest.raises(NotFoundError):
        store.get(user_id=1, conversation_id=conversation.id)


def test_window__keeps_recent_turns_whole_and_summarises_older_once(
    store: ConversationStore,
) -> None:
    conversation = store.create(user_id=1)
    for n in range(6):
        store.append(user_id=1, conversation_id=conversation.id, messages=_turn(n, words=40))
    calls: list[int] = []

    def summarize(previous: str, dropped: Sequence[BaseMessage]) -> str:
        calls.append(len(dropped))
        return f"{previous}+{len(dropped)}"

    window = store.window(
        user_id=1, conversation_id=conversation.id, max_tokens=250, summarize=summarize
    )
    assert window.total_messages == 24
    assert isinstance(window.messages[0], HumanMessage)
    assert 0 < len(window.messages) < 24
    assert len(window.messages) % 4 == 0  # whole turns only
    assert window.summary == f"+{24 - len(window.messages)}"
    again = store.window(
        user_id=1, conversation_id=conversation.id, max_tokens=250, summarize=summarize
    )
    assert again.summary == window.summary
    assert calls == [24 - len(window.messages)]


def test_window__a_single_long_turn_is_kept(store: ConversationStore) -> None:
    conversation = store.create(user_id=1)
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1, words=2000))
    window = store.window(user_id=1, conversation_id=conversation.id, max_tokens=50)
    assert len(window.messages) == 4


def test_conversations__survive_a_new_client(services: Services, store: ConversationStore) -> None:
    conversation = store.create(user_id=5)
    store.append(user_id=5, conversation_id=conversation.id, messages=_turn(1))
    fresh = ConversationStore(
        services.redis.__class__(connection_pool=services.redis.connection_pool),
        prefix=services.settings.redis_key_prefix,
        ttl_seconds=3600,
    )
    assert len(fresh.messages(user_id=5, conversation_id=conversation.id)) == 4


def test_error_entry__is_kept_in_history_but_never_sent_to_the_model(
    store: ConversationStore,
) -> None:
    conversation = store.create(user_id=1)
    failed = [HumanMessage("How many deals?"), error_entry("Quota reached.", kind="quota")]
    store.append(user_id=1, conversation_id=conversation.id, messages=[*failed, *_turn(2)])
    history = store.messages(user_id=1, conversation_id=conversation.id)
    assert is_error_entry(history[1])
    assert (history[1].text, history[1].additional_kwargs) == ("Quota reached.", {"kind": "quota"})
    window = store.window(user_id=1, conversation_id=conversation.id, max_tokens=10_000)
    assert [m.text for m in window.messages][:2] == [
        "How many deals?",
        "question 2 word word word word word",
    ]
    assert not any(is_error_entry(m) for m in window.messages)


def test_title_if_untitled__titles_once_from_the_question(store: ConversationStore) -> None:
    conversation = store.create(user_id=1)
    question = "  How many   deals closed last month, by owner, in the Sales CRM base, please? "
    assert store.title_if_untitled(user_id=1, conversation_id=conversation.id, text=question)
    title = store.get(user_id=1, conversation_id=conversation.id).title
    assert title == "How many deals closed last month, by owner, in the Sales CRM"
    assert not store.title_if_untitled(user_id=1, conversation_id=conversation.id, text="Other")


def _other_process(services: Services) -> ConversationStore:
    """A second store on the same Redis, as another web process has."""
    return ConversationStore(
        services.redis.__class__(connection_pool=services.redis.connection_pool),
        prefix=services.settings.redis_key_prefix,
        ttl_seconds=3600,
    )


def test_window__sees_turns_another_process_added_after_it_decoded_the_rest(
    services: Services, store: ConversationStore
) -> None:
    other = _other_process(services)
    conversation = store.create(user_id=1)
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1))
    first = store.window(user_id=1, conversation_id=conversation.id, max_tokens=10_000)
    other.append(user_id=1, conversation_id=conversation.id, messages=_turn(2))
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(3))

    window = store.window(
        user_id=1, conversation_id=conversation.id, max_tokens=10_000, conversation=conversation
    )

    assert [m.text for m in first.messages] == [m.text for m in _turn(1)]
    assert [m.text for m in window.messages] == [m.text for m in _turn(1) + _turn(2) + _turn(3)]
    assert window.total_messages == 12
    assert other.messages(user_id=1, conversation_id=conversation.id)[4:] == window.messages[4:]


def test_window__reads_afresh_a_list_that_was_made_again_shorter(
    services: Services, store: ConversationStore
) -> None:
    conversation = store.create(user_id=1)
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1) + _turn(2))
    assert len(store.messages(user_id=1, conversation_id=conversation.id)) == 8
    # The list expired (its TTL) while the meta lived on, then a new turn was added.
    services.redis.delete(f"{services.settings.redis_key_prefix}conv:{conversation.id}:messages")
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(3))

    window = store.window(user_id=1, conversation_id=conversation.id, max_tokens=10_000)

    assert [m.text for m in window.messages] == [m.text for m in _turn(3)]


def test_window__a_conversation_of_another_user_is_not_found_even_when_passed_in(
    store: ConversationStore,
) -> None:
    conversation = store.create(user_id=1)
    with pytest.raises(NotFoundError):
        store.window(user_id=2, conversation_id=conversation.id, max_tokens=100)
    with pytest.raises(NotFoundError):
        store.window(
            user_id=2, conversation_id=conversation.id, max_tokens=100, conversation=conversation
        )


def test_open__reads_the_conversation_and_the_new_messages_in_one_round_trip(
    services: Services, store: ConversationStore
) -> None:
    other = _other_process(services)
    conversation = store.create(user_id=1)
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1))
    _, first = store.open(user_id=1, conversation_id=conversation.id)
    other.append(user_id=1, conversation_id=conversation.id, messages=_turn(2))
    sent: list[object] = []
    pool = services.redis.connection_pool
    connection = pool.get_connection()
    send = type(connection).send_packed_command
    pool.release(connection)

    def counted(self: object, command: object, check_health: bool = True) -> None:
        sent.append(command)
        send(self, command, check_health)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(connection), "send_packed_command", counted)
        opened, recent = store.open(user_id=1, conversation_id=conversation.id)

    assert len(sent) == 1
    assert opened == store.get(user_id=1, conversation_id=conversation.id)
    assert [m.text for m in first] == [m.text for m in _turn(1)]
    assert [m.text for m in recent] == [m.text for m in _turn(1) + _turn(2)]
    with pytest.raises(NotFoundError):
        store.open(user_id=2, conversation_id=conversation.id)


def test_open__reads_afresh_a_list_that_was_made_again_shorter(
    services: Services, store: ConversationStore
) -> None:
    conversation = store.create(user_id=1)
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(1) + _turn(2))
    assert len(store.open(user_id=1, conversation_id=conversation.id)[1]) == 8
    services.redis.delete(f"{services.settings.redis_key_prefix}conv:{conversation.id}:messages")
    store.append(user_id=1, conversation_id=conversation.id, messages=_turn(3))

    _, recent = store.open(user_id=1, conversation_id=conversation.id)

    assert [m.text for m in recent] == [m.text for m in _turn(3)]


def test_append__refuses_another_users_or_a_deleted_conversation_and_writes_nothing(
    services: Services, store: ConversationStore
) -> None:
    conversation = store.create(user_id=1)
    with pytest.raises(NotFoundError):
        store.append(user_id=2, conversation_id=conversation.id, messages=_turn(1))
    assert store.messages(user_id=1, conversation_id=conversation.id) == []

    store.delete(user_id=1, conversation_id=conversation.id)
    with pytest.raises(NotFoundError):
        store.append(user_id=1, conversation_id=conversation.id, messages=_turn(2))
    prefix = f"{services.settings.redis_key_prefix}conv:{conversation.id}:"
    assert list(services.redis.scan_iter(match=f"{prefix}*", count=1000)) == []
