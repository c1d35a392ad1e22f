"""Host bindings of ``pharia:skill@0.3.x`` (pharia-skill 0.x up to 0.20): worlds ``skill`` (with
``metadata``) and ``message-stream-skill`` (from 0.3.6).

Inference is batched (``complete``, ``chat``, ``explain``, ``complete-v2`` with ``echo`` from
0.3.8), with streams from 0.3.6; chat messages are ``{role, content}`` with no tools or reasoning,
so a model's tool calls and reasoning do not reach a 0.3 skill and finish reason ``tool-calls``
reads ``stop``. Stream items are begin, append and end: there is no reasoning item.
"""

from __future__ import annotations

import json
from typing import Any

from wasmtime import component as wc

from runtime.csi import types as t
from runtime.worlds import common as c
from runtime.worlds.common import RunContext, get, record

VERSION = "0.3.11"

# Host resource type ids, distinct per world version.
COMPLETION_STREAM, CHAT_STREAM, STREAM_OUTPUT = 301, 302, 303


finish_reason = c.finish_reason_before_0_4


def _chat_request(value: Any) -> t.ChatRequest:
    params = value.params
    return t.ChatRequest(
        model=value.model,
        messages=[t.Message(role=m.role, content=m.content) for m in value.messages],
        params=t.ChatParams(
            max_tokens=get(params, "max_tokens"),
            temperature=params.temperature,
            top_p=get(params, "top_p"),
            frequency_penalty=get(params, "frequency_penalty"),
            presence_penalty=get(params, "presence_penalty"),
            logprobs=c.logprobs_from(params.logprobs),
        ),
    )


def _complete(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    return c.complete(context, requests, finish_reason)


def _message(value: t.Message) -> wc.Record:
    """0.3 messages are ``{role, content}``: a content-less answer (tool calls only) reads ``""``."""
    return record(role=value.role or "assistant", content=value.content or "")


def _chat(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    return c.chat_responses(context.csi.chat([_chat_request(r) for r in requests]), _message, finish_reason)


def _explain(context: RunContext, requests: list[Any]) -> list[list[wc.Record]]:
    scores = context.csi.explain(
        [t.ExplanationRequest(r.prompt, r.target, r.model, r.granularity) for r in requests]
    )
    return [[record(start=s.start, length=s.length, score=s.score) for s in per] for per in scores]


def _next_chat_event(context: RunContext, handle: Any) -> wc.Variant | None:
    """The next event a 0.3 chat stream can carry; reasoning and tool-call chunks are skipped."""
    while True:
        event: t.ChatEvent | None = c.next_event(context, handle)
        if event is None:
            return None
        if event.kind == "message-begin":
            return wc.Variant("message-begin", event.value)
        if event.kind == "message-append":
            append = event.value
            assert isinstance(append, t.MessageAppend)
            return wc.Variant(
                "message-append", record(content=append.content, logprobs=c.distributions(append.logprobs))
            )
        if event.kind == "message-end":
            return wc.Variant("message-end", finish_reason(event.value))  # type: ignore[arg-type]
        if event.kind == "usage":
            return wc.Variant("usage", c.usage(event.value))  # type: ignore[arg-type]


def _write_item(context: RunContext, handle: Any, item: Any) -> None:
    """0.3's message-item lowers untagged: a Record begins, a str appends, bytes/None ends."""
    c.release(context, handle)
    if context.on_item is None:
        raise t.CsiError("this run has no stream output")
    tag, value = c.case(item)
    if tag == "message-begin" or isinstance(value, wc.Record):
        context.on_item({"type": "begin", "role": getattr(value, "role", None)})
    elif tag == "message-append" or isinstance(value, str):
        context.on_item({"type": "append", "text": value})
    else:
        context.on_item({"type": "end", "payload": json.loads(value) if value else None})


def add_to_linker(root: Any) -> None:
    v = VERSION
    c.add_shared_interfaces(root, v)
    with root.add_instance(f"{c.PACKAGE}/inference@{v}") as instance:
        instance.add_resource("completion-stream", wc.ResourceType.host(COMPLETION_STREAM), c.drop_stream)
        instance.add_resource("chat-stream", wc.ResourceType.host(CHAT_STREAM), c.drop_stream)
        instance.add_func("complete", c.host(_complete))
        instance.add_func("complete-v2", c.host(_complete))
        instance.add_func("chat", c.host(_chat))
        instance.add_func("explain", c.host(_explain))
        instance.add_func(
            "[constructor]completion-stream",
            c.host(
                lambda ctx, r: c.open_stream(
                    ctx, ctx.csi.completion_stream(c.completion_request(r)), COMPLETION_STREAM
                )
            ),
        )
        instance.add_func(
            "[method]completion-stream.next",
            c.host(lambda ctx, h: c.completion_event(c.next_event(ctx, h), finish_reason)),
        )
        instance.add_func(
            "[constructor]chat-stream",
            c.host(lambda ctx, r: c.open_stream(ctx, ctx.csi.chat_stream(_chat_request(r)), CHAT_STREAM)),
        )
        instance.add_func("[method]chat-stream.next", c.host(_next_chat_event))
    with root.add_instance(f"{c.PACKAGE}/streaming-output@{v}") as instance:
        instance.add_resource("stream-output", wc.ResourceType.host(STREAM_OUTPUT), c.ignore_drop)
        instance.add_func("[method]stream-output.write", c.host(_write_item))
