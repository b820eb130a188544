"""The context gauge keeps each conversation's last reading, and the last summary's time."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from services.container import Services
from services.context_gauge import ContextGauge, ContextReading, measure
from services.conversations import Conversation, error_entry
from services.llm.token_counts import message_tokens


def _gauge(services: Services) -> ContextGauge:
    return ContextGauge(services.redis, prefix=services.settings.redis_key_prefix, ttl_seconds=60)


def _conversation(summarized: int) -> Conversation:
    return Conversation("c1", 1, "t", None, None, 0.0, 0.0, "", summarized)


def test_measure__counts_the_history_past_the_summary_and_prefers_the_providers_count() -> None:
    recent = [HumanMessage("how many tasks are open?"), AIMessage("Twelve tasks are open.")]
    answer = AIMessage(
        "Twelve.", usage_metadata={"input_tokens": 900, "output_tokens": 5, "total_tokens": 905}
    )
    reading = measure(
        conversation=_conversation(4),
        recent=[*recent, error_entry("The model failed.")],
        produced=[answer],
        context_window=1000,
        window_budget=100,
        summarized_now=False,
    )
    assert reading.history_tokens == message_tokens(recent)  # the error entry left out
    assert reading.sent_tokens == 900
    assert reading.window_ratio == 0.9
    assert reading.summarized_messages == 4
    assert reading.summarized_at is None


def test_record__keeps_the_last_summary_time_until_the_next_summary(services: Services) -> None:
    gauge = _gauge(services)
    recent = [HumanMessage("q")]

    def reading(summarized: int, *, now: bool) -> ContextReading:
        return measure(
            conversation=_conversation(summarized),
            recent=recent,
            produced=[],
            context_window=10,
            window_budget=10,
            summarized_now=now,
        )

    summarised = reading(2, now=True)
    assert summarised.summarized_at is not None
    assert gauge.record("conv-a", summarised) == summarised

    later = reading(2, now=False)
    kept = gauge.record("conv-a", later)
    assert kept.summarized_at == summarised.summarized_at
    assert kept.measured_at == later.measured_at
    assert gauge.read("conv-a") == kept

    never = reading(0, now=False)
    assert gauge.record("conv-b", never).summarized_at is None
    assert gauge.read("conv-b") == never
