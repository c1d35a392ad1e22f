"""``POST /csi/v1/{function}``: PhariaEngine's ``src/csi_shell/v1.rs``.

The SDK 0.20.0's ``DevCsi`` speaks it, and so does the current SDK source by default
(``Client.HTTP_CSI_VERSION = "v1"``), sending the ``pharia:skill@0.4`` chat shapes: messages with
tool calls, tools, tool choice, response format, reasoning effort. v1 answers chat as the 0.3 world
saw it plus tool calls: a response message is ``{role, content, tool_call_id, tool_calls}``, stream
events are ``message_begin``, ``message_append`` (content, logprobs), ``tool_call``, ``message_end``
and ``usage``; reasoning is not part of v1 (``/csi/v2`` has it).

A request that offers no tools is answered exactly as before tool calling existed, so the 0.20.0
SDK (whose messages require content and whose finish reasons lack ``tool_calls``) and the current
one (which cannot read a call's ``arguments`` as PhariaEngine sends them, a JSON string, in a
non-streamed answer) can parse every answer: a model that calls a tool anyway gives content ``""``,
no ``tool_calls`` and finish reason ``stop``, and its ``tool_call`` stream events are left out. This
is how the 0.3 world sees such a response too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from runtime.csi import types as t
from skills.csi_shell import conversions as c
from skills.csi_shell.shell import Handler, batch, event_stream, kernel_csi, namespace_csi


def offers_tools(request: t.ChatRequest) -> bool:
    return bool(request.params.tools)


def _finish(value: t.FinishReason, tools: bool) -> str:
    if not tools and value is t.FinishReason.TOOL_CALLS:
        return "stop"
    return c.finish_reason(value)


def chat_response(value: t.ChatResponse, request: t.ChatRequest) -> dict[str, Any]:
    tools = offers_tools(request)
    content = value.message.content
    return {
        "message": {
            "role": "assistant",
            "content": content if content is not None or tools else "",
            "tool_call_id": None,
            "tool_calls": c.tool_calls(value.message.tool_calls) if tools else None,
        },
        "finish_reason": _finish(value.finish_reason, tools),
        "logprobs": c.distributions(value.logprobs),
        "usage": c.usage(value.usage),
    }


def chat_events(request: t.ChatRequest) -> Callable[[t.ChatEvent], Iterable[tuple[str, Any]]]:
    tools = offers_tools(request)

    def render(event: t.ChatEvent) -> Iterable[tuple[str, Any]]:
        value: Any = event.value
        if event.kind == "message-begin":
            return [("message_begin", {"role": value})]
        if event.kind == "message-append":
            data = {"content": value.content, "logprobs": c.distributions(value.logprobs)}
            return [("message_append", data)]
        if event.kind == "tool-call":
            return [("tool_call", c.tool_call_chunks(value))] if tools else []
        if event.kind == "message-end":
            return [("message_end", {"finish_reason": _finish(value, tools)})]
        if event.kind == "usage":
            return [("usage", {"usage": c.usage(value)})]
        return []  # reasoning: v2 only

    return render


def complete(user: Any, body: Any) -> Any:
    return [c.completion(r) for r in kernel_csi().complete(batch(body, c.completion_request))]


def completion_stream(user: Any, body: Any) -> Any:
    request = c.completion_request(body, "")
    return event_stream(lambda: kernel_csi().completion_stream(request), lambda e: [c.completion_event(e)])


def chat(user: Any, body: Any) -> Any:
    requests = batch(body, c.chat_request)
    responses = kernel_csi().chat(requests)
    return [chat_response(r, q) for r, q in zip(responses, requests, strict=True)]


def chat_stream(user: Any, body: Any) -> Any:
    request = c.chat_request(body, "")
    return event_stream(lambda: kernel_csi().chat_stream(request), chat_events(request))


def explain(user: Any, body: Any) -> Any:
    explanations = kernel_csi().explain(batch(body, c.explanation_request))
    return [[c.text_score(s) for s in per] for per in explanations]


def chunk(user: Any, body: Any) -> Any:
    return [[piece.text for piece in per] for per in kernel_csi().chunk(batch(body, c.chunk_request))]


def chunk_with_offsets(user: Any, body: Any) -> Any:
    requests = batch(body, lambda v, p: c.chunk_request(v, p, offsets=True))
    return [[c.chunk(piece) for piece in per] for per in kernel_csi().chunk(requests)]


def select_language(user: Any, body: Any) -> Any:
    return kernel_csi().select_language(batch(body, c.select_language_request))


def search(user: Any, body: Any) -> Any:
    return [[c.search_result(r) for r in per] for per in kernel_csi().search(batch(body, c.search_request))]


def documents(user: Any, body: Any) -> Any:
    return [c.document(d) for d in kernel_csi().documents(batch(body, c.document_path))]


def document_metadata(user: Any, body: Any) -> Any:
    return [c.metadata(m) for m in kernel_csi().document_metadata(batch(body, c.document_path))]


def invoke_tool(user: Any, body: Any) -> Any:
    """Tool failures are answers too: a 200 whose item is the failure message."""
    o = c.obj(body, "")
    csi = namespace_csi(user, c.string(o, "namespace", ""))
    if "requests" not in o:
        raise c.BadRequest("requests", "this field is required")
    requests = batch(o["requests"], c.invoke_request, "requests")
    return [c.tool_result(result) for result in csi.invoke_tool(requests)]


def list_tools(user: Any, body: Any) -> Any:
    """The namespace's tools, sorted by name as PhariaEngine lists them."""
    o = c.obj(body, "")
    return c.sorted_tools(namespace_csi(user, c.string(o, "namespace", "")).list_tools())


FUNCTIONS: dict[str, Handler] = {
    "complete": complete,
    "completion_stream": completion_stream,
    "chat": chat,
    "chat_stream": chat_stream,
    "explain": explain,
    "chunk": chunk,
    "chunk_with_offsets": chunk_with_offsets,
    "select_language": select_language,
    "search": search,
    "documents": documents,
    "document_metadata": document_metadata,
    "invoke_tool": invoke_tool,
    "list_tools": list_tools,
}
