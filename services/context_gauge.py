"""How full a conversation's context is, measured after each turn and kept beside it.

Two figures, both shown in the chat, returned by `GET /api/conversations/{id}` and
observed in metrics:
- `window_ratio`: the tokens the turn's last model call sent (the provider's count when it
  reports one, else an estimate of the history) / the model's context window (model table);
- `budget_ratio`: the history the next turn will send verbatim / `CONVERSATION_WINDOW_TOKENS`
  (the store's own measure: over 1.0, the next turn folds older turns into the summary).

Kept in Redis as `conv:{id}:context` (a hash, with the conversation's TTL).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import redis
from langchain_core.messages import AIMessage, BaseMessage

from services.conversations import Conversation, is_error_entry
from services.llm.token_counts import message_tokens


@dataclass(frozen=True)
class ContextReading:
    sent_tokens: int
    context_window: int
    history_tokens: int
    window_budget: int
    summarized_messages: int
    summarized_at: float | None
    measured_at: float

    @property
    def window_ratio(self) -> float:
        return self.sent_tokens / self.context_window if self.context_window else 0.0

    @property
    def budget_ratio(self) -> float:
        return self.history_tokens / self.window_budget if self.window_budget else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "window_ratio": round(self.window_ratio, 6),
            "budget_ratio": round(self.budget_ratio, 4),
        }

    def caption(self) -> str:
        """One line for the chat: "Context: 0.1% of the model's 1,048,576 tokens · …"."""
        text = (
            f"Context: {self.window_ratio:.1%} of the model's {self.context_window:,} tokens "
            f"({self.sent_tokens:,} sent) · history {self.budget_ratio:.0%} of the "
            f"{self.window_budget:,}-token window"
        )
        if self.summarized_at is not None:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.summarized_at))
            text += f" · {self.summarized_messages} older messages summarised ({when})"
        return text


def measure(
    *,
    conversation: Conversation,
    recent: Sequence[BaseMessage],
    produced: Sequence[BaseMessage],
    context_window: int,
    window_budget: int,
    summarized_now: bool,
) -> ContextReading:
    """The reading after a turn.

    Args:
        conversation: The conversation as it is after the turn (its summary and the count
            of messages folded into it).
        recent: The conversation's messages after those folded into its summary, after
            the turn (`ConversationStore.open`).
        produced: What the turn produced (its answers carry the provider's usage).
        context_window: The model's context window, in tokens.
        window_budget: `CONVERSATION_WINDOW_TOKENS`.
        summarized_now: The turn folded older turns into the summary (the reading's
            `summarized_at` is then now; else None, and `ContextGauge.record` keeps the
            time of the last summary).
    """
    history_tokens = message_tokens([m for m in recent if not is_error_entry(m)])
    reported = [
        int(m.usage_metadata.get("input_tokens") or 0)
        for m in produced
        if isinstance(m, AIMessage) and m.usage_metadata
    ]
    sent = reported[-1] if reported and reported[-1] > 0 else history_tokens
    measured_at = time.time()
    return ContextReading(
        sent_tokens=sent,
        context_window=context_window,
        history_tokens=history_tokens,
        window_budget=window_budget,
        summarized_messages=conversation.summarized_count,
        summarized_at=measured_at if summarized_now else None,
        measured_at=measured_at,
    )


class ContextGauge:
    """The last reading of each conversation."""

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}conv:"
        self._ttl = ttl_seconds

    def _key(self, conversation_id: str) -> str:
        return f"{self._prefix}{conversation_id}:context"

    def record(self, conversation_id: str, reading: ContextReading) -> ContextReading:
        """Keep `reading` as the conversation's last, in one round trip, and return it as
        kept: a reading without `summarized_at` keeps the time of the last summary."""
        key = self._key(conversation_id)
        fields = {k: v for k, v in asdict(reading).items() if v is not None}
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, self._ttl)
        pipe.hget(key, "summarized_at")
        *_, summarized_at = pipe.execute()
        if reading.summarized_at is not None or not summarized_at:
            return reading
        return replace(reading, summarized_at=float(_text(summarized_at)))

    def read(self, conversation_id: str) -> ContextReading | None:
        raw = self._redis.hgetall(self._key(conversation_id))
        if not raw:
            return None
        values = {_text(k): _text(v) for k, v in raw.items()}
        return ContextReading(
            sent_tokens=int(values["sent_tokens"]),
            context_window=int(values["context_window"]),
            history_tokens=int(values["history_tokens"]),
            window_budget=int(values["window_budget"]),
            summarized_messages=int(values["summarized_messages"]),
            summarized_at=float(values["summarized_at"]) if values.get("summarized_at") else None,
            measured_at=float(values["measured_at"]),
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
