"""The host side of ``pharia:skill@0.3.x``: a component linker whose functions call the run's CSI.

A linker must be complete before its first instantiation, so one linker per engine defines every
CSI function; each call finds its run through a thread-local (a run executes on one thread, and
wasm calls back into the host on that same thread). Conversions between wasmtime component
values (``Record`` with WIT field names, ``Variant``) and ``runtime.csi.types`` live here.

Host functions never let a Python exception escape to wasmtime: wasmtime-py keeps the last
exception in a process-global, which is unsafe with concurrent runs. They record the error on
the run and raise ``WasmtimeError``, which traps the guest; the runtime then reports the
recorded error as ``csi_error`` with its message.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from wasmtime import component as wc

from runtime.csi import Csi
from runtime.csi import types as t

WIT_VERSION = "0.3.11"
PACKAGE = "pharia:skill"

# Resource type ids for host resources.
COMPLETION_STREAM, CHAT_STREAM, STREAM_OUTPUT = 1, 2, 3

_current = threading.local()
_reps = itertools.count(1)


@dataclass
class RunContext:
    """Per-run host state: the CSI, open inference streams and the message-stream sink."""

    csi: Csi
    on_item: Callable[[dict[str, Any]], None] | None = None
    csi_error: BaseException | None = None
    store: Any = None
    streams: dict[int, Iterator[Any]] = field(default_factory=dict)

    def close_streams(self) -> None:
        for stream in self.streams.values():
            close = getattr(stream, "close", None)
            if close:
                close()
        self.streams.clear()


class bind:
    """Context manager making ``context`` the current run of this thread."""

    def __init__(self, context: RunContext) -> None:
        self.context = context

    def __enter__(self) -> RunContext:
        _current.context = self.context
        return self.context

    def __exit__(self, *exc: object) -> None:
        self.context.close_streams()
        _current.context = None


def _context() -> RunContext:
    context = getattr(_current, "context", None)
    if context is None:
        raise wasmtime.WasmtimeError("CSI called outside of a run")
    return context


def _host(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a host function: give it the run context, turn failures into a recorded trap."""

    def call(store: Any, *args: Any) -> Any:
        context = _context()
        context.store = store
        try:
            return fn(context, *args)
        except wasmtime.WasmtimeError:
            raise
        except BaseException as error:  # noqa: BLE001 - recorded, then reported as csi_error
            context.csi_error = error
            raise wasmtime.WasmtimeError(str(error)) from None

    return call


def record(**fields: Any) -> wc.Record:
    """A component record; keyword names use ``_`` where the WIT uses ``-``."""
    value = wc.Record()
    for name, item in fields.items():
        setattr(value, name.replace("_", "-"), item)
    return value


def get(value: Any, name: str) -> Any:
    return getattr(value, name.replace("_", "-"))


# -- language and chunking ---------------------------------------------------------------------


def _select_language(context: RunContext, requests: list[Any]) -> list[str | None]:
    return context.csi.select_language(
        [t.SelectLanguageRequest(text=r.text, languages=list(r.languages)) for r in requests]
    )


def _chunk_params(value: Any) -> t.ChunkParams:
    return t.ChunkParams(model=value.model, max_tokens=get(value, "max_tokens"), overlap=value.overlap)


def _chunk(context: RunContext, requests: list[Any]) -> list[list[str]]:
    chunks = context.csi.chunk([t.ChunkRequest(r.text, _chunk_params(r.params)) for r in requests])
    return [[c.text for c in per_request] for per_request in chunks]


def _chunk_with_offsets(context: RunContext, requests: list[Any]) -> list[list[wc.Record]]:
    chunks = context.csi.chunk(
        [t.ChunkRequest(r.text, _chunk_params(r.params), get(r, "character_offsets")) for r in requests]
    )
    return [
        [record(text=c.text, byte_offset=c.byte_offset, character_offset=c.character_offset) for c in per]
        for per in chunks
    ]


# -- inference ---------------------------------------------------------------------------------


def _logprobs_from(value: wc.Variant) -> t.Logprobs:
    return t.Logprobs(kind=value.tag, top=value.payload or 0)


def _completion_params(value: Any) -> t.CompletionParams:
    return t.CompletionParams(
        max_tokens=get(value, "max_tokens"),
        temperature=value.temperature,
        top_k=get(value, "top_k"),
        top_p=get(value, "top_p"),
        stop=list(value.stop),
        return_special_tokens=get(value, "return_special_tokens"),
        frequency_penalty=get(value, "frequency_penalty"),
        presence_penalty=get(value, "presence_penalty"),
        logprobs=_logprobs_from(value.logprobs),
        echo=getattr(value, "echo", False),
    )


def _completion_request(value: Any) -> t.CompletionRequest:
    return t.CompletionRequest(
        model=value.model, prompt=value.prompt, params=_completion_params(value.params)
    )


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
            logprobs=_logprobs_from(params.logprobs),
        ),
    )


def _logprob(value: t.Logprob) -> wc.Record:
    return record(token=bytes(value.token), logprob=float(value.logprob))


def _distributions(values: list[t.Distribution]) -> list[wc.Record]:
    return [record(sampled=_logprob(d.sampled), top=[_logprob(p) for p in d.top]) for d in values]


def _usage(value: t.TokenUsage) -> wc.Record:
    return record(prompt=value.prompt, completion=value.completion)


def _finish_reason(value: t.FinishReason) -> str:
    return t.FinishReason(value).value


def _completion(value: t.Completion) -> wc.Record:
    return record(
        text=value.text,
        finish_reason=_finish_reason(value.finish_reason),
        logprobs=_distributions(value.logprobs),
        usage=_usage(value.usage),
    )


def _complete(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    return [_completion(c) for c in context.csi.complete([_completion_request(r) for r in requests])]


def _chat(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    responses = context.csi.chat([_chat_request(r) for r in requests])
    return [
        record(
            message=record(role=r.message.role, content=r.message.content),
            finish_reason=_finish_reason(r.finish_reason),
            logprobs=_distributions(r.logprobs),
            usage=_usage(r.usage),
        )
        for r in responses
    ]


def _open_stream(context: RunContext, stream: Iterator[Any], kind: int) -> wc.ResourceHost:
    rep = next(_reps) & 0xFFFFFFFF
    context.streams[rep] = iter(stream)
    return wc.ResourceHost.own(rep, kind)


def _release(context: RunContext, handle: Any) -> int:
    """The rep of a borrowed handle. Converting it to a host handle also ends the borrow, which
    wasmtime requires before the host call returns."""
    if isinstance(handle, wc.ResourceAny):
        return handle.to_host(context.store).rep
    return handle.rep


def _next_event(context: RunContext, handle: Any) -> Any:
    rep = _release(context, handle)
    stream = context.streams.get(rep)
    if stream is None:
        raise t.CsiError("inference stream is closed")
    return next(stream, None)


def _completion_event(event: t.CompletionEvent | None) -> wc.Variant | None:
    if event is None:
        return None
    if event.kind == "append":
        append = event.value
        return wc.Variant("append", record(text=append.text, logprobs=_distributions(append.logprobs)))
    if event.kind == "end":
        return wc.Variant("end", _finish_reason(event.value))
    return wc.Variant("usage", _usage(event.value))


def _chat_event(event: t.ChatEvent | None) -> wc.Variant | None:
    if event is None:
        return None
    if event.kind == "message-begin":
        return wc.Variant("message-begin", event.value)
    if event.kind == "message-append":
        append = event.value
        return wc.Variant(
            "message-append", record(content=append.content, logprobs=_distributions(append.logprobs))
        )
    if event.kind == "message-end":
        return wc.Variant("message-end", _finish_reason(event.value))
    return wc.Variant("usage", _usage(event.value))


def _explain(context: RunContext, requests: list[Any]) -> list[list[wc.Record]]:
    scores = context.csi.explain(
        [t.ExplanationRequest(r.prompt, r.target, r.model, r.granularity) for r in requests]
    )
    return [[record(start=s.start, length=s.length, score=s.score) for s in per] for per in scores]


# -- document index ----------------------------------------------------------------------------

_FILTER_KEYS = {"without": "without", "with-one-of": "with_one_of", "with-all": "with"}


def _filter(value: wc.Variant) -> dict[str, Any]:
    conditions = []
    for condition in value.payload:
        kind = condition.condition
        name = kind.tag.replace("-", "_")
        conditions.append(
            {"metadata": {"field": condition.field, name: True if name == "is_null" else kind.payload}}
        )
    return {_FILTER_KEYS[value.tag]: conditions}


def _index_path(value: Any) -> t.IndexPath:
    return t.IndexPath(namespace=value.namespace, collection=value.collection, index=value.index)


def _document_path(value: Any) -> t.DocumentPath:
    return t.DocumentPath(namespace=value.namespace, collection=value.collection, name=value.name)


def _path_record(value: t.DocumentPath) -> wc.Record:
    return record(namespace=value.namespace, collection=value.collection, name=value.name)


def _search(context: RunContext, requests: list[Any]) -> list[list[wc.Record]]:
    results = context.csi.search(
        [
            t.SearchRequest(
                index_path=_index_path(get(r, "index_path")),
                query=r.query,
                max_results=get(r, "max_results"),
                min_score=get(r, "min_score"),
                filters=[_filter(f) for f in r.filters],
            )
            for r in requests
        ]
    )
    return [
        [
            record(
                document_path=_path_record(result.document_path),
                content=result.content,
                score=float(result.score),
                start=record(item=result.start.item, position=result.start.position),
                end=record(item=result.end.item, position=result.end.position),
            )
            for result in per
        ]
        for per in results
    ]


def _documents(context: RunContext, paths: list[Any]) -> list[wc.Record]:
    documents = context.csi.documents([_document_path(p) for p in paths])
    return [
        record(
            path=_path_record(d.path),
            contents=[text if kind == "text" else None for kind, text in d.contents],
            metadata=d.metadata,
        )
        for d in documents
    ]


def _document_metadata(context: RunContext, paths: list[Any]) -> list[bytes | None]:
    return context.csi.document_metadata([_document_path(p) for p in paths])


# -- tools -------------------------------------------------------------------------------------


def _tool_event(context: RunContext, phase: str, name: str, message: str | None = None) -> None:
    """Tell a message stream about a tool call: ``begin``, then ``end`` (with ``message`` on failure)."""
    if context.on_item is not None:
        item = {"type": "tool", "phase": phase, "name": name}
        context.on_item(item if message is None else item | {"message": message})


def _invoke_tool(context: RunContext, requests: list[Any]) -> list[Any]:
    calls = [
        t.InvokeRequest(
            tool_name=get(r, "tool_name"),
            arguments=[t.Argument(a.name, bytes(a.value)) for a in r.arguments],
        )
        for r in requests
    ]
    for call in calls:
        _tool_event(context, "begin", call.tool_name)
    try:
        results = context.csi.invoke_tool(calls)
    except BaseException as error:
        for call in calls:
            _tool_event(context, "end", call.tool_name, str(error) or type(error).__name__)
        raise
    for call, result in zip(calls, results, strict=True):
        failure = result.message if isinstance(result, t.ToolFailure) else None
        _tool_event(context, "end", call.tool_name, failure)
    # result<list<modality>, string> lowers untagged: a list is ok, a str is the error.
    return [list(r.texts) if isinstance(r, t.ToolOutput) else r.message for r in results]


def _list_tools(context: RunContext) -> list[wc.Record]:
    return [
        record(name=tool.name, description=tool.description, input_schema=bytes(tool.input_schema))
        for tool in context.csi.list_tools()
    ]


# -- message stream output ---------------------------------------------------------------------


def _write_item(context: RunContext, handle: Any, item: Any) -> None:
    """message-item lowers untagged: a Record begins, a str appends, bytes/None ends."""
    _release(context, handle)
    if context.on_item is None:
        raise t.CsiError("this run has no stream output")
    if isinstance(item, wc.Record):
        context.on_item({"type": "begin", "role": getattr(item, "role", None)})
    elif isinstance(item, str):
        context.on_item({"type": "append", "text": item})
    else:
        payload = json.loads(item) if item else None
        context.on_item({"type": "end", "payload": payload})


def _drop_stream(store: Any, rep: int) -> None:
    context = getattr(_current, "context", None)
    if context is not None:
        stream = context.streams.pop(rep, None)
        close = getattr(stream, "close", None)
        if close:
            close()


def _ignore_drop(store: Any, rep: int) -> None:
    return None


def build_linker(engine: wasmtime.Engine) -> wc.Linker:
    """A linker providing WASI (no files, no network: nothing is preopened) and every CSI function."""
    linker = wc.Linker(engine)
    linker.add_wasip2()
    v = WIT_VERSION
    with linker.root() as root:
        with root.add_instance(f"{PACKAGE}/language@{v}") as instance:
            instance.add_func("select-language", _host(_select_language))
        with root.add_instance(f"{PACKAGE}/chunking@{v}") as instance:
            instance.add_func("chunk", _host(_chunk))
            instance.add_func("chunk-with-offsets", _host(_chunk_with_offsets))
        with root.add_instance(f"{PACKAGE}/inference@{v}") as instance:
            instance.add_resource("completion-stream", wc.ResourceType.host(COMPLETION_STREAM), _drop_stream)
            instance.add_resource("chat-stream", wc.ResourceType.host(CHAT_STREAM), _drop_stream)
            instance.add_func("complete", _host(_complete))
            instance.add_func("complete-v2", _host(_complete))
            instance.add_func("chat", _host(_chat))
            instance.add_func("explain", _host(_explain))
            instance.add_func(
                "[constructor]completion-stream",
                _host(
                    lambda c, r: _open_stream(
                        c, c.csi.completion_stream(_completion_request(r)), COMPLETION_STREAM
                    )
                ),
            )
            instance.add_func(
                "[method]completion-stream.next", _host(lambda c, h: _completion_event(_next_event(c, h)))
            )
            instance.add_func(
                "[constructor]chat-stream",
                _host(lambda c, r: _open_stream(c, c.csi.chat_stream(_chat_request(r)), CHAT_STREAM)),
            )
            instance.add_func("[method]chat-stream.next", _host(lambda c, h: _chat_event(_next_event(c, h))))
        with root.add_instance(f"{PACKAGE}/document-index@{v}") as instance:
            instance.add_func("search", _host(_search))
            instance.add_func("documents", _host(_documents))
            instance.add_func("document-metadata", _host(_document_metadata))
        with root.add_instance(f"{PACKAGE}/tool@{v}") as instance:
            instance.add_func("invoke-tool", _host(_invoke_tool))
            instance.add_func("list-tools", _host(_list_tools))
        with root.add_instance(f"{PACKAGE}/streaming-output@{v}") as instance:
            instance.add_resource("stream-output", wc.ResourceType.host(STREAM_OUTPUT), _ignore_drop)
            instance.add_func("[method]stream-output.write", _host(_write_item))
    return linker
