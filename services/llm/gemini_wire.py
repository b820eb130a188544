"""Gemini requests built without re-validating what is already valid.

For every call google-genai (`Models._generate_content[_stream]`) first validates the whole
request again as one pydantic model (`_GenerateContentParameters`: every message of the
conversation, every part, the config), although langchain-google-genai hands it objects
the SDK's own constructors have just validated. Then it walks the request twice more
(`convert_to_dict`, `encode_unserializable_types`), the twenty tool declarations (some
30 KB of JSON Schema, the same on every call) included. Under load that was 30% of the
web process's CPU, growing with the conversation (py-spy, `bench/load.py`).

`FastModels` builds the same request with the SDK's own converters, minus the repeat
validation (`model_construct` of already-typed objects), and converts each tool set once
(identity of the SDK `Tool` objects, which `tool_cache` keeps the same per tool set). The
request sent is the SDK's, key for key (a test compares both on the fake Gemini server);
anything other than typed contents and config, and Vertex AI, goes the SDK's own way.
The response is parsed as the SDK parses it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from google.genai import _common, types
from google.genai import models as sdk
from google.genai.models import Models

_TOOLS_KEPT = 64


@dataclass(frozen=True)
class _Request:
    path: str
    body: dict[str, Any]
    parameters: types._GenerateContentParameters
    http_options: types.HttpOptions | None


class _ToolsJson:
    """Each tool set's request form, converted once by the SDK's own path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, ...], tuple[list[Any], list[Any]]] = {}

    def get(self, api_client: Any, model: str, tools: list[Any]) -> list[Any]:
        key = tuple(id(tool) for tool in tools)
        entry = self._entries.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], tools, strict=True)):
            return entry[1]
        converted = _sdk_body(
            api_client, model, [types.Content(role="user", parts=[types.Part(text=".")])],
            types.GenerateContentConfig(tools=tools),
        )["tools"]  # fmt: skip
        with self._lock:
            if len(self._entries) >= _TOOLS_KEPT:
                self._entries.pop(next(iter(self._entries)))
            # The tool objects are held, so their ids are not reused while the entry lives.
            self._entries[key] = (list(tools), converted)
        return converted


_tools_json = _ToolsJson()


def _typed(contents: Any, config: Any) -> bool:
    return (
        isinstance(contents, list)
        and all(type(item) is types.Content for item in contents)
        and (config is None or type(config) is types.GenerateContentConfig)
    )


def _finish(
    api_client: Any, parameters: types._GenerateContentParameters, action: str
) -> tuple[str, dict[str, Any]]:
    """The SDK's steps after validation: the Gemini API form, its path, plain JSON types."""
    body = sdk._GenerateContentParameters_to_mldev(api_client, parameters, None, parameters)
    url = body.get("_url")
    path = f"{{model}}:{action}".format_map(url) if url else f"{{model}}:{action}"
    query = body.get("_query")
    if query:
        path = f"{path}?{urlencode(query)}"
    body.pop("config", None)
    body = _common.convert_to_dict(body)
    return path, _common.encode_unserializable_types(body)


def _sdk_body(api_client: Any, model: str, contents: Any, config: Any) -> dict[str, Any]:
    """The body the SDK itself sends (validation included)."""
    parameters = types._GenerateContentParameters(model=model, contents=contents, config=config)
    return _finish(api_client, parameters, "generateContent")[1]


def build_request(
    api_client: Any, model: str, contents: Any, config: Any, action: str
) -> _Request | None:
    """The request the SDK would send, or None where only the SDK's own path applies."""
    if api_client.vertexai or not _typed(contents, config):
        return None
    tools = config.tools if config is not None else None
    rest = config.model_copy(update={"tools": None}) if tools else config
    parameters = types._GenerateContentParameters.model_construct(
        model=model, contents=contents, config=rest
    )
    path, body = _finish(api_client, parameters, action)
    if tools:
        body["tools"] = _tools_json.get(api_client, model, tools)
    http_options = rest.http_options if rest is not None else None
    return _Request(path, body, parameters, http_options)


def _parsed(api_client: Any, raw: Any, parameters: types._GenerateContentParameters) -> Any:
    """The SDK's parse of one response (or stream chunk)."""
    data = {} if not raw.body else json.loads(raw.body)
    data = sdk._GenerateContentResponse_from_mldev(data, None, parameters)
    config = parameters.config
    result = types.GenerateContentResponse._from_response(
        response=data,
        kwargs={
            "config": {
                "response_schema": getattr(config, "response_schema", None),
                "response_json_schema": getattr(config, "response_json_schema", None),
                "include_all_fields": getattr(config, "include_all_fields", None),
            }
        }
        if config
        else {},
    )
    result.sdk_http_response = types.HttpResponse(headers=raw.headers)
    api_client._verify_response(result)
    return result


class FastModels(Models):
    """google-genai's `Models`, sending each call's request without re-validating it."""

    def _generate_content(self, *, model: str, contents: Any, config: Any = None) -> Any:
        request = build_request(self._api_client, model, contents, config, "generateContent")
        if request is None or getattr(config, "should_return_http_response", None):
            return super()._generate_content(model=model, contents=contents, config=config)
        raw = self._api_client.request("post", request.path, request.body, request.http_options)
        return _parsed(self._api_client, raw, request.parameters)

    def _generate_content_stream(
        self, *, model: str, contents: Any, config: Any = None
    ) -> Iterator[Any]:
        request = build_request(
            self._api_client, model, contents, config, "streamGenerateContent?alt=sse"
        )
        if request is None or getattr(config, "should_return_http_response", None):
            yield from super()._generate_content_stream(
                model=model, contents=contents, config=config
            )
            return
        for raw in self._api_client.request_streamed(
            "post", request.path, request.body, request.http_options
        ):
            yield _parsed(self._api_client, raw, request.parameters)


def install(client: Any) -> None:
    """Send `client`'s (a `google.genai.Client`) content calls through `FastModels`."""
    if not isinstance(client.models, FastModels):
        client._models = FastModels(client._api_client)
