"""Conversation context in Redis: a per-user index, message lists, titles and a token window.

Keys (all under the install's prefix, all with a sliding TTL):
    conv:index:{user}        sorted set: conversation id -> last update (epoch seconds)
    conv:{id}:meta           hash: user_id, title, base_id, model, created_at, summary, ...
    conv:{id}:messages       list of LangChain message dicts (`messages_to_dict`)

Redis persistence (AOF on the embedded server) makes conversations survive restarts, and
every replica sees the same ones.

A turn that failed keeps its question and an error entry (`error_entry`): shown in the
history as an error, never sent to the model as something the assistant said.

Message lists only ever grow (`append` pushes; nothing rewrites or trims an entry, and a
conversation id is never reused), so each process keeps the messages it has already
decoded (`_Decoded`, the most recent conversations): a turn reads and decodes only what was
added since, by this process or any other.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from langchain_core.messages import (
    BaseMessage,
    ChatMessage,
    HumanMessage,
    messages_from_dict,
    messages_to_dict,
)

from services.errors import InvalidInputError, NotFoundError
from services.llm.token_counts import message_tokens

MAX_TITLE = 80
DEFAULT_TITLE = "New conversation"
QUESTION_TITLE_CHARS = 60
ERROR_ROLE = "error"


def error_entry(message: str, *, kind: str = "error") -> ChatMessage:
    """The history entry of a failed turn: what the person was told, and the error's kind."""
    return ChatMessage(role=ERROR_ROLE, content=message, additional_kwargs={"kind": kind})


def is_error_entry(message: BaseMessage) -> bool:
    return isinstance(message, ChatMessage) and message.role == ERROR_ROLE


def title_from_question(text: str) -> str:
    """A title made of the question itself (no model call): its first words."""
    return " ".join(text.split())[:QUESTION_TITLE_CHARS]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Conversation:
    id: str
    user_id: int
    title: str
    base_id: str | None
    model: str | None
    created_at: float
    updated_at: float
    summary: str
    summarized_count: int


@dataclass(frozen=True)
class ContextWindow:
    """What the model sees: a summary of older turns, then the recent messages verbatim."""

    summary: str
    messages: list[BaseMessage]
    total_messages: int


Summarizer = Callable[[str, Sequence[BaseMessage]], str]

_APPEND = """
-- KEYS: meta, messages, index. ARGV: user id, now, ttl, conversation id, messages...
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], unpack(ARGV, 5))
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return 1
"""

DECODED_CONVERSATIONS = 64
"""How many conversations' decoded messages a process keeps (least recently used go).

Only a conversation being talked in gains from it (its next turn decodes only the new
messages), and a busy replica has few at once: 50 people pausing ~7 s between turns keep
about 45 going (`bench/load.py`). At 256 the cache held up to ~40 MB and took 2,000 soak
turns to fill, which looked like a leak (+6.4% over the last 1,000 turns; +0.7% at 32)."""


@dataclass
class _Decoded:
    """Entries `start` .. `start + len(messages)` of a conversation's list, decoded."""

    start: int
    messages: list[BaseMessage] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + len(self.messages)


class ConversationStore:
    def __init__(self, client: redis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}conv:"
        self._ttl = ttl_seconds
        self._decoded: OrderedDict[str, _Decoded] = OrderedDict()
        self._decoded_lock = threading.Lock()
        self._append_script = client.register_script(_APPEND)

    def _index(self, user_id: int) -> str:
        return f"{self._prefix}index:{user_id}"

    def _meta(self, conversation_id: str) -> str:
        return f"{self._prefix}{conversation_id}:meta"

    def _messages(self, conversation_id: str) -> str:
        return f"{self._prefix}{conversation_id}:messages"

    def create(
        self, *, user_id: int, base_id: str | None = None, model: str | None = None
    ) -> Conversation:
        conversation_id = secrets.token_hex(8)
        now = time.time()
        meta: dict[str, str | int | float] = {
            "user_id": user_id,
            "title": DEFAULT_TITLE,
            "base_id": base_id or "",
            "model": model or "",
            "created_at": now,
            "updated_at": now,
            "summary": "",
            "summarized_count": 0,
        }
        pipe = self._redis.pipeline()
        pipe.hset(self._meta(conversation_id), mapping=meta)  # type: ignore[arg-type]
        pipe.expire(self._meta(conversation_id), self._ttl)
        pipe.zadd(self._index(user_id), {conversation_id: now})
        pipe.expire(self._index(user_id), self._ttl)
        pipe.execute()
        return self.get(user_id=user_id, conversation_id=conversation_id)

    def get(self, *, user_id: int, conversation_id: str) -> Conversation:
        """The conversation, only if it belongs to `user_id` (else `NotFoundError`)."""
        return _conversation(
            user_id, conversation_id, self._redis.hgetall(self._meta(conversation_id))
        )

    def open(self, *, user_id: int, conversation_id: str) -> tuple[Conversation, list[BaseMessage]]:
        """The conversation (only if it belongs to `user_id`, else `NotFoundError`) and its
        messages after those folded into its summary, for `window`: one round trip for
        both (the meta hash, and the entries this process has not decoded yet)."""
        key = self._messages(conversation_id)
        with self._decoded_lock:
            known = self._decoded.get(conversation_id)
        read_from = known.end if known is not None else 0
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._meta(conversation_id))
        pipe.llen(key)
        pipe.lrange(key, read_from, -1)
        meta, length, raw = pipe.execute()
        conversation = _conversation(user_id, conversation_id, meta)
        start = conversation.summarized_count
        if known is None:  # nothing decoded yet: decode from `start` only
            found = _Decoded(start, _decoded(raw[start:]))
        elif int(length) < known.end or start < known.start:
            # The list was made again (it expired): read it afresh, a second round trip.
            found = _Decoded(start, _decoded(self._redis.lrange(key, start, -1)))
        elif start > known.end:  # another process folded more into the summary
            found = _Decoded(start, _decoded(raw[start - read_from :]))
        else:
            found = _Decoded(start, [*known.messages[start - known.start :], *_decoded(raw)])
        self._keep(conversation_id, found)
        return conversation, list(found.messages)

    def find(self, *, user_id: int, query: str = "", limit: int = 100) -> list[Conversation]:
        """Most recent first; `query` matches titles and message text, case-insensitively."""
        ids = [_text(i) for i in self._redis.zrevrange(self._index(user_id), 0, -1)]
        found: list[Conversation] = []
        needle = query.strip().lower()
        for conversation_id in ids:
            try:
                conversation = self.get(user_id=user_id, conversation_id=conversation_id)
            except NotFoundError:
                self._redis.zrem(self._index(user_id), conversation_id)  # expired meanwhile
                continue
            if needle and not self._matches(conversation, needle):
                continue
            found.append(conversation)
            if len(found) >= limit:
                break
        return found

    def _matches(self, conversation: Conversation, needle: str) -> bool:
        if needle in conversation.title.lower():
            return True
        for raw in self._redis.lrange(self._messages(conversation.id), 0, -1):
            if needle in _text(raw).lower():
                return True
        return False

    def append(
        self, *, user_id: int, conversation_id: str, messages: Sequence[BaseMessage]
    ) -> None:
        """Add `messages` to the conversation, only if it belongs to `user_id` (else
        `NotFoundError`): checked and written in one script, so one round trip, and a
        conversation deleted meanwhile is not brought back half-made."""
        if not messages:
            self.get(user_id=user_id, conversation_id=conversation_id)
            return
        keys = [self._meta(conversation_id), self._messages(conversation_id), self._index(user_id)]
        encoded = [json.dumps(d) for d in messages_to_dict(messages)]
        args: list[str | int] = [user_id, repr(time.time()), self._ttl, conversation_id, *encoded]
        if not self._append_script(keys=keys, args=args):
            raise NotFoundError("That conversation does not exist (it may have expired).")

    def messages(self, *, user_id: int, conversation_id: str) -> list[BaseMessage]:
        self.get(user_id=user_id, conversation_id=conversation_id)
        return self._load(conversation_id)

    def _load(self, conversation_id: str, start: int = 0) -> list[BaseMessage]:
        """Entries `start`.. of the list, decoding only those this process has not yet.

        One round trip: the list's length and the entries after the decoded ones. A list
        shorter than what was decoded (it expired and was made again) is read afresh.
        """
        key = self._messages(conversation_id)
        with self._decoded_lock:
            known = self._decoded.get(conversation_id)
        if known is None or not known.start <= start <= known.end:
            raw = self._redis.lrange(key, start, -1)
            known = _Decoded(start, _decoded(raw))
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.llen(key)
            pipe.lrange(key, known.end, -1)
            length, raw = pipe.execute()
            if int(length) < known.end:
                known = _Decoded(start, _decoded(self._redis.lrange(key, start, -1)))
            else:
                # A new object: a reader still holding the old one sees it unchanged.
                known = _Decoded(start, [*known.messages[start - known.start :], *_decoded(raw)])
        self._keep(conversation_id, known)
        return list(known.messages)

    def _keep(self, conversation_id: str, decoded: _Decoded) -> None:
        with self._decoded_lock:
            self._decoded[conversation_id] = decoded
            self._decoded.move_to_end(conversation_id)
            while len(self._decoded) > DECODED_CONVERSATIONS:
                self._decoded.popitem(last=False)

    def rename(self, *, user_id: int, conversation_id: str, title: str) -> None:
        title = " ".join(title.split())[:MAX_TITLE]
        if not title:
            raise InvalidInputError("A title cannot be empty.")
        self.get(user_id=user_id, conversation_id=conversation_id)
        self._redis.hset(self._meta(conversation_id), "title", title)

    def title_if_untitled(self, *, user_id: int, conversation_id: str, text: str) -> bool:
        """Title a still-untitled conversation from `text`; True if it was renamed."""
        conversation = self.get(user_id=user_id, conversation_id=conversation_id)
        title = title_from_question(text)
        if conversation.title != DEFAULT_TITLE or not title:
            return False
        self.rename(user_id=user_id, conversation_id=conversation_id, title=title)
        return True

    def set_scope(
        self, *, user_id: int, conversation_id: str, base_id: str | None, model: str | None
    ) -> None:
        self.get(user_id=user_id, conversation_id=conversation_id)
        self._redis.hset(
            self._meta(conversation_id), mapping={"base_id": base_id or "", "model": model or ""}
        )

    def delete(self, *, user_id: int, conversation_id: str) -> None:
        self.get(user_id=user_id, conversation_id=conversation_id)
        with self._decoded_lock:
            self._decoded.pop(conversation_id, None)
        pipe = self._redis.pipeline()
        pipe.delete(self._meta(conversation_id), self._messages(conversation_id))
        pipe.zrem(self._index(user_id), conversation_id)
        pipe.execute()

    def window(
        self,
        *,
        user_id: int,
        conversation_id: str,
        max_tokens: int,
        summarize: Summarizer | None = None,
        conversation: Conversation | None = None,
        recent: list[BaseMessage] | None = None,
    ) -> ContextWindow:
        """Recent messages within `max_tokens`; older ones folded into a stored summary.

        The window starts at a human turn so tool calls are never split from their results.
        When it overflows, it restarts at half the budget and `summarize(previous_summary,
        newly_dropped_messages)` folds what left it into the stored summary; without a
        summarizer the dropped turns are simply left out. `conversation` and `recent`: what
        the caller has just read with `get` or `open` (saves reading them again).
        """
        if conversation is None or (conversation.id, conversation.user_id) != (
            conversation_id,
            user_id,
        ):
            conversation, recent = self.get(user_id=user_id, conversation_id=conversation_id), None
        done = conversation.summarized_count
        if recent is None:
            # Turns already folded into the summary are never read again.
            recent = self._load(conversation.id, start=done)
        summary, keep = conversation.summary, 0
        if message_tokens(recent) > max_tokens:
            # Slide to half the budget, so a summary is written once every few turns
            # rather than on every turn.
            keep = _window_start(recent, max_tokens // 2)
            if summarize is not None and keep > 0:
                dropped = [m for m in recent[:keep] if not is_error_entry(m)]
                summary = summarize(summary, dropped)
                self._redis.hset(
                    self._meta(conversation_id),
                    mapping={"summary": summary, "summarized_count": done + keep},
                )
        return ContextWindow(
            summary=summary,
            messages=[m for m in recent[keep:] if not is_error_entry(m)],
            total_messages=done + len(recent),
        )


def _conversation(user_id: int, conversation_id: str, raw: dict[Any, Any]) -> Conversation:
    """The conversation whose meta hash is `raw`, if it belongs to `user_id`."""
    meta = {_text(k): _text(v) for k, v in raw.items()}
    if not meta or int(meta.get("user_id", -1)) != user_id:
        raise NotFoundError("That conversation does not exist (it may have expired).")
    return Conversation(
        id=conversation_id,
        user_id=user_id,
        title=meta["title"],
        base_id=meta["base_id"] or None,
        model=meta["model"] or None,
        created_at=float(meta["created_at"]),
        updated_at=float(meta["updated_at"]),
        summary=meta["summary"],
        summarized_count=int(meta["summarized_count"]),
    )


def _decoded(raw: Sequence[bytes | str]) -> list[BaseMessage]:
    return list(messages_from_dict([json.loads(r) for r in raw]))


def _window_start(history: Sequence[BaseMessage], max_tokens: int) -> int:
    """Index of the earliest human message from which the rest fits in `max_tokens`.

    Linear: each message is counted once, summing from the newest backwards.
    """
    best = len(history)
    used = 0
    for index in range(len(history) - 1, -1, -1):
        used += message_tokens([history[index]])
        if used > max_tokens:
            break
        if isinstance(history[index], HumanMessage):
            best = index
    if best == len(history):  # even the last turn is too long: keep it whole
        for index in range(len(history) - 1, -1, -1):
            if isinstance(history[index], HumanMessage):
                return index
        return 0
    return best
