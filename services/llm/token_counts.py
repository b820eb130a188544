"""Approximate token counts of messages, each message object counted once.

`count_tokens_approximately` rounds each message's count up on its own, so a list's count
is the sum of its messages' counts. A turn counts the same messages several times: the
conversation window once, then every model call's estimate again (the window, the system
prompt, what the turn added so far); the conversation store hands the same decoded
message objects to every turn of a conversation. So each message's count is kept with the
message object, and reused while the message still holds the same content, tool calls and
name (a message changed in place is counted again). An entry lives as long as its message
(`IdentityCache`, as `tool_schemas` keeps tool schemas): the counts never keep a finished
conversation's messages in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from services.llm.identity_cache import IdentityCache

# Per message: its content, tool calls and name when counted, and the count.
_kept: IdentityCache[BaseMessage, tuple[Any, Any, Any, int]] = IdentityCache()


def message_tokens(messages: Sequence[BaseMessage]) -> int:
    """`count_tokens_approximately(messages)` (its defaults), counting each message once."""
    total = 0
    for message in messages:
        calls = message.tool_calls if isinstance(message, AIMessage) else None
        kept = _kept.get(message)
        if (
            kept is not None
            and kept[0] is message.content
            and kept[1] is calls
            and kept[2] is message.name
        ):
            total += kept[3]
            continue
        count = count_tokens_approximately([message])
        _kept.put(message, (message.content, calls, message.name, count))
        total += count
    return total
