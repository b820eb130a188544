"""`GuardedChatModel`: a chat model that reserves before and settles after every call.

It wraps a provider model (or any `BaseChatModel`, for scripted tests) and is itself a
`BaseChatModel`, so it works wherever LangChain expects one: `invoke`/`stream` and their
async forms, `bind_tools` (it returns another guarded model that carries the provider's
tool binding, so `create_agent` works), and `with_structured_output` (through tool calling;
provider-native JSON modes are not offered through the guard).

The inner model runs with no callbacks of its own: the guarded run is the one traced and
streamed, so callback handlers see each call (and its usage) once, not twice. A call goes
from the guarded model's generation straight to the inner model's (`_generate_with_cache`,
which keeps the inner model's cache and rate limiter), with no second `invoke` layer of
callback managers and tracing. (Tool bindings are kept as keyword arguments and applied on
the inner model directly, because calling through a `RunnableBinding` would merge the
caller's callbacks back in.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, PrivateAttr

from services.budget.guard import BudgetGuard
from services.budget.types import CallRef, Purpose
from services.errors import ConfigurationError
from services.llm.calls import ModelCall
from services.llm.providers import output_limit_kwargs
from services.llm.tool_schemas import openai_tool_schemas
from services.metrics import Metrics

# Keys `BaseChatModel.generate` takes out of the call's arguments (structured output's
# tracing metadata); a provider's `_generate` does not accept them.
_TRACING_ONLY = ("ls_structured_output_format", "structured_output_format")

# Where an answer keeps the request id of its model call: its cost is that ledger row.
LEDGER_REQUEST_ID = "ledger_request_id"
# Where an answer keeps the output limit its call was lowered to, to fit a budget's rest.
OUTPUT_LIMIT = "output_limit_tokens"


def _quiet() -> RunnableConfig:
    return {"callbacks": []}


class GuardedChatModel(BaseChatModel):
    """A chat model whose every call is priced, checked against budgets and recorded.

    Build it with `ChatModelFactory.for_user` (provider models) or `ChatModelFactory.guard`
    (any chat model, priced as a model of the table).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    inner: BaseChatModel = Field(exclude=True, repr=False)
    """The unguarded model."""
    bound_kwargs: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    """What `inner.bind_tools` bound (tools, tool choice), passed on every call."""
    budget_guard: BudgetGuard = Field(exclude=True, repr=False)
    user_id: int
    purpose: Purpose
    model_name: str
    """The model table entry that prices the calls."""
    ref: CallRef | None = None
    tool_schemas: list[dict[str, Any]] = Field(default_factory=list, repr=False)
    """The bound tools, counted in the input estimate."""
    metrics: Metrics | None = Field(default=None, exclude=True, repr=False)
    """Where calls, tokens, spend and refusals are counted."""
    _last_bound: tuple[tuple[Any, ...], dict[str, Any], GuardedChatModel] | None = PrivateAttr(
        default=None
    )
    """The tools and options last bound, and the guarded model that binding made."""

    @property
    def _llm_type(self) -> str:
        return f"guarded-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "purpose": self.purpose.value}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind `tools` on the inner model and return a guarded model around the binding.

        The agent binds its tools before every model call: the same tools bound again on
        this model give the same guarded model back (its traced description included,
        which LangChain works out once per model object).
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        last = self._last_bound
        if (
            last is not None
            and len(last[0]) == len(tools)
            and all(a is b for a, b in zip(last[0], tools, strict=True))
            and last[1] == kwargs
        ):
            return last[2]
        # The provider gets the schemas converted once per tool (`tool_schemas`), not the
        # tools: it would convert each of them again on every model call.
        schemas = openai_tool_schemas(tools)
        bound_kwargs = _bound_kwargs(self.inner.bind_tools(schemas, **kwargs), self.inner)
        bound = self.model_copy(update={"bound_kwargs": bound_kwargs, "tool_schemas": schemas})
        bound._last_bound = None
        self._last_bound = (tuple(tools), dict(kwargs), bound)
        return bound

    def _call_kwargs(
        self, stop: list[str] | None, kwargs: dict[str, Any], call: ModelCall
    ) -> dict[str, Any]:
        limit = call.output_limit
        lowered = {} if limit is None else output_limit_kwargs(call.reservation.model, limit)
        return {**self.bound_kwargs, **kwargs, **lowered, "stop": stop}

    def _generate_kwargs(self, kwargs: dict[str, Any], call: ModelCall) -> dict[str, Any]:
        """What the inner model's `_generate` takes: the binding, the call's arguments and
        a lowered output limit (when the budget only fits a shorter answer), less the
        tracing-only keys that `generate` would have removed."""
        limit = call.output_limit
        lowered = {} if limit is None else output_limit_kwargs(call.reservation.model, limit)
        merged = {**self.bound_kwargs, **kwargs, **lowered}
        for key in _TRACING_ONLY:
            merged.pop(key, None)
        return merged

    def _start(self, messages: list[BaseMessage]) -> ModelCall:
        return ModelCall.start(
            self.budget_guard,
            user_id=self.user_id,
            model_name=self.model_name,
            purpose=self.purpose,
            ref=self.ref,
            messages=messages,
            tools=self.tool_schemas,
            metrics=self.metrics,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._start(messages)
        try:
            # Straight to the inner model's generation (its cache and rate limiter
            # included), not through a second `invoke`: this run is the one traced.
            result = self.inner._generate_with_cache(
                messages, stop=stop, run_manager=None, **self._generate_kwargs(kwargs, call)
            )
            message = result.generations[0].message
        except BaseException as exc:
            call.fail(exc)
            raise
        call.succeed(message)
        return ChatResult(generations=[ChatGeneration(message=_stamped(message, call))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Reserved on the loop, with no await in between: a cancellation cannot strike
        # after the reservation exists but before the call owns it.
        call = self._start(messages)
        try:
            result = await self.inner._agenerate_with_cache(
                messages, stop=stop, run_manager=None, **self._generate_kwargs(kwargs, call)
            )
            message = result.generations[0].message
        except BaseException as exc:
            await call.afail(exc)
            raise
        await call.asucceed(message)
        return ChatResult(generations=[ChatGeneration(message=_stamped(message, call))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._start(messages)
        total: AIMessageChunk | None = None
        chunks = self.inner.stream(messages, _quiet(), **self._call_kwargs(stop, kwargs, call))
        try:
            for chunk in chunks:
                piece = _as_chunk(chunk) if total is not None else _stamped(_as_chunk(chunk), call)
                # Chunk addition sums usage deltas: the total is counted once, at the end.
                total = piece if total is None else total + piece
                yield ChatGenerationChunk(message=piece)
        except BaseException as exc:
            _close(chunks)
            call.fail(exc, total)
            raise
        call.succeed(total)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._start(messages)
        total: AIMessageChunk | None = None
        chunks = self.inner.astream(messages, _quiet(), **self._call_kwargs(stop, kwargs, call))
        try:
            async for chunk in chunks:
                piece = _as_chunk(chunk) if total is not None else _stamped(_as_chunk(chunk), call)
                total = piece if total is None else total + piece
                yield ChatGenerationChunk(message=piece)
        except BaseException as exc:
            await _aclose(chunks)
            await call.afail(exc, total)
            raise
        await call.asucceed(total)


def output_limit(message: BaseMessage) -> int | None:
    """The output limit the call that produced `message` was lowered to, if it was."""
    value = message.response_metadata.get(OUTPUT_LIMIT)
    return value if isinstance(value, int) else None


def ledger_request_id(message: BaseMessage) -> str | None:
    """The request id of the ledger row of the call that produced `message`, if any."""
    value = message.response_metadata.get(LEDGER_REQUEST_ID)
    return value if isinstance(value, str) else None


_Message = TypeVar("_Message", bound=BaseMessage)


def _stamped(message: _Message, call: ModelCall) -> _Message:
    """A copy of `message` carrying its call's request id (on the first chunk of a stream:
    adding chunks merges their metadata, so the whole message carries it once)."""
    metadata = {**message.response_metadata, LEDGER_REQUEST_ID: call.reservation.request_id}
    if call.output_limit is not None:
        metadata[OUTPUT_LIMIT] = call.output_limit
    return message.model_copy(update={"response_metadata": metadata})


def _bound_kwargs(bound: Runnable[Any, Any], inner: BaseChatModel) -> dict[str, Any]:
    """The keyword arguments of a (possibly nested) binding of `inner`."""
    layers: list[Mapping[str, Any]] = []
    while isinstance(bound, RunnableBinding):
        layers.append(bound.kwargs)
        bound = bound.bound
    if bound is not inner:
        raise ConfigurationError(
            f"{type(inner).__name__}.bind_tools returned a {type(bound).__name__}, "
            "not a binding of the model itself; it cannot be guarded."
        )
    merged: dict[str, Any] = {}
    for layer in reversed(layers):  # outer bindings override inner ones
        merged.update(layer)
    return merged


def _as_chunk(message: BaseMessage) -> AIMessageChunk:
    if isinstance(message, AIMessageChunk):
        return message
    # A model without native streaming yields whole messages.
    return AIMessageChunk(**message.model_dump(exclude={"type"}))


def _close(iterator: Iterator[Any]) -> None:
    # Closing the provider's stream closes its HTTP response: the provider stops generating.
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
