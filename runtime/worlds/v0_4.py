"""Host bindings of ``pharia:skill@0.4.0`` (the SDK's current source): worlds ``skill`` and
``message-stream-skill``.

What 0.4 changed against 0.3, all in ``inference`` and ``streaming-output``:

* chat messages are a variant: ``assistant`` (optional content, ``reasoning-content``,
  ``tool-calls``), ``tool`` (content, ``tool-call-id``) or ``other`` (role, content);
* chat params add ``max-completion-tokens``, ``tools`` (function: name, description, JSON-schema
  parameters, strict), ``tool-choice`` (none/auto/required/named), ``parallel-tool-calls``,
  ``response-format`` (text, json-object, json-schema) and ``reasoning-effort``;
* a chat response's message is an assistant message; finish reason ``tool-calls`` exists;
* chat-stream events add ``reasoning`` and ``tool-call`` (chunks); appends carry no logprobs;
* ``complete`` takes ``echo`` directly; ``complete-v2`` and ``explain`` are gone;
* the message-stream output gains a ``reasoning`` item.

0.5.0 has the same interfaces (``runtime.worlds.v0_5`` links them under its own version).
"""

from __future__ import annotations

import json
from typing import Any

from wasmtime import component as wc

from runtime.csi import types as t
from runtime.worlds import common as c
from runtime.worlds.common import RunContext, get, record

VERSION = "0.4.0"


class ResourceIds:
    """Host resource type ids of one linked version (0.4 and 0.5 each get their own)."""

    def __init__(self, base: int) -> None:
        self.completion_stream = base + 1
        self.chat_stream = base + 2
        self.stream_output = base + 3


RESOURCES = ResourceIds(400)


def finish_reason(value: t.FinishReason) -> str:
    return t.FinishReason(value).value


def _json(raw: Any, what: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(bytes(raw))
    except ValueError as error:
        raise t.InvalidCsiRequest(f"{what} is not valid JSON: {error}") from None


# -- guest -> host ---------------------------------------------------------------------------------


def _tool_call(value: Any) -> t.ToolCall:
    return t.ToolCall(id=value.id, name=value.name, arguments=value.arguments)


def _message(value: Any) -> t.Message:
    tag, payload = c.case(value)
    if tag == "assistant":
        calls = get(payload, "tool_calls")
        return t.Message(
            role="assistant",
            content=payload.content,
            reasoning_content=get(payload, "reasoning_content"),
            tool_calls=[_tool_call(call) for call in calls] if calls is not None else None,
        )
    if tag == "tool":
        return t.Message(role="tool", content=payload.content, tool_call_id=get(payload, "tool_call_id"))
    return t.Message(role=payload.role, content=payload.content)


def _function(value: Any) -> t.Function:
    return t.Function(
        name=value.name,
        description=value.description,
        parameters=_json(value.parameters, f"the parameters of tool '{value.name}'"),
        strict=value.strict,
    )


def _tool_choice(value: Any) -> t.ToolChoice | None:
    if value is None:
        return None
    tag, payload = c.case(value)
    if tag == "named":
        return t.ToolChoice("named", payload)
    return t.ToolChoice(tag)  # type: ignore[arg-type]


def _response_format(value: Any) -> t.ResponseFormat | None:
    if value is None:
        return None
    tag, payload = c.case(value)
    if tag == "json-schema":
        return t.ResponseFormat(
            "json-schema",
            name=payload.name,
            description=payload.description,
            schema=_json(payload.schema, f"the schema of response format '{payload.name}'"),
            strict=payload.strict,
        )
    return t.ResponseFormat(tag)  # type: ignore[arg-type]


def _chat_params(value: Any) -> t.ChatParams:
    tools = value.tools
    return t.ChatParams(
        max_tokens=get(value, "max_tokens"),
        max_completion_tokens=get(value, "max_completion_tokens"),
        temperature=value.temperature,
        top_p=get(value, "top_p"),
        frequency_penalty=get(value, "frequency_penalty"),
        presence_penalty=get(value, "presence_penalty"),
        logprobs=c.logprobs_from(value.logprobs),
        tools=[_function(f) for f in tools] if tools is not None else None,
        tool_choice=_tool_choice(get(value, "tool_choice")),
        parallel_tool_calls=get(value, "parallel_tool_calls"),
        response_format=_response_format(get(value, "response_format")),
        reasoning_effort=get(value, "reasoning_effort"),
    )


def _chat_request(value: Any) -> t.ChatRequest:
    return t.ChatRequest(
        model=value.model,
        messages=[_message(m) for m in value.messages],
        params=_chat_params(value.params),
    )


# -- host -> guest ---------------------------------------------------------------------------------


def _assistant_message(value: t.Message) -> wc.Record:
    calls = value.tool_calls
    return record(
        content=value.content,
        reasoning_content=value.reasoning_content,
        tool_calls=(
            [record(id=call.id, name=call.name, arguments=call.arguments) for call in calls]
            if calls
            else None
        ),
    )


def _complete(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    return c.complete(context, requests, finish_reason)


def _chat(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    return c.chat_responses(
        context.csi.chat([_chat_request(r) for r in requests]), _assistant_message, finish_reason
    )


def _tool_call_chunk(value: t.ToolCallChunk) -> wc.Record:
    return record(index=value.index, id=value.id, name=value.name, arguments=value.arguments)


def _chat_event(event: t.ChatEvent | None) -> wc.Variant | None:
    if event is None:
        return None
    kind, value = event.kind, event.value
    if kind in ("message-begin", "reasoning"):
        return wc.Variant(kind, value)
    if kind == "message-append":
        assert isinstance(value, t.MessageAppend)
        return wc.Variant("message-append", record(content=value.content))
    if kind == "tool-call":
        assert isinstance(value, list)
        return wc.Variant("tool-call", [_tool_call_chunk(chunk) for chunk in value])
    if kind == "message-end":
        return wc.Variant("message-end", finish_reason(value))  # type: ignore[arg-type]
    return wc.Variant("usage", c.usage(value))  # type: ignore[arg-type]


def _write_item(context: RunContext, handle: Any, item: Any) -> None:
    """message-item: begin, reasoning, append or end (tagged: reasoning and append are both str)."""
    c.release(context, handle)
    if context.on_item is None:
        raise t.CsiError("this run has no stream output")
    tag, value = c.case(item)
    if tag == "message-begin":
        context.on_item({"type": "begin", "role": getattr(value, "role", None)})
    elif tag == "reasoning":
        context.on_item({"type": "reasoning", "text": value})
    elif tag == "message-append":
        context.on_item({"type": "append", "text": value})
    else:
        context.on_item({"type": "end", "payload": json.loads(value) if value else None})


def add_to_linker(root: Any, version: str = VERSION, ids: ResourceIds = RESOURCES) -> None:
    """Link the 0.4 interfaces under ``version`` (0.5.0 reuses them with its own resource ids)."""
    c.add_shared_interfaces(root, version)
    with root.add_instance(f"{c.PACKAGE}/inference@{version}") as instance:
        instance.add_resource("completion-stream", wc.ResourceType.host(ids.completion_stream), c.drop_stream)
        instance.add_resource("chat-stream", wc.ResourceType.host(ids.chat_stream), c.drop_stream)
        instance.add_func("complete", c.host(_complete))
        instance.add_func("chat", c.host(_chat))
        instance.add_func(
            "[constructor]completion-stream",
            c.host(
                lambda ctx, r: c.open_stream(
                    ctx, ctx.csi.completion_stream(c.completion_request(r)), ids.completion_stream
                )
            ),
        )
        instance.add_func(
            "[method]completion-stream.next",
            c.host(lambda ctx, h: c.completion_event(c.next_event(ctx, h), finish_reason)),
        )
        instance.add_func(
            "[constructor]chat-stream",
            c.host(lambda ctx, r: c.open_stream(ctx, ctx.csi.chat_stream(_chat_request(r)), ids.chat_stream)),
        )
        instance.add_func(
            "[method]chat-stream.next", c.host(lambda ctx, h: _chat_event(c.next_event(ctx, h)))
        )
    with root.add_instance(f"{c.PACKAGE}/streaming-output@{version}") as instance:
        instance.add_resource("stream-output", wc.ResourceType.host(ids.stream_output), c.ignore_drop)
        instance.add_func("[method]stream-output.write", c.host(_write_item))
