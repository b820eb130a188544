"""Approximate token counts of messages, each message object counted once.

`count_tokens_approximately` rounds each message's count up on its own, so a list's count
is the sum of its messages' counts. A turn counts the same messages several times: the
conversation window once, then every model call's estimate again (the window, the system
prompt, what the turn added so far); the conversation store hands the same decoded
message objects to every turn of a conversation. So each message's count is kept with the
message object, and reused while the message still holds the same content, tool calls and
name (a message changed in place is counted again). An entry lives as long as its message
(a weak reference, as `tool_schemas` keeps tool schemas): the counts never keep a finished
conversation's messages in memory.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

_kept: dict[int, tuple[weakref.ref[BaseMessage], Any, Any, Any, int]] = {}
_lock = threading.Lock()


def message_tokens(messages: Sequence[BaseMessage]) -> int:
    """`count_tokens_approximately(messages)` (its defaults), counting each message once."""
    total = 0
    for message in messages:
        calls = message.tool_calls if isinstance(message, AIMessage) else None
        kept = _kept.get(id(message))
        if (
            kept is not None
            and kept[0]() is message
            and kept[1] is message.content
            and kept[2] is calls
            and kept[3] is message.name
        ):
            total += kept[4]
            continue
        count = count_tokens_approximately([message])
        key = id(message)
        with _lock:
            _kept[key] = (
                weakref.ref(message, _forget(key)),
                message.content,
                calls,
                message.name,
                count,
            )
        total += count
    return total


def _forget(key: int) -> Callable[[weakref.ref[BaseMessage]], None]:
    def forget(ref: weakref.ref[BaseMessage]) -> None:
        with _lock:
            entry = _kept.get(key)
            if entry is not None and entry[0] is ref:
                del _kept[key]

    return forget
