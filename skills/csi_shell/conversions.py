"""JSON of the CSI shell <-> the runtime's CSI types: the readers every shell version shares.

The shapes are PhariaEngine's (``src/csi_shell/v1.rs``, ``v2.rs``) and hence those the official SDK's
``pharia_skill/testing/dev/*.py`` serialises and parses, 0.20.0 and the current source alike: request
bodies are lists of requests (``completion_stream`` and ``chat_stream`` take one request;
``invoke_tool`` and ``list_tools`` an object carrying the ``namespace``), answers are lists in request
order. Chat requests carry the ``pharia:skill@0.4`` additions (messages with tool calls, tools,
tool choice, response format, reasoning effort); where the current SDK serialises them differently
from PhariaEngine (a named tool choice as ``{"name": ...}``, a JSON-schema response format without
its ``json_schema`` wrapper) both spellings are read. Every reader checks types and names the
offending field (``[0].params.max_tokens: ...``), so bad input is a 400 with a clear message rather
than a 500. The answers that differ between shell versions are written in ``v1``, ``v2`` and
``legacy``; the ones they share are at the end of this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from runtime.csi import types as t
from skills.services.errors import InvalidInput

T = TypeVar("T")

_MISSING = object()
_ROLES = ("user", "assistant", "system", "tool", "developer")
_TOOL_CHOICES = ("none", "auto", "required")
_REASONING_EFFORTS = ("minimal", "low", "medium", "high")
_GRANULARITIES = ("auto", "word", "sentence", "paragraph")
_FILTER_KINDS = ("with", "without", "with_one_of")
_CONDITIONS = (
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
    "after",
    "at_or_after",
    "before",
    "at_or_before",
    "equal_to",
    "is_null",
)


class BadRequest(InvalidInput):
    """A malformed CSI shell body; the message starts with the path of the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message, kind="invalid_request")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "an object"
    )


def _field(obj: dict[str, Any], key: str, path: str) -> tuple[Any, str]:
    return obj.get(key, _MISSING), f"{path}.{key}" if path else key


def obj(value: Any, path: str) -> dict[str, Any]:
    if value is _MISSING:
        raise BadRequest(path, "this field is required")
    if not isinstance(value, dict):
        raise BadRequest(path, f"expected an object, got {_type_name(value)}")
    return value


def items(value: Any, path: str, max_items: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(path, f"expected a list, got {_type_name(value)}")
    if max_items is not None and len(value) > max_items:
        raise BadRequest(path, f"at most {max_items} requests per call, got {len(value)}")
    return value


def each(value: Any, path: str, read: Callable[[Any, str], T], max_items: int | None = None) -> list[T]:
    return [read(item, f"{path}[{index}]") for index, item in enumerate(items(value, path, max_items))]


def string(o: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
    value, where = _field(o, key, path)
    if value is _MISSING:
        if default is _MISSING:
            raise BadRequest(where, "this field is required")
        return default
    if value is None and default is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(where, f"expected a string, got {_type_name(value)}")
    return value


def integer(o: dict[str, Any], key: str, path: str, default: Any = _MISSING, minimum: int = 0) -> Any:
    value, where = _field(o, key, path)
    if value is _MISSING:
        if default is _MISSING:
            raise BadRequest(where, "this field is required")
        return default
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(where, f"expected an integer, got {_type_name(value)}")
    if value < minimum:
        raise BadRequest(where, f"must be at least {minimum}, got {value}")
    if value > 2**32 - 1:
        raise BadRequest(where, f"must be at most {2**32 - 1}, got {value}")
    return value


def number(o: dict[str, Any], key: str, path: str) -> float | None:
    """An optional number (``null`` or missing: ``None``)."""
    value, where = _field(o, key, path)
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(where, f"expected a number, got {_type_name(value)}")
    return float(value)


def boolean(o: dict[str, Any], key: str, path: str, default: bool | None) -> Any:
    """A boolean; missing is ``default``, and ``null`` too when ``default`` is ``None``."""
    value, where = _field(o, key, path)
    if value is _MISSING or (value is None and default is None):
        return default
    if not isinstance(value, bool):
        raise BadRequest(where, f"expected a boolean, got {_type_name(value)}")
    return value


def strings(o: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> list[str]:
    value, where = _field(o, key, path)
    if value is _MISSING:
        if default is _MISSING:
            raise BadRequest(where, "this field is required")
        return list(default)
    values = items(value, where)
    for index, item in enumerate(values):
        if not isinstance(item, str):
            raise BadRequest(f"{where}[{index}]", f"expected a string, got {_type_name(item)}")
    return list(values)


# -- requests ---------------------------------------------------------------------------------


def _logprobs(o: dict[str, Any], path: str) -> t.Logprobs:
    value, where = _field(o, "logprobs", path)
    if value is _MISSING or value == "no":
        return t.Logprobs("no")
    if value == "sampled":
        return t.Logprobs("sampled")
    if isinstance(value, dict) and set(value) == {"top"}:
        top = integer(value, "top", where)
        if top > 20:
            raise BadRequest(f"{where}.top", f"must be at most 20, got {top}")
        return t.Logprobs("top", top)
    raise BadRequest(where, 'expected "no", "sampled" or {"top": n}')


def _params(value: Any, path: str) -> dict[str, Any]:
    return {} if value is _MISSING else obj(value, path)


def completion_request(value: Any, path: str) -> t.CompletionRequest:
    o = obj(value, path)
    where = f"{path}.params" if path else "params"
    p = _params(o.get("params", _MISSING), where)
    params = t.CompletionParams(
        max_tokens=integer(p, "max_tokens", where, None, minimum=1),
        temperature=number(p, "temperature", where),
        top_k=integer(p, "top_k", where, None),
        top_p=number(p, "top_p", where),
        stop=strings(p, "stop", where, []),
        return_special_tokens=boolean(p, "return_special_tokens", where, False),
        frequency_penalty=number(p, "frequency_penalty", where),
        presence_penalty=number(p, "presence_penalty", where),
        logprobs=_logprobs(p, where),
        echo=boolean(p, "echo", where, False),
    )
    return t.CompletionRequest(string(o, "model", path), string(o, "prompt", path), params)


def _tool_call(value: Any, path: str) -> t.ToolCall:
    """``{"id", "name", "arguments"}``; the arguments are the model's JSON text (an object is taken
    as the JSON it stands for)."""
    o = obj(value, path)
    raw = o.get("arguments")
    arguments = json.dumps(raw) if isinstance(raw, dict) else string(o, "arguments", path)
    return t.ToolCall(string(o, "id", path), string(o, "name", path), arguments)


def message(value: Any, path: str) -> t.Message:
    """PhariaEngine's one message shape: an ``assistant`` message may lack content (it calls tools
    instead), a ``tool`` message answers ``tool_call_id`` (PhariaEngine defaults it to ``""``), any
    other role needs content. ``reasoning_content`` is not read: a reasoning trace is never sent
    back to the model."""
    o = obj(value, path)
    role = string(o, "role", path).lower()
    if role not in _ROLES:
        raise BadRequest(f"{path}.role", f"expected one of {', '.join(_ROLES)}, got {o['role']!r}")
    if role == "assistant":
        calls, where = _field(o, "tool_calls", path)
        tool_calls = None if calls in (_MISSING, None) else each(calls, where, _tool_call)
        return t.Message(role, string(o, "content", path, None), tool_calls=tool_calls)
    content = string(o, "content", path)
    if role == "tool":
        return t.Message(role, content, tool_call_id=string(o, "tool_call_id", path, None) or "")
    return t.Message(role, content)


def _function(value: Any, path: str) -> t.Function:
    o = obj(value, path)
    return t.Function(
        name=string(o, "name", path),
        description=string(o, "description", path, None),
        parameters=o.get("parameters"),  # a JSON Schema, passed on as it is
        strict=boolean(o, "strict", path, None),
    )


def _tool_choice(o: dict[str, Any], path: str) -> t.ToolChoice | None:
    value, where = _field(o, "tool_choice", path)
    if value in (_MISSING, None):
        return None
    if isinstance(value, str) and value in _TOOL_CHOICES:
        return t.ToolChoice(value)  # type: ignore[arg-type]
    # PhariaEngine's ``{"named": "add"}``; the SDK's DevCsi sends its NamedToolChoice as ``{"name": "add"}``
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("named", "name"):
        key = next(iter(value))
        return t.ToolChoice("named", string(value, key, where))
    raise BadRequest(where, 'expected "none", "auto", "required" or {"named": name}')


def _json_schema(value: Any, path: str) -> t.ResponseFormat:
    o = obj(value, path)
    return t.ResponseFormat(
        "json-schema",
        name=string(o, "name", path),
        description=string(o, "description", path, None),
        schema=o.get("schema"),
        strict=boolean(o, "strict", path, None),
    )


def _response_format(o: dict[str, Any], path: str) -> t.ResponseFormat | None:
    value, where = _field(o, "response_format", path)
    if value in (_MISSING, None):
        return None
    if value == "text":
        return t.ResponseFormat("text")
    if value == "json_object":
        return t.ResponseFormat("json-object")
    if isinstance(value, dict) and set(value) == {"json_schema"}:
        return _json_schema(value["json_schema"], f"{where}.json_schema")
    if isinstance(value, dict) and "name" in value:  # the SDK's JsonSchema, serialised bare
        return _json_schema(value, where)
    raise BadRequest(where, 'expected "text", "json_object" or {"json_schema": {"name": ..., ...}}')


def _reasoning_effort(o: dict[str, Any], path: str) -> Any:
    value = string(o, "reasoning_effort", path, None)
    if value is not None and value not in _REASONING_EFFORTS:
        where = f"{path}.reasoning_effort" if path else "reasoning_effort"
        raise BadRequest(where, f"expected one of {', '.join(_REASONING_EFFORTS)}, got {value!r}")
    return value


def chat_params(p: dict[str, Any], where: str) -> t.ChatParams:
    tools, tools_path = _field(p, "tools", where)
    return t.ChatParams(
        max_tokens=integer(p, "max_tokens", where, None, minimum=1),
        temperature=number(p, "temperature", where),
        top_p=number(p, "top_p", where),
        frequency_penalty=number(p, "frequency_penalty", where),
        presence_penalty=number(p, "presence_penalty", where),
        logprobs=_logprobs(p, where),
        max_completion_tokens=integer(p, "max_completion_tokens", where, None, minimum=1),
        tools=None if tools in (_MISSING, None) else each(tools, tools_path, _function),
        tool_choice=_tool_choice(p, where),
        parallel_tool_calls=boolean(p, "parallel_tool_calls", where, None),
        response_format=_response_format(p, where),
        reasoning_effort=_reasoning_effort(p, where),
    )


def chat_request(
    value: Any,
    path: str,
    read_params: Callable[[dict[str, Any], str], t.ChatParams] = chat_params,
    read_message: Callable[[Any, str], t.Message] = message,
) -> t.ChatRequest:
    o = obj(value, path)
    where = f"{path}.params" if path else "params"
    params = read_params(_params(o.get("params", _MISSING), where), where)
    messages_path = f"{path}.messages" if path else "messages"
    if "messages" not in o:
        raise BadRequest(messages_path, "this field is required")
    messages = each(o["messages"], messages_path, read_message)
    if not messages:
        raise BadRequest(messages_path, "at least one message is required")
    return t.ChatRequest(string(o, "model", path), messages, params)


def plain_message(value: Any, path: str) -> t.Message:
    """A message of the 0.2 and 0.3 shells: ``{"role", "content"}``, both strings."""
    o = obj(value, path)
    role = string(o, "role", path).lower()
    if role not in _ROLES:
        raise BadRequest(f"{path}.role", f"expected one of {', '.join(_ROLES)}, got {o['role']!r}")
    return t.Message(role, string(o, "content", path))


def explanation_request(value: Any, path: str) -> t.ExplanationRequest:
    o = obj(value, path)
    granularity = string(o, "granularity", path, "auto")
    if granularity not in _GRANULARITIES:
        raise BadRequest(f"{path}.granularity", f"expected one of {', '.join(_GRANULARITIES)}")
    return t.ExplanationRequest(
        string(o, "prompt", path), string(o, "target", path), string(o, "model", path), granularity
    )


def chunk_request(value: Any, path: str, offsets: bool = False) -> t.ChunkRequest:
    o = obj(value, path)
    where = f"{path}.params"
    if "params" not in o:
        raise BadRequest(where, "this field is required")
    p = obj(o["params"], where)
    params = t.ChunkParams(
        model=string(p, "model", where),
        max_tokens=integer(p, "max_tokens", where, minimum=1),
        overlap=integer(p, "overlap", where, 0),
    )
    character_offsets = boolean(o, "character_offsets", path, False) if offsets else False
    return t.ChunkRequest(string(o, "text", path), params, character_offsets)


def select_language_request(value: Any, path: str) -> t.SelectLanguageRequest:
    o = obj(value, path)
    return t.SelectLanguageRequest(string(o, "text", path), strings(o, "languages", path))


def _filter(value: Any, path: str) -> dict[str, Any]:
    o = obj(value, path)
    if len(o) != 1 or next(iter(o)) not in _FILTER_KINDS:
        raise BadRequest(path, f"expected an object with one key of {', '.join(_FILTER_KINDS)}")
    kind = next(iter(o))
    conditions = items(o[kind], f"{path}.{kind}")
    for index, condition in enumerate(conditions):
        where = f"{path}.{kind}[{index}]"
        metadata = obj(obj(condition, where).get("metadata", _MISSING), f"{where}.metadata")
        string(metadata, "field", f"{where}.metadata")
        named = [key for key in metadata if key != "field"]
        if len(named) != 1 or named[0] not in _CONDITIONS:
            raise BadRequest(f"{where}.metadata", f"expected one condition of {', '.join(_CONDITIONS)}")
    return o


def search_request(value: Any, path: str) -> t.SearchRequest:
    o = obj(value, path)
    where = f"{path}.index_path"
    index = obj(o.get("index_path", _MISSING), where)
    filters, filters_path = _field(o, "filters", path)
    return t.SearchRequest(
        index_path=t.IndexPath(
            string(index, "namespace", where),
            string(index, "collection", where),
            string(index, "index", where),
        ),
        query=string(o, "query", path),
        max_results=integer(o, "max_results", path, 1),
        min_score=number(o, "min_score", path),
        filters=[] if filters in (_MISSING, None) else each(filters, filters_path, _filter),
    )


def document_path(value: Any, path: str) -> t.DocumentPath:
    o = obj(value, path)
    return t.DocumentPath(
        string(o, "namespace", path), string(o, "collection", path), string(o, "name", path)
    )


def _argument(value: Any, path: str) -> t.Argument:
    o = obj(value, path)
    if "value" not in o:
        raise BadRequest(f"{path}.value", "this field is required")
    return t.Argument(string(o, "name", path), json.dumps(o["value"]).encode())


def invoke_request(value: Any, path: str) -> t.InvokeRequest:
    o = obj(value, path)
    arguments, where = _field(o, "arguments", path)
    return t.InvokeRequest(
        string(o, "name", path), each([] if arguments is _MISSING else arguments, where, _argument)
    )


# -- answers every version shares ------------------------------------------------------------


def _float(value: float) -> float | None:
    """JSON has no NaN: a missing logprob is ``null`` (the SDK reads it back as NaN)."""
    return None if math.isnan(value) else value


def _logprob(value: t.Logprob) -> dict[str, Any]:
    return {"token": list(bytes(value.token)), "logprob": _float(value.logprob)}


def distributions(values: list[t.Distribution]) -> list[dict[str, Any]]:
    return [{"sampled": _logprob(d.sampled), "top": [_logprob(p) for p in d.top]} for d in values]


def finish_reason(value: t.FinishReason) -> str:
    """PhariaEngine's (and the SDK's) ``FinishReason`` values: ``stop``, ``length``,
    ``content_filter``, ``tool_calls``."""
    return t.FinishReason(value).value.replace("-", "_")


def usage(value: t.TokenUsage) -> dict[str, int]:
    return {"prompt": value.prompt, "completion": value.completion}


def completion(value: t.Completion) -> dict[str, Any]:
    return {
        "text": value.text,
        "finish_reason": finish_reason(value.finish_reason),
        "logprobs": distributions(value.logprobs),
        "usage": usage(value.usage),
    }


def completion_event(event: t.CompletionEvent) -> tuple[str, dict[str, Any]]:
    """``append`` (text, logprobs), ``end`` (finish reason), ``usage``: the same in v1 and v2."""
    if event.kind == "append":
        assert isinstance(event.value, t.CompletionAppend)
        return "append", {"text": event.value.text, "logprobs": distributions(event.value.logprobs)}
    if event.kind == "end":
        return "end", {"finish_reason": finish_reason(event.value)}  # type: ignore[arg-type]
    return "usage", {"usage": usage(event.value)}  # type: ignore[arg-type]


def tool_calls(calls: list[t.ToolCall] | None) -> list[dict[str, str]] | None:
    if calls is None:
        return None
    return [{"id": call.id, "name": call.name, "arguments": call.arguments} for call in calls]


def tool_call_chunks(chunks: list[t.ToolCallChunk]) -> dict[str, Any]:
    """The data of a ``tool_call`` stream event."""
    return {
        "tool_calls": [
            {"index": c.index, "id": c.id, "name": c.name, "arguments": c.arguments} for c in chunks
        ]
    }


def text_score(value: t.TextScore) -> dict[str, Any]:
    return {"start": value.start, "length": value.length, "score": _float(value.score)}


def chunk(value: t.ChunkWithOffset) -> dict[str, Any]:
    return {"text": value.text, "byte_offset": value.byte_offset, "character_offset": value.character_offset}


def path_of(value: t.DocumentPath) -> dict[str, str]:
    return {"namespace": value.namespace, "collection": value.collection, "name": value.name}


def search_result(value: t.SearchResult) -> dict[str, Any]:
    return {
        "document_path": path_of(value.document_path),
        "content": value.content,
        "score": value.score,
        "start": {"item": value.start.item, "position": value.start.position},
        "end": {"item": value.end.item, "position": value.end.position},
    }


def metadata(value: bytes | None) -> Any:
    return None if value is None else json.loads(value)


def document(value: t.Document) -> dict[str, Any]:
    contents = [
        {"modality": "text", "text": text} if kind == "text" else {"modality": "image"}
        for kind, text in value.contents
    ]
    return {"path": path_of(value.path), "contents": contents, "metadata": metadata(value.metadata)}


def tool_result(value: t.ToolResult) -> list[dict[str, str]] | str:
    """Success: a list of text modalities; failure: the message as a string (still a 200)."""
    if isinstance(value, t.ToolOutput):
        return [{"type": "text", "text": text} for text in value.texts]
    return value.message


def tool(value: t.Tool) -> dict[str, Any]:
    try:
        schema = json.loads(value.input_schema)
    except ValueError:
        schema = {}
    return {"name": value.name, "description": value.description, "input_schema": schema}


def sorted_tools(tools: list[t.Tool]) -> list[dict[str, Any]]:
    """PhariaEngine lists a namespace's tools sorted by name."""
    return [tool(item) for item in sorted(tools, key=lambda item: item.name)]
