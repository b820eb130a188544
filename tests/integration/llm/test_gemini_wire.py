"""`gemini_wire.FastModels` sends what google-genai itself sends, and reads what it reads.

The same calls go through the SDK's own `Models` and through `FastModels`, over real HTTP
to the fake Gemini server; the bodies it records and the responses the client returns
must be equal, for a conversation with every kind of part the assistant sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import types
from google.genai.models import Models

from services.llm.gemini_wire import FastModels, build_request, install
from tests.support.fake_gemini import FAKE_GEMINI_KEY, FakeGeminiServer
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall

MODEL = "gemini-2.5-flash"
SCHEMA = {
    "type": "object",
    "properties": {
        "table": {"type": "string", "description": "The table's name or id."},
        "filters": {"type": "array", "items": {"$ref": "#/$defs/filters_item"}},
    },
    "required": ["table"],
    "$defs": {
        "filters_item": {
            "type": "object",
            "properties": {"field": {"type": "string"}, "value": {"type": "number"}},
        }
    },
}


@pytest.fixture
def server() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as fake:
        yield fake


def _client(server: FakeGeminiServer) -> genai.Client:
    return genai.Client(
        api_key=FAKE_GEMINI_KEY,
        http_options=types.HttpOptions(base_url=server.url, api_version="v1beta"),
    )


def _contents() -> list[types.Content]:
    return [
        types.Content(role="user", parts=[types.Part(text="How many deals are open?")]),
        types.Content(
            role="model",
            parts=[
                types.Part(
                    function_call=types.FunctionCall(
                        name="count_records", args={"table": "Deals", "filters": []}
                    ),
                    thought_signature=b"\x00signature\xff",
                )
            ],
        ),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        name="count_records", response={"output": '{"count": 42}'}
                    )
                )
            ],
        ),
        types.Content(role="model", parts=[types.Part(text="42 deals are open.")]),
        types.Content(role="user", parts=[types.Part(text="And closed ones?")]),
    ]


def _config(tools: list[Any]) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=types.Content(parts=[types.Part(text="You answer about a base.")]),
        tools=tools,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["count_records"]
            )
        ),
        max_output_tokens=2048,
        thinking_config=types.ThinkingConfig(thinking_budget=512),
        temperature=0.2,
        stop_sequences=["END"],
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
    )


def _tools() -> list[Any]:
    declaration = types.FunctionDeclaration(
        name="count_records", description="Count a table's records.", parameters_json_schema=SCHEMA
    )
    return [types.Tool(function_declarations=[declaration])]


def _replies() -> tuple[ScriptedReply, ...]:
    return (
        ScriptedReply(
            text="Closed: ",
            tool_calls=[ScriptedToolCall("count_records", {"table": "Deals"})],
            input_tokens=120,
            output_tokens=9,
            thinking_tokens=4,
        ),
    )


def _dump(response: Any) -> dict[str, Any]:
    # The fake server gives each response its own id; everything else must be equal.
    return response.model_dump(exclude={"sdk_http_response", "response_id"}, exclude_none=True)


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
def test_fast_models__send_and_read_what_the_sdk_does(
    server: FakeGeminiServer, stream: bool
) -> None:
    client = _client(server)
    tools = _tools()
    answers: list[Any] = []
    for models in (Models(client._api_client), FastModels(client._api_client)):
        for _ in range(2):  # the second call reuses the converted tools
            server.script(*_replies())
            if stream:
                chunks = models.generate_content_stream(
                    model=MODEL, contents=_contents(), config=_config(tools)
                )
                answers.append([_dump(chunk) for chunk in chunks])
            else:
                answers.append(
                    _dump(
                        models.generate_content(
                            model=MODEL, contents=_contents(), config=_config(tools)
                        )
                    )
                )

    sdk_first, sdk_again, fast_first, fast_again = server.requests
    assert sdk_first.body == sdk_again.body == fast_first.body == fast_again.body
    assert sdk_first.path == fast_first.path
    assert sdk_first.query == fast_first.query
    assert fast_first.body["tools"][0]["functionDeclarations"][0]["parameters_json_schema"] == (
        SCHEMA
    )
    assert answers[0] == answers[1] == answers[2] == answers[3]


def test_build_request__leaves_untyped_input_and_vertex_to_the_sdk(
    server: FakeGeminiServer,
) -> None:
    client = _client(server)
    config = _config(_tools())

    assert build_request(client._api_client, MODEL, "a plain string", config, "x") is None
    assert build_request(client._api_client, MODEL, _contents(), {"temperature": 1}, "x") is None
    assert build_request(client._api_client, MODEL, _contents(), config, "x") is not None
    server.script(*_replies())
    fast = FastModels(client._api_client)
    # A string is the SDK's to turn into contents: answered all the same.
    assert fast.generate_content(model=MODEL, contents="Hello").text


def test_install__routes_the_clients_calls_through_fast_models(server: FakeGeminiServer) -> None:
    client = _client(server)

    install(client)
    install(client)

    assert type(client.models) is FastModels
    server.script(ScriptedReply(text="Hi."))
    assert client.models.generate_content(model=MODEL, contents=_contents()).text == "Hi."
