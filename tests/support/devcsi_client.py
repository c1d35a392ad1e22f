"""Call every CSI function through the official SDK's ``DevCsi``; print the results as JSON.

Runs under the SDK's own Python (``skills.builder.sdk_python()``: the SDK pins a pydantic the kernel's
venv does not have), with ``PHARIA_KERNEL_ADDRESS`` and ``PHARIA_AI_TOKEN`` set::

    python devcsi_client.py '{"namespace": "test", "model": "test-model", ...}'

Each call is reported as ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": "..."}`` so a
test sees every function's outcome from one subprocess. Spans go to an in-memory exporter (instead of
an OTLP collector that is not running); their names are reported under ``"spans"``.
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


def main() -> None:
    spec = json.loads(sys.argv[1])
    model, namespace = spec["model"], spec["namespace"]
    csi = DevCsi(namespace=namespace)
    spans = InMemorySpanExporter()
    DevCsi.set_span_exporter(spans)
    doc = DocumentPath(*spec["document"])
    index = IndexPath(*spec["index"])
    top = CompletionParams(max_tokens=2, logprobs=TopLogprobs(2), echo=True)
    results = {
        "complete": _try(lambda: csi.complete(model, "hello world", CompletionParams(max_tokens=8))),
        "complete_logprobs": _try(lambda: csi.complete(model, "hello world", top)),
        "complete_length": _try(
            lambda: csi.complete(model, "one two three four", CompletionParams(max_tokens=2))
        ),
        "complete_concurrent": _try(
            lambda: [c.text for c in csi.complete_concurrent([_request(model, f"n{i}") for i in range(3)])]
        ),
        "complete_unknown_model": _try(lambda: csi.complete("no-such-model", "x", CompletionParams())),
        "complete_rate_limited": _try(lambda: csi.complete("ratelimited-model", "x", CompletionParams())),
        "complete_broken": _try(lambda: csi.complete("broken-model", "x", CompletionParams())),
        "completion_stream": _try(lambda: _completion_stream(csi, model, "streamed words here")),
        "completion_stream_unknown_model": _try(lambda: _completion_stream(csi, "no-such-model", "x")),
        "chat": _try(
            lambda: csi.chat(
                model, [Message.system("be brief"), Message.user("hi there")], ChatParams(max_tokens=8)
            )
        ),
        "chat_logprobs": _try(
            lambda: csi.chat(model, [Message.user("hi")], ChatParams(logprobs=TopLogprobs(1)))
        ),
        "chat_tool_model": _try(lambda: csi.chat("tool-model", [Message.user("add 1 and 2")], ChatParams())),
        "chat_stream": _try(lambda: _chat_stream(csi, model, "one two three four five")),
        "explain": _try(lambda: csi.explain("prompt", "target", model)),
        "chunk": _try(
            lambda: csi.chunk("A first sentence. " * 20, ChunkParams(spec["chunk_model"], max_tokens=10))
        ),
        "chunk_unknown_model": _try(lambda: csi.chunk("text", ChunkParams("no-such-model", max_tokens=10))),
        "select_language": _try(
            lambda: csi.select_language(
                "Dies ist ein deutscher Satz über das Wetter.", [Language.English, Language.German]
            )
        ),
        "select_language_none": _try(lambda: csi.select_language("", [Language.English])),
        "search": _try(lambda: csi.search(index, "kernel skills", max_results=5)),
        "search_filtered": _try(
            lambda: csi.search(
                index, "kernel", max_results=5, filters=[With([MetadataFilter("lang", EqualTo("en"))])]
            )
        ),
        "documents": _try(lambda: csi.documents([doc])),
        "document_metadata": _try(lambda: csi.document_metadata(doc)),
        "document_missing": _try(
            lambda: csi.document(DocumentPath(doc.namespace, doc.collection, "missing"))
        ),
        "list_tools": _try(lambda: sorted(tool.name for tool in csi.list_tools())),
        "list_tools_schema": _try(lambda: [t.input_schema for t in csi.list_tools() if t.name == "add"]),
        "invoke_tool": _try(lambda: csi.invoke_tool("add", a=1, b=2).contents),
        "invoke_tool_mcp": _try(lambda: csi.invoke_tool("multiply", a=6, b=7).contents),
        "invoke_tool_saboteur": _try(lambda: csi.invoke_tool("saboteur")),
        "invoke_tool_unknown": _try(lambda: csi.invoke_tool("no-such-tool")),
        "invoke_tool_other_namespace": _try(
            lambda: DevCsi(namespace=spec["forbidden_namespace"]).invoke_tool("add", a=1, b=2)
        ),
    }
    results["spans"] = sorted({span.name for span in spans.get_finished_spans()})
    print(json.dumps(results))


def _request(model: str, prompt: str) -> Any:
    from pharia_skill import CompletionRequest

    return CompletionRequest(model, prompt, CompletionParams(max_tokens=4))


if __name__ == "__main__":
    main()
