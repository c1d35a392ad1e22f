"""What every world's bindings share: the run context, the host-function wrapper, WIT value helpers,
and the interfaces that are identical from 0.3 to 0.5 (chunking, document-index, language, tool).

A linker must be complete before its first instantiation, so one linker per engine defines every
CSI function of every world; each call finds its run through a thread-local (a run executes on one
thread, and wasm calls back into the host on that same thread). Conversions between wasmtime
component values (``Record`` with WIT field names, ``Variant``) and ``runtime.csi.types`` live in
the world modules; this module holds the ones the worlds have in common.

Host functions never let a Python exception escape to wasmtime: wasmtime-py keeps the last
exception in a process-global, which is unsafe with concurrent runs. They record the error on
the run and raise ``WasmtimeError``, which traps the guest; the runtime then reports the
recorded error as ``csi_error`` with its message (or ``output_too_large`` for ``OutputTooLarge``,
which the message-stream sink raises once a run passes its stream limits).

wasmtime-py lowers a variant *untagged* when its cases have distinguishable Python types (a
``Record``, a ``str``, ``bytes``/``None``) and as a tagged :class:`wasmtime.component.Variant`
otherwise; :func:`case` reads both.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from wasmtime import component as wc

from runtime.csi import Csi
from runtime.csi import types as t
from runtime.limits import OutputTooLarge

PACKAGE = "pharia:skill"

_current = threading.local()
_reps = itertools.count(1)


def new_rep() -> int:
    """A fresh 32-bit representation for a host-owned resource handle."""
    return next(_reps) & 0xFFFFFFFF


@dataclass
class RunContext:
    """Per-run host state: the CSI, open inference streams and the message-stream sink."""

    csi: Csi
    on_item: Callable[[dict[str, Any]], None] | None = None
    csi_error: BaseException | None = None
    limit_error: OutputTooLarge | None = None  # the run passed an output limit: stop the skill
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


def host(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a host function: give it the run context, turn failures into a recorded trap."""

    def call(store: Any, *args: Any) -> Any:
        context = _context()
        context.store = store
        try:
            return fn(context, *args)
        except wasmtime.WasmtimeError:
            raise
        except OutputTooLarge as error:  # reported as output_too_large, not as a CSI failure
            context.limit_error = error
            raise wasmtime.WasmtimeError(str(error)) from None
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


def get(value: Any, name: str, default: Any = None) -> Any:
    return getattr(value, name.replace("_", "-"), default)


def case(value: Any) -> tuple[str | None, Any]:
    """(tag, payload) of a tagged variant; (None, value) of an untagged one."""
    if isinstance(value, wc.Variant):
        return value.tag, value.payload
    return None, value


# -- value conversions shared by the worlds -----------------------------------------------------


def logprobs_from(value: wc.Variant) -> t.Logprobs:
    return t.Logprobs(kind=value.tag, top=value.payload or 0)  # type: ignore[arg-type]


def logprob(value: t.Logprob) -> wc.Record:
    return record(token=bytes(value.token), logprob=float(value.logprob))


def distributions(values: list[t.Distribution]) -> list[wc.Record]:
    return [record(sampled=logprob(d.sampled), top=[logprob(p) for p in d.top]) for d in values]


def usage(value: t.TokenUsage) -> wc.Record:
    return record(prompt=value.prompt, completion=value.completion)


def finish_reason_before_0_4(value: t.FinishReason) -> str:
    """0.2 and 0.3 have no ``tool-calls`` finish reason: a model that called tools "stopped"."""
    reason = t.FinishReason(value)
    return "stop" if reason is t.FinishReason.TOOL_CALLS else reason.value


def completion(value: t.Completion, finish_reason: Callable[[t.FinishReason], str]) -> wc.Record:
    return record(
        text=value.text,
        finish_reason=finish_reason(value.finish_reason),
        logprobs=distributions(value.logprobs),
        usage=usage(value.usage),
    )


def complete(
    context: RunContext, requests: list[Any], finish_reason: Callable[[t.FinishReason], str]
) -> list[wc.Record]:
    """``complete``, batched from 0.3 on: the worlds differ only in the finish reasons they know."""
    completions = context.csi.complete([completion_request(r) for r in requests])
    return [completion(value, finish_reason) for value in completions]


def chat_responses(
    responses: list[t.ChatResponse],
    message: Callable[[t.Message], wc.Record],
    finish_reason: Callable[[t.FinishReason], str],
) -> list[wc.Record]:
    """chat-response records from 0.3 on; ``message`` writes the world's own message record."""
    return [
        record(
            message=message(r.message),
            finish_reason=finish_reason(r.finish_reason),
            logprobs=distributions(r.logprobs),
            usage=usage(r.usage),
        )
        for r in responses
    ]


def completion_event(
    event: t.CompletionEvent | None, finish_reason: Callable[[t.FinishReason], str]
) -> wc.Variant | None:
    """completion-event, the same from 0.3.6 to 0.5 but for the finish reasons a world knows."""
    if event is None:
        return None
    if event.kind == "append":
        append = event.value
        assert isinstance(append, t.CompletionAppend)
        return wc.Variant("append", record(text=append.text, logprobs=distributions(append.logprobs)))
    if event.kind == "end":
        return wc.Variant("end", finish_reason(event.value))  # type: ignore[arg-type]
    return wc.Variant("usage", usage(event.value))  # type: ignore[arg-type]


def completion_params(value: Any) -> t.CompletionParams:
    """completion-params of any world; fields an older world lacks take their defaults."""
    return t.CompletionParams(
        max_tokens=get(value, "max_tokens"),
        temperature=value.temperature,
        top_k=get(value, "top_k"),
        top_p=get(value, "top_p"),
        stop=list(value.stop),
        return_special_tokens=get(value, "return_special_tokens", False),
        frequency_penalty=get(value, "frequency_penalty"),
        presence_penalty=get(value, "presence_penalty"),
        logprobs=logprobs_from(value.logprobs) if hasattr(value, "logprobs") else t.Logprobs(),
        echo=get(value, "echo", False),
    )


def completion_request(value: Any) -> t.CompletionRequest:
    return t.CompletionRequest(model=value.model, prompt=value.prompt, params=completion_params(value.params))


def document_path(value: Any) -> t.DocumentPath:
    return t.DocumentPath(namespace=value.namespace, collection=value.collection, name=value.name)


def path_record(value: t.DocumentPath) -> wc.Record:
    return record(namespace=value.namespace, collection=value.collection, name=value.name)


def index_path(value: Any) -> t.IndexPath:
    return t.IndexPath(namespace=value.namespace, collection=value.collection, index=value.index)


def document_record(document: t.Document) -> wc.Record:
    return record(
        path=path_record(document.path),
        contents=[text if kind == "text" else None for kind, text in document.contents],
        metadata=document.metadata,
    )


# -- inference streams --------------------------------------------------------------------------


def open_stream(context: RunContext, stream: Iterator[Any], kind: int) -> wc.ResourceHost:
    rep = new_rep()
    context.streams[rep] = iter(stream)
    return wc.ResourceHost.own(rep, kind)


def release(context: RunContext, handle: Any) -> int:
    """The rep of a borrowed handle. Converting it to a host handle also ends the borrow, which
    wasmtime requires before the host call returns."""
    if isinstance(handle, wc.ResourceAny):
        return handle.to_host(context.store).rep
    return handle.rep


def next_event(context: RunContext, handle: Any) -> Any:
    rep = release(context, handle)
    stream = context.streams.get(rep)
    if stream is None:
        raise t.CsiError("inference stream is closed")
    return next(stream, None)


def drop_stream(store: Any, rep: int) -> None:
    context = getattr(_current, "context", None)
    if context is not None:
        stream = context.streams.pop(rep, None)
        close = getattr(stream, "close", None)
        if close:
            close()


def ignore_drop(store: Any, rep: int) -> None:
    return None


# -- language and chunking (0.3 to 0.5) -------------------------------------------------------------


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


# -- document index (0.3 to 0.5) ----------------------------------------------------------------------

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


def _search(context: RunContext, requests: list[Any]) -> list[list[wc.Record]]:
    results = context.csi.search(
        [
            t.SearchRequest(
                index_path=index_path(get(r, "index_path")),
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
                document_path=path_record(result.document_path),
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
    return [document_record(d) for d in context.csi.documents([document_path(p) for p in paths])]


def _document_metadata(context: RunContext, paths: list[Any]) -> list[bytes | None]:
    return context.csi.document_metadata([document_path(p) for p in paths])


# -- tools (0.3.11 to 0.5) ----------------------------------------------------------------------------


def tool_event(context: RunContext, phase: str, name: str, message: str | None = None) -> None:
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
        tool_event(context, "begin", call.tool_name)
    try:
        results = context.csi.invoke_tool(calls)
    except BaseException as error:
        for call in calls:
            tool_event(context, "end", call.tool_name, str(error) or type(error).__name__)
        raise
    for call, result in zip(calls, results, strict=True):
        failure = result.message if isinstance(result, t.ToolFailure) else None
        tool_event(context, "end", call.tool_name, failure)
    # result<list<modality>, string> lowers untagged: a list is ok, a str is the error.
    return [list(r.texts) if isinstance(r, t.ToolOutput) else r.message for r in results]


def _list_tools(context: RunContext) -> list[wc.Record]:
    return [
        record(name=tool.name, description=tool.description, input_schema=bytes(tool.input_schema))
        for tool in context.csi.list_tools()
    ]


# -- linking ------------------------------------------------------------------------------------------


def add_shared_interfaces(root: Any, version: str) -> None:
    """chunking, document-index, language and tool: the same WIT from 0.3.x to 0.5.0."""
    with root.add_instance(f"{PACKAGE}/language@{version}") as instance:
        instance.add_func("select-language", host(_select_language))
    with root.add_instance(f"{PACKAGE}/chunking@{version}") as instance:
        instance.add_func("chunk", host(_chunk))
        instance.add_func("chunk-with-offsets", host(_chunk_with_offsets))
    with root.add_instance(f"{PACKAGE}/document-index@{version}") as instance:
        instance.add_func("search", host(_search))
        instance.add_func("documents", host(_documents))
        instance.add_func("document-metadata", host(_document_metadata))
    with root.add_instance(f"{PACKAGE}/tool@{version}") as instance:
        instance.add_func("invoke-tool", host(_invoke_tool))
        instance.add_func("list-tools", host(_list_tools))
