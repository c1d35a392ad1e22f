"""``POST /csi/v2/{function}``: PhariaEngine's ``src/csi_shell/v2.rs`` (the ``pharia:skill@0.4`` shapes).

The current SDK source's ``DevCsi`` speaks it when ``Client.HTTP_CSI_VERSION = "v2"``. Requests are
those of v1. Answers differ in chat only:

* ``chat``: the message is ``{role, content, reasoning_content, tool_call_id, tool_calls}``;
  ``content`` is ``null`` when the model only called tools, ``tool_calls`` is ``null`` when it
  called none, and each call's ``arguments`` is the model's JSON text;
* ``chat_stream``: ``message_begin`` ``{role}``, ``reasoning`` ``{content}``, ``message_append``
  ``{content}`` (no logprobs), ``tool_call`` ``{tool_calls: [{index, id, name, arguments}]}``,
  ``message_end`` ``{finish_reason}`` (``tool_calls`` among them), ``usage`` ``{usage}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runtime.csi import types as t
from skills.csi_shell import conversions as c
from skills.csi_shell import v1
from skills.csi_shell.shell import Handler, batch, event_stream, kernel_csi


def chat_response(value: t.ChatResponse) -> dict[str, Any]:
    message = value.message
    return {
        "message": {
            "role": "assistant",
            "content": message.content,
            "reasoning_content": message.reasoning_content,
            "tool_call_id": None,
            "tool_calls": c.tool_calls(message.tool_calls),
        },
        "finish_reason": c.finish_reason(value.finish_reason),
        "logprobs": c.distributions(value.logprobs),
        "usage": c.usage(value.usage),
    }


def chat_event(event: t.ChatEvent) -> Iterable[tuple[str, Any]]:
    value: Any = event.value
    if event.kind == "message-begin":
        return [("message_begin", {"role": value})]
    if event.kind == "reasoning":
        return [("reasoning", {"content": value})]
    if event.kind == "message-append":
        return [("message_append", {"content": value.content})]
    if event.kind == "tool-call":
        return [("tool_call", c.tool_call_chunks(value))]
    if event.kind == "message-end":
        return [("message_end", {"finish_reason": c.finish_reason(value)})]
    return [("usage", {"usage": c.usage(value)})]


def chat(user: Any, body: Any) -> Any:
    return [chat_response(r) for r in kernel_csi().chat(batch(body, c.chat_request))]


def chat_stream(user: Any, body: Any) -> Any:
    request = c.chat_request(body, "")
    return event_stream(lambda: kernel_csi().chat_stream(request), chat_event)


FUNCTIONS: dict[str, Handler] = {**v1.FUNCTIONS, "chat": chat, "chat_stream": chat_stream}
