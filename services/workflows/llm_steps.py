"""LLM steps: `run_prompt` (a saved prompt) and `ask_assistant` (read-only tools).

Both go through the budget guard, charged to the run's owner, purpose `workflow_run`,
referenced by the run (so the run's cost is the sum of its ledger rows). A refused call
raises `BudgetExceededError`, which fails the step like any other error.

`ask_assistant` and tools-mode prompts need the agent, which lives above `services/`:
the worker entry injects it as `Ask` (see `manage.py worker`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import HumanMessage

from services.budget.types import CallRef, Purpose, RefType
from services.errors import ConfigurationError, InvalidInputError
from services.llm.factory import ChatModelFactory
from services.prompts.library import PromptLibrary, RunMode

# (owner_id, base_id or None, question, ref) -> answer text
Ask = Callable[[int, "str | None", str, CallRef], str]


class ModelSteps:
    """What the engine calls for LLM steps."""

    def __init__(
        self, prompts: PromptLibrary, models: ChatModelFactory, ask: Ask | None = None
    ) -> None:
        self._prompts = prompts
        self._models = models
        self._ask = ask

    def run_prompt(
        self, owner_id: int, run_id: str, prompt: str, inputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The saved prompt (by name or ID) answered with `inputs`: `{"text", "prompt"}`."""
        found = self._prompts.find_by_name(user_id=owner_id, name=prompt)
        prompt_id = found.id if found is not None else prompt
        rendered = self._prompts.render(
            user_id=owner_id, prompt_id=prompt_id, values={k: str(v) for k, v in inputs.items()}
        )
        ref = CallRef(RefType.WORKFLOW_RUN, run_id)
        if rendered.version.mode is RunMode.TOOLS:
            text = self._assistant()(owner_id, rendered.base_id or None, rendered.text, ref)
        else:
            model = self._models.for_user(owner_id, Purpose.WORKFLOW_RUN, ref=ref)
            text = model.invoke([HumanMessage(rendered.text)]).text
        if not text:
            raise InvalidInputError("The model gave no answer.")
        return {"text": text, "prompt": prompt}

    def ask_assistant(
        self, owner_id: int, run_id: str, base_id: str | None, question: str
    ) -> dict[str, Any]:
        """The assistant's answer, using read-only tools on `base_id`: `{"text"}`."""
        ref = CallRef(RefType.WORKFLOW_RUN, run_id)
        text = self._assistant()(owner_id, base_id, question, ref)
        return {"text": text}

    def _assistant(self) -> Ask:
        if self._ask is None:
            raise ConfigurationError("The assistant is not available in this process.")
        return self._ask
