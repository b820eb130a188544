"""The scripted chat model of the agent tests, from `services.llm.scripted` (the benches use it
too), under the name the tests import it by."""

from services.llm.scripted import ScriptedChatModel, ScriptExhaustedError, answer, tool_call, usage

__all__ = ["ScriptExhaustedError", "ScriptedChatModel", "answer", "tool_call", "usage"]
