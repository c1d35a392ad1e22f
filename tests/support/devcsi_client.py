"""Call every CSI function through the official SDK's ``DevCsi``; print the results as JSON.

Runs under an SDK's own Python (``skills.builder.sdk_python(toolchain)``: the SDK pins a pydantic the
kernel's venv does not have), with ``PHARIA_KERNEL_ADDRESS`` and ``PHARIA_AI_TOKEN`` set::

    python devcsi_client.py '{"sdk": "0.20.0", "namespace": "test", "model": "test-model", ...}'

``sdk`` is ``0.20.0`` (the release) or ``main`` (the current source, which adds the 0.4 calls:
reasoning, tool calling, structured output); ``csi_version`` (``v1``, ``v2``) overrides the SDK's
``Client.HTTP_CSI_VERSION``. Each call is reported as ``{"ok": true, "value": ...}`` or ``{"ok":
false, "error": "..."}`` so a test sees every function's outcome from one subprocess. Spans go to an
in-memory exporter (instead of an OTLP collector that is not running); their names are reported
under ``"spans"``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pharia_skill import (
    ChatParams,
    ChunkParams,
    CompletionParams,
    DocumentPath,
    IndexPath,
    Language,
    Message,
)
from pharia_skill.csi.document_index import EqualTo, MetadataFilter, With
from pharia_skill.csi.inference import TopLogprobs
from pharia_skill.testing import DevCsi
from pharia_skill.testing.dev.client import Client


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if (
        hasattr(value, "value")
        and type(value).__module__.startswith("pharia_skill")
        and not hasattr(value, "__dataclass_fields__")
    ):
        return value.value  # enums
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def _try(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "value": _jsonable(fn())}
    except Exception as error:  # noqa: BLE001 - the test asserts on the message
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def _completion_stream(csi: DevCsi, model: str, prompt: str) -> dict[str, Any]:
    params = CompletionParams(max_tokens=16, logprobs="sampled")
    with csi.completion_stream(model, prompt, params) as response:
        appends = list(response.stream())
        return {
            "text": "".join(a.text for a in appends),
            "appends": len(appends),
            "logprobs": sum(len(a.logprobs) for a in appends),
            "finish_reason": response.finish_reason().value,
            "usage": _jsonable(response.usage()),
        }


def _chat_stream(csi: DevCsi, model: str, text: str) -> dict[str, Any]:
    with csi.chat_stream(model, [Message.user(text)], ChatParams(max_tokens=3)) as response:
        appends = list(response.stream())
        return {
            "role": response.role,
            "text": "".join(a.content for a in appends),
            "finish_reason": response.finish_reason().value,
            "usage": _jsonable(response.usage()),
        }


def _request(model: str, prompt: str) -> Any:
    from pharia_skill import CompletionRequest

    return CompletionRequest(model, prompt, CompletionParams(max_tokens=4))


def _calls(csi: DevCsi, spec: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The calls both SDK generations make."""
    model = spec["model"]
    doc = DocumentPath(*spec["document"])
    index = IndexPath(*spec["index"])
    top = CompletionParams(max_tokens=2, logprobs=TopLogprobs(2), echo=True)
    return {
        "complete": lambda: csi.complete(model, "hello world", CompletionParams(max_tokens=8)),
        "complete_logprobs": lambda: csi.complete(model, "hello world", top),
        "complete_length": lambda: csi.complete(model, "one two three four", CompletionParams(max_tokens=2)),
        "complete_concurrent": lambda: [
            c.text for c in csi.complete_concurrent([_request(model, f"n{i}") for i in range(3)])
        ],
        "complete_unknown_model": lambda: csi.complete("no-such-model", "x", CompletionParams()),
        "complete_rate_limited": lambda: csi.complete("ratelimited-model", "x", CompletionParams()),
        "complete_broken": lambda: csi.complete("broken-model", "x", CompletionParams()),
        "completion_stream": lambda: _completion_stream(csi, model, "streamed words here"),
        "completion_stream_unknown_model": lambda: _completion_stream(csi, "no-such-model", "x"),
        "chat": lambda: csi.chat(
            model, [Message.system("be brief"), Message.user("hi there")], ChatParams(max_tokens=8)
        ),
        "chat_logprobs": lambda: csi.chat(model, [Message.user("hi")], ChatParams(logprobs=TopLogprobs(1))),
        "chat_tool_model": lambda: csi.chat("tool-model", [Message.user("add 1 and 2")], ChatParams()),
        "chat_stream": lambda: _chat_stream(csi, model, "one two three four five"),
        "chat_stream_tool_model": lambda: _chat_stream(csi, "tool-model", "weather?"),
        "chat_stream_unknown_model": lambda: _chat_stream(csi, "no-such-model", "x"),
        "chunk": lambda: csi.chunk(
            "A first sentence. " * 20, ChunkParams(spec["chunk_model"], max_tokens=10)
        ),
        "chunk_unknown_model": lambda: csi.chunk("text", ChunkParams("no-such-model", max_tokens=10)),
        "select_language": lambda: csi.select_language(
            "Dies ist ein deutscher Satz über das Wetter.", [Language.English, Language.German]
        ),
        "select_language_none": lambda: csi.select_language("", [Language.English]),
        "search": lambda: csi.search(index, "kernel skills", max_results=5),
        "search_filtered": lambda: csi.search(
            index, "kernel", max_results=5, filters=[With([MetadataFilter("lang", EqualTo("en"))])]
        ),
        "documents": lambda: csi.documents([doc]),
        "document_metadata": lambda: csi.document_metadata(doc),
        "document_missing": lambda: csi.document(DocumentPath(doc.namespace, doc.collection, "missing")),
        "list_tools": lambda: [tool.name for tool in csi.list_tools()],  # in the kernel's order
        "invoke_tool": lambda: csi.invoke_tool("add", a=1, b=2).contents,
        "invoke_tool_mcp": lambda: csi.invoke_tool("multiply", a=6, b=7).contents,
        "invoke_tool_saboteur": lambda: csi.invoke_tool("saboteur"),
        "invoke_tool_saboteur_with_arguments": lambda: csi.invoke_tool("saboteur", a=1, b="two"),
        "invoke_tool_unknown": lambda: csi.invoke_tool("no-such-tool"),
        "invoke_tool_other_namespace": lambda: DevCsi(namespace=spec["forbidden_namespace"]).invoke_tool(
            "add", a=1, b=2
        ),
    }


def _calls_0_20(csi: DevCsi, spec: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    return {
        "explain": lambda: csi.explain("prompt", "target", spec["model"]),
        "list_tools_schema": lambda: [t.input_schema for t in csi.list_tools() if t.name == "add"],
    }


def _calls_main(csi: DevCsi, spec: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The 0.4 calls of the current SDK source: reasoning, tool calling, structured output."""
    from pharia_skill import ChatRequest
    from pharia_skill.csi.inference import JsonSchema, NamedToolChoice, ToolCall
    from pharia_skill.csi.inference import Tool as Function
    from pharia_skill.testing.dev.inference import ChatRequestListSerializer

    add = Function(
        "add",
        "Add two numbers",
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
    )
    answer_schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    user = Message.user("what is 1 + 2?")
    history = [
        user,
        Message.assistant(None, tool_calls=[ToolCall("call_0", "add", {"a": 1, "b": 2})]),
        Message.tool("3", "call_0"),
    ]

    def stream_events(model: str, messages: list[Message], params: ChatParams) -> dict[str, Any]:
        with csi.chat_stream_step(model, messages, params) as response:
            events = [(type(event).__name__, event.content) for event in response.stream()]
            return {
                "role": response.role,
                "events": events,
                "finish_reason": response.finish_reason().value,
                "usage": _jsonable(response.usage()),
            }

    def stream_tool_calls(params: ChatParams) -> Any:
        with csi.chat_stream_step("tool-model", [user], params) as response:
            return response.tool_calls()

    def raw_chat(model: str, messages: list[Message], params: ChatParams) -> Any:
        body = ChatRequestListSerializer(root=[ChatRequest(model, messages, params)]).model_dump()
        return csi.client.run("chat", json.loads(json.dumps(body)))

    def agent() -> dict[str, Any]:
        messages = [Message.user("add one and two")]
        with csi.chat_stream("tool-model", messages, tools=["add"]) as response:
            message = response.consume_message()
        return {"content": message.content, "conversation": [m.role.value for m in messages]}

    return {
        "list_tools_parameters": lambda: [t.parameters for t in csi.list_tools() if t.name == "add"],
        "chat_reasoning": lambda: csi.chat("reasoning-model", [Message.user("why is the sky blue")]),
        "chat_stream_reasoning": lambda: stream_events(
            "reasoning-model", [Message.user("two words")], ChatParams()
        ),
        "chat_stream_tool_calls": lambda: stream_tool_calls(ChatParams(tools=[add])),
        "chat_stream_named_tool": lambda: stream_tool_calls(
            ChatParams(
                tools=[add, Function("noop")], tool_choice=NamedToolChoice("add"), parallel_tool_calls=False
            )
        ),
        "chat_stream_agent": agent,
        "chat_history": lambda: csi.chat("test-model", history, ChatParams(tools=[add])).message.content,
        "chat_structured": lambda: (
            csi.chat(
                "test-model",
                [Message.developer("answer in JSON"), user],
                ChatParams(
                    response_format=JsonSchema("answer", schema=answer_schema),
                    max_completion_tokens=50,
                ),
            ).message.content
        ),
        "chat_tool_calls_raw": lambda: raw_chat("tool-model", [user], ChatParams(tools=[add])),
        "chat_reasoning_raw": lambda: raw_chat("reasoning-model", [user], ChatParams()),
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("csi_version"):
        Client.HTTP_CSI_VERSION = spec["csi_version"]
    csi = DevCsi(namespace=spec["namespace"])
    spans = InMemorySpanExporter()
    DevCsi.set_span_exporter(spans)
    calls = _calls(csi, spec)
    calls.update(_calls_main(csi, spec) if spec.get("sdk") == "main" else _calls_0_20(csi, spec))
    results: dict[str, Any] = {name: _try(call) for name, call in calls.items()}
    results["spans"] = sorted({span.name for span in spans.get_finished_spans()})
    results["url"] = csi.client.url
    print(json.dumps(results))


if __name__ == "__main__":
    main()
