"""Inference for the CSI against any OpenAI-compatible HTTP API (vLLM, Ollama, OpenAI, ...).

``complete`` posts to ``{url}/completions``, ``chat`` to ``{url}/chat/completions``; streams use
``stream: true`` with ``stream_options.include_usage`` and parse the server-sent events. One shared
``httpx.Client`` serves all threads; a batch (a list of requests) runs on a small thread pool of at
most ``max_concurrency`` threads per call and answers in request order. :data:`PARAMETER_MAPPING`
lists how each WIT parameter reaches the backend; the response side is mapped as follows:

* ``finish_reason``: ``stop`` -> stop, ``length`` -> length, ``content_filter`` -> content-filter;
  in chat ``tool_calls`` and the deprecated ``function_call`` -> tool-calls (as PhariaEngine maps
  them); anything else (vLLM's ``abort``, missing) -> stop.
* ``usage.prompt_tokens`` / ``completion_tokens`` -> token-usage (0 when the backend sends none).
* logprobs -> one distribution per token. Tokens are UTF-8 bytes: the chat ``bytes`` field when
  present, else the token string encoded (``bytes:\\xNN`` tokens of the legacy OpenAI API decoded).
  A missing logprob (vLLM's first echoed prompt token) is NaN, as in the Pharia SDK.
* chat message (PhariaEngine's ``chat_v2``): ``content`` as sent, so ``null`` stays ``None`` (it is
  ``null`` next to tool calls; worlds before 0.4 map it to ``""`` themselves); ``reasoning_content``,
  or vLLM's / OpenRouter's ``reasoning``, -> reasoning-content; ``tool_calls[].id`` /
  ``function.name`` / ``function.arguments`` -> tool-calls (arguments a backend sends as a JSON
  object are re-serialized to text; an empty list, which vLLM sends without tool calls, -> ``None``).
  With ``think_tags`` on, a content starting with ``<think>`` and no reasoning field is split as
  PhariaEngine's ``ReasoningExtractor`` does: the text up to ``</think>`` (or all of it, without
  one) -> reasoning-content, the rest -> content.
* chat stream deltas: the first choice of the first chunk -> ``message-begin`` (``delta.role``,
  default ``assistant``); ``reasoning_content`` / ``reasoning`` (non-empty) -> ``reasoning``;
  ``content`` (non-empty) or logprobs -> ``message-append``; ``tool_calls`` -> one ``tool-call``
  event per chunk with a :class:`ToolCallChunk` per entry (``index``, ``id``, ``function.name``,
  ``function.arguments``, each ``None`` when absent); ``finish_reason`` -> ``message-end``. With
  ``think_tags`` on, ``message-append`` text is split like PhariaEngine's streaming extractor: an
  append starting with ``<think>`` opens reasoning, text up to ``</think>`` is ``reasoning``.
* unknown model: one not in ``allowed_models``, or a backend answer with error code
  ``model_not_found`` or a 404 mentioning the model -> :class:`ModelNotFound`, whose message is
  PhariaEngine's and whose ``detail`` names the model and the allow-list or backend's answer.

Stream iterators own their HTTP response: it is closed when the iterator is exhausted, fails or
``close()`` is called. The request is sent when the stream is created, so connection, status and
model errors surface there rather than on the first ``next()``. A stream without a usage chunk (a
backend ignoring ``stream_options``) ends with usage 0/0; one without a finish reason fails.

``timeout`` is httpx's per-operation timeout: it bounds the wait for the response (and, in streams,
for each next chunk), not the whole generation.
"""

from __future__ import annotations

import json
import math
import re
import socket
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from runtime.csi.types import (
    ChatEvent,
    ChatRequest,
    ChatResponse,
    Completion,
    CompletionAppend,
    CompletionEvent,
    CompletionRequest,
    CsiError,
    Distribution,
    ExplanationRequest,
    FinishReason,
    InvalidCsiRequest,
    Logprob,
    Logprobs,
    Message,
    MessageAppend,
    ModelNotFound,
    ResponseFormat,
    TextScore,
    TokenUsage,
    ToolCall,
    ToolCallChunk,
    ToolChoice,
    Unsupported,
)

__all__ = [
    "PARAMETER_MAPPING",
    "OpenAIInference",
    "OpenAIInferenceConfig",
    "RateLimited",
    "parameter_mapping_markdown",
]

T = TypeVar("T")
R = TypeVar("R")

#: WIT parameter -> what the OpenAI-compatible request carries. Unset (``none``) options are omitted.
PARAMETER_MAPPING: dict[str, str] = {
    "completion-request.model": "`model`, renamed by `model_map`; checked against `allowed_models` first",
    "completion-request.prompt": "`prompt`",
    "completion-params.max-tokens": "`max_tokens`, always sent: `null` when unset, which vLLM reads as "
    "'up to the context length' where omitting it would mean 16 (OpenAI: 16 either way)",
    "completion-params.temperature": "`temperature`",
    "completion-params.top-k": "`top_k`, a vLLM extension. With `vllm_extensions` off (the default for "
    "api.openai.com, which has no top-k) a set top-k is refused with a CSI error naming it",
    "completion-params.top-p": "`top_p`",
    "completion-params.stop": "`stop` (omitted when empty)",
    "completion-params.return-special-tokens": "`skip_special_tokens: false` when true, a vLLM extension "
    "sent only with `vllm_extensions` on; the SDK sets it by default, so with it off it is dropped silently",
    "completion-params.frequency-penalty": "`frequency_penalty`",
    "completion-params.presence-penalty": "`presence_penalty`",
    "completion-params.logprobs": "no: omitted; sampled: `logprobs: 0`; top(n): `logprobs: n` "
    "(OpenAI allows n <= 5, vLLM <= 20 by default)",
    "completion-params.echo": "`echo: true` (omitted when false)",
    "chat-request.model": "`model`, renamed by `model_map`; checked against `allowed_models` first",
    "chat-request.messages": "`messages`: assistant -> `{role: assistant, content?, tool_calls?}` with "
    "`tool_calls: [{id, type: function, function: {name, arguments}}]` and `content` omitted when none "
    "(as PhariaEngine; reasoning-content is not sent back); tool -> `{role: tool, content, tool_call_id}`; "
    "other -> `{role, content}`. The roles system, developer, user, assistant and tool are matched "
    "case-insensitively and sent in lower case (PhariaEngine accepts upper-case role names); other "
    "roles are sent as given",
    "chat-params.max-tokens": "`max_tokens` (omitted when unset; OpenAI's reasoning models refuse it: "
    "use max-completion-tokens there)",
    "chat-params.max-completion-tokens": "`max_completion_tokens` (omitted when unset)",
    "chat-params.tools": "`tools: [{type: function, function: {name, description?, parameters?, "
    "strict?}}]`, `parameters` the JSON Schema as given (omitted when unset)",
    "chat-params.tool-choice": 'none / auto / required -> `tool_choice: "none"` / `"auto"` / '
    '`"required"`; named(n) -> `tool_choice: {type: function, function: {name: n}}`',
    "chat-params.parallel-tool-calls": "`parallel_tool_calls`",
    "chat-params.response-format": "text -> `response_format: {type: text}`; json-object -> "
    "`{type: json_object}`; json-schema -> `{type: json_schema, json_schema: {name, description?, "
    "schema?, strict?}}`",
    "chat-params.reasoning-effort": "`reasoning_effort: minimal / low / medium / high`",
    "chat-params.temperature": "`temperature`",
    "chat-params.top-p": "`top_p`",
    "chat-params.frequency-penalty": "`frequency_penalty`",
    "chat-params.presence-penalty": "`presence_penalty`",
    "chat-params.logprobs": "no: omitted; sampled: `logprobs: true`; "
    "top(n): `logprobs: true, top_logprobs: n`",
    "completion-stream / chat-stream": "as above, plus `stream: true, stream_options: {include_usage: true}`",
    "explain": "none: raises a CSI error (no OpenAI equivalent)",
}


def parameter_mapping_markdown() -> str:
    """:data:`PARAMETER_MAPPING` as a Markdown table."""
    rows = [f"| `{wit}` | {openai} |" for wit, openai in PARAMETER_MAPPING.items()]
    return "\n".join(["| WIT parameter | OpenAI-compatible request |", "|---|---|", *rows])


class RateLimited(CsiError):
    """The backend answered 429; ``retry_after`` holds its Retry-After header, if any."""

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class OpenAIInferenceConfig:
    """Where and how to reach the backend. ``url`` is the base URL ending in ``/v1``."""

    url: str
    token: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    connect_timeout: float = 5.0
    allowed_models: frozenset[str] | None = None  # None: any model
    model_map: dict[str, str] = field(default_factory=dict)  # kernel model name -> backend model name
    max_concurrency: int = 8
    # Send vLLM's extra sampling parameters (top_k, skip_special_tokens)? None: yes, except to
    # api.openai.com, which answers 400 to parameters it does not know.
    vllm_extensions: bool | None = None
    # Split a leading ``<think>...</think>`` out of chat content into reasoning, for models served
    # without a reasoning parser (PhariaEngine does this for its Aleph Alpha inference backend only).
    think_tags: bool = False


# Concurrency is bounded by the callers (runs x max_concurrency), not by the connection pool. Few
# keep-alive connections on purpose: httpcore scans (and polls) every pooled connection under one lock
# per request; with 128 kept alive, 200 concurrent calls took 1.6 s instead of 1.2 s for a 1 s backend.
_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
_FINISH = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
}
_CHAT_FINISH = {**_FINISH, "tool_calls": FinishReason.TOOL_CALLS, "function_call": FinishReason.TOOL_CALLS}
_THINK, _END_THINK = "<think>", "</think>"
_ROLES = ("system", "developer", "user", "assistant", "tool")
_BYTES_TOKEN = re.compile(r"bytes:((?:\\x[0-9a-fA-F]{2})+)")


class OpenAIInference:
    """An :class:`~runtime.csi.InferenceBackend` for OpenAI-compatible APIs; safe to share between threads."""

    def __init__(self, config: OpenAIInferenceConfig, transport: httpx.BaseTransport | None = None) -> None:
        self._config = config
        self._extensions = (
            config.vllm_extensions
            if config.vllm_extensions is not None
            else httpx.URL(config.url).host != "api.openai.com"
        )
        url = httpx.URL(config.url)
        self._display_url = str(url.copy_with(userinfo=b"")) if url.userinfo else config.url
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._client = httpx.Client(
            base_url=config.url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            transport=transport or httpx.HTTPTransport(limits=_LIMITS, socket_options=_NODELAY),
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    # -- InferenceBackend -------------------------------------------------------------------------

    def complete(self, requests: list[CompletionRequest]) -> list[Completion]:
        for request in requests:
            self._backend_model(request.model)
        return self._batch(self._complete_one, requests)

    def chat(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        for request in requests:
            self._backend_model(request.model)
        return self._batch(self._chat_one, requests)

    def completion_stream(self, request: CompletionRequest) -> Iterator[CompletionEvent]:
        response = self._open_stream(
            "completions", self._completion_body(request, stream=True), request.model
        )
        return _EventStream(response, self._completion_events(response, request.params.logprobs))

    def chat_stream(self, request: ChatRequest) -> Iterator[ChatEvent]:
        response = self._open_stream("chat/completions", self._chat_body(request, stream=True), request.model)
        events = self._chat_events(response, request.params.logprobs)
        return _EventStream(response, _split_think_events(events) if self._config.think_tags else events)

    def explain(self, requests: list[ExplanationRequest]) -> list[list[TextScore]]:
        raise Unsupported("explain is not supported by this inference backend")

    # -- requests ---------------------------------------------------------------------------------

    def _backend_model(self, model: str) -> str:
        allowed = self._config.allowed_models
        if allowed is not None and model not in allowed:
            raise ModelNotFound(
                f"model '{model}' is not available on this kernel (available: {', '.join(sorted(allowed))})"
            )
        return self._config.model_map.get(model, model)

    def _completion_body(self, request: CompletionRequest, stream: bool = False) -> dict[str, Any]:
        p = request.params
        body: dict[str, Any] = {"model": self._backend_model(request.model), "prompt": request.prompt}
        body["max_tokens"] = p.max_tokens
        if p.top_k is not None and not self._extensions:
            raise InvalidCsiRequest(
                "top-k is not supported by this inference backend (OpenAI has no top_k); leave it unset"
            )
        _put(body, temperature=p.temperature, top_p=p.top_p, top_k=p.top_k)
        _put(body, frequency_penalty=p.frequency_penalty, presence_penalty=p.presence_penalty)
        if p.stop:
            body["stop"] = list(p.stop)
        if p.return_special_tokens and self._extensions:
            body["skip_special_tokens"] = False
        if p.echo:
            body["echo"] = True
        if p.logprobs.kind != "no":
            body["logprobs"] = p.logprobs.top if p.logprobs.kind == "top" else 0
        return _streaming(body) if stream else body

    def _chat_body(self, request: ChatRequest, stream: bool = False) -> dict[str, Any]:
        p = request.params
        messages = [_message_json(m) for m in request.messages]
        body: dict[str, Any] = {"model": self._backend_model(request.model), "messages": messages}
        _put(body, max_tokens=p.max_tokens, max_completion_tokens=p.max_completion_tokens)
        _put(body, temperature=p.temperature, top_p=p.top_p)
        _put(body, frequency_penalty=p.frequency_penalty, presence_penalty=p.presence_penalty)
        if p.logprobs.kind != "no":
            body["logprobs"] = True
            if p.logprobs.kind == "top":
                body["top_logprobs"] = p.logprobs.top
        if p.tools is not None:
            body["tools"] = [
                {
                    "type": "function",
                    "function": _without_none(
                        name=f.name, description=f.description, parameters=f.parameters, strict=f.strict
                    ),
                }
                for f in p.tools
            ]
        if p.tool_choice is not None:
            body["tool_choice"] = _tool_choice_json(p.tool_choice)
        _put(body, parallel_tool_calls=p.parallel_tool_calls)
        if p.response_format is not None:
            body["response_format"] = _response_format_json(p.response_format)
        _put(body, reasoning_effort=p.reasoning_effort)
        return _streaming(body) if stream else body

    def _complete_one(self, request: CompletionRequest) -> Completion:
        data = self._post("completions", self._completion_body(request), request.model)
        with _parsing():
            choice = data["choices"][0]
            return Completion(
                text=choice.get("text") or "",
                finish_reason=_finish(choice.get("finish_reason")),
                logprobs=_completion_logprobs(choice.get("logprobs"), request.params.logprobs),
                usage=_usage(data.get("usage")),
            )

    def _chat_one(self, request: ChatRequest) -> ChatResponse:
        data = self._post("chat/completions", self._chat_body(request), request.model)
        with _parsing():
            choice = data["choices"][0]
            message = choice.get("message") or {}
            content, reasoning = _text(message.get("content")), _reasoning(message)
            if self._config.think_tags and reasoning is None and content and content.startswith(_THINK):
                end = content.find(_END_THINK)
                reasoning = content[len(_THINK) : end if end >= 0 else None]
                content = content[end + len(_END_THINK) :] if end >= 0 else None
            calls = [_tool_call(call) for call in message.get("tool_calls") or []]
            return ChatResponse(
                message=Message(
                    message.get("role") or "assistant",
                    content,
                    reasoning_content=reasoning,
                    tool_calls=calls or None,
                ),
                finish_reason=_finish(choice.get("finish_reason"), _CHAT_FINISH),
                logprobs=_chat_logprobs(choice.get("logprobs"), request.params.logprobs),
                usage=_usage(data.get("usage")),
            )

    def _batch(self, call: Callable[[T], R], requests: Sequence[T]) -> list[R]:
        if len(requests) <= 1:
            return [call(request) for request in requests]
        workers = max(1, min(len(requests), self._config.max_concurrency))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-inference")
        try:
            return list(pool.map(call, requests))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on failure, do not start the rest

    # -- HTTP -------------------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], model: str) -> Any:
        try:
            response = self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.is_error:
            raise self._status_error(response, model)
        try:
            return response.json()
        except ValueError as exc:
            raise CsiError(f"inference backend at {self._display_url} answered with non-JSON") from exc

    def _open_stream(self, path: str, body: dict[str, Any], model: str) -> httpx.Response:
        try:
            response = self._client.send(self._client.build_request("POST", path, json=body), stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.is_error:
            try:
                response.read()
            except httpx.HTTPError:
                pass
            finally:
                response.close()
            raise self._status_error(response, model)
        return response

    def _sse(self, response: httpx.Response) -> Iterator[dict[str, Any]]:
        """The JSON payloads of the server-sent events up to ``[DONE]``."""
        try:
            data: list[str] = []
            for line in response.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                    continue
                if line or not data:
                    continue  # comments, other fields, blank keep-alives
                payload, data = "\n".join(data), []
                if payload.strip() == "[DONE]":
                    return
                chunk = json.loads(payload)
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise CsiError(self._redact(f"inference backend failed mid-stream: {_message(chunk)}"))
                yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        except json.JSONDecodeError as exc:
            raise CsiError("inference backend sent an invalid stream event") from exc

    def _completion_events(
        self, response: httpx.Response, wanted: Logprobs
    ) -> Generator[CompletionEvent, None, None]:
        try:
            finish, usage = None, TokenUsage(0, 0)
            for chunk in self._sse(response):
                with _parsing():
                    usage = _usage(chunk["usage"]) if chunk.get("usage") else usage
                    for choice in (chunk.get("choices") or [])[:1]:
                        text = choice.get("text") or ""
                        logprobs = _completion_logprobs(choice.get("logprobs"), wanted)
                        if text or logprobs:
                            yield CompletionEvent("append", CompletionAppend(text, logprobs))
                        if choice.get("finish_reason") and finish is None:
                            finish = _finish(choice["finish_reason"])
                            yield CompletionEvent("end", finish)
            if finish is None:
                raise CsiError("inference backend ended the completion stream without a finish reason")
            yield CompletionEvent("usage", usage)
        finally:
            response.close()

    def _chat_events(self, response: httpx.Response, wanted: Logprobs) -> Generator[ChatEvent, None, None]:
        try:
            begun, finish, usage = False, None, TokenUsage(0, 0)
            for chunk in self._sse(response):
                with _parsing():
                    usage = _usage(chunk["usage"]) if chunk.get("usage") else usage
                    for choice in (chunk.get("choices") or [])[:1]:
                        delta = choice.get("delta") or {}
                        if not begun:
                            begun = True
                            yield ChatEvent("message-begin", delta.get("role") or "assistant")
                        reasoning = _reasoning(delta)
                        if reasoning:
                            yield ChatEvent("reasoning", reasoning)
                        content = _text(delta.get("content")) or ""
                        logprobs = _chat_logprobs(choice.get("logprobs"), wanted)
                        if content or logprobs:
                            yield ChatEvent("message-append", MessageAppend(content, logprobs))
                        calls = delta.get("tool_calls") or []
                        if calls:
                            yield ChatEvent(
                                "tool-call", [_tool_call_chunk(c, i) for i, c in enumerate(calls)]
                            )
                        if choice.get("finish_reason") and finish is None:
                            finish = _finish(choice["finish_reason"], _CHAT_FINISH)
                            yield ChatEvent("message-end", finish)
            if finish is None:
                raise CsiError("inference backend ended the chat stream without a finish reason")
            yield ChatEvent("usage", usage)
        finally:
            response.close()

    # -- errors -----------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        token = self._config.token
        return text.replace(token, "***") if token else text

    def _transport_error(self, exc: httpx.HTTPError) -> CsiError:
        if isinstance(exc, httpx.ConnectTimeout):
            message = f"inference backend timed out after {self._config.connect_timeout:g}s (connecting)"
        elif isinstance(exc, httpx.TimeoutException):
            message = f"inference backend timed out after {self._config.timeout:g}s"
        elif isinstance(exc, httpx.ConnectError):
            message = f"inference backend unreachable at {self._display_url} ({exc})"
        else:
            message = f"inference backend at {self._display_url} failed: {type(exc).__name__}: {exc}"
        return CsiError(self._redact(message))

    def _status_error(self, response: httpx.Response, model: str) -> CsiError:
        payload = _json_or_text(response)
        status, detail = response.status_code, _message(payload)
        backend_model = self._config.model_map.get(model, model)
        named = f"'{model}'" + (f" (backend model '{backend_model}')" if backend_model != model else "")
        error: CsiError
        if status == 429:
            retry = response.headers.get("retry-after")
            after = f" (retry after {retry}{'s' if retry.isdigit() else ''})" if retry else ""
            error = RateLimited(f"inference backend rate limited the request{after}", retry)
        elif _code(payload) == "model_not_found" or (status == 404 and "model" in detail.lower()):
            error = ModelNotFound(f"model {named} is not known to the inference backend: {detail}")
            error.detail = self._redact(error.detail)
        elif status in (401, 403):
            error = CsiError(f"inference backend rejected the credentials (HTTP {status}): {detail}")
        elif status in (400, 413, 422):
            error = InvalidCsiRequest(
                f"inference backend rejected the request for model {named} (HTTP {status}): {detail}"
            )
        else:
            error = CsiError(f"inference backend error for model {named} (HTTP {status}): {detail}")
        error.args = (self._redact(str(error)),)
        return error


class _EventStream(Iterator[T]):
    """Events of one streamed response; closing (or exhausting) it closes the response."""

    def __init__(self, response: httpx.Response, events: Generator[T, None, None]) -> None:
        self._response = response
        self._events = events

    def __next__(self) -> T:
        return next(self._events)

    def close(self) -> None:
        """Stop early: close the generator and the HTTP response (also if never started)."""
        self._events.close()
        self._response.close()


_MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError)


@contextmanager
def _parsing() -> Iterator[None]:
    """Turn malformed backend JSON (missing keys, wrong types) into a :class:`CsiError`."""
    try:
        yield
    except _MALFORMED as exc:
        raise CsiError(
            f"inference backend sent an unexpected response ({type(exc).__name__}: {exc})"
        ) from exc


def _put(body: dict[str, Any], **values: Any) -> None:
    body.update((key, value) for key, value in values.items() if value is not None)


def _streaming(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


def _finish(reason: str | None, known: dict[str, FinishReason] = _FINISH) -> FinishReason:
    return known.get(reason or "", FinishReason.STOP)


def _without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _message_json(message: Message) -> dict[str, Any]:
    """A CSI message as an OpenAI request message (PhariaEngine's ``ChatCompletionRequestMessage``)."""
    role = message.role.lower() if message.role.lower() in _ROLES else message.role
    if role == "assistant":
        body: dict[str, Any] = {"role": "assistant"}
        if message.content is not None:
            body["content"] = message.content
        if message.tool_calls:
            body["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        return body
    if role == "tool":
        return {"role": "tool", "content": message.content or "", "tool_call_id": message.tool_call_id}
    return {"role": role, "content": message.content or ""}


def _tool_choice_json(choice: ToolChoice) -> Any:
    if choice.kind == "named":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.kind


def _response_format_json(response_format: ResponseFormat) -> dict[str, Any]:
    if response_format.kind == "json-schema":
        schema = _without_none(
            name=response_format.name,
            description=response_format.description,
            schema=response_format.schema,
            strict=response_format.strict,
        )
        return {"type": "json_schema", "json_schema": schema}
    return {"type": response_format.kind.replace("-", "_")}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _reasoning(message: dict[str, Any]) -> str | None:
    """``reasoning_content`` (DeepSeek, older vLLM) or ``reasoning`` (OpenRouter, newer vLLM)."""
    reasoning = _text(message.get("reasoning_content"))
    return reasoning if reasoning is not None else _text(message.get("reasoning"))


def _arguments(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _tool_call(call: dict[str, Any]) -> ToolCall:
    function = call.get("function") or {}
    return ToolCall(
        str(call.get("id") or ""), str(function.get("name") or ""), _arguments(function.get("arguments"))
    )


def _tool_call_chunk(call: dict[str, Any], position: int) -> ToolCallChunk:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    return ToolCallChunk(
        index=int(position if call.get("index") is None else call["index"]),
        id=call.get("id"),
        name=function.get("name"),
        arguments=None if arguments is None else _arguments(arguments),
    )


def _split_think_events(events: Iterator[ChatEvent]) -> Generator[ChatEvent, None, None]:
    """PhariaEngine's streaming ``ReasoningExtractor``: ``<think>`` text in appends -> ``reasoning``."""
    thinking = False
    for event in events:
        append = event.value
        if event.kind != "message-append" or not isinstance(append, MessageAppend):
            yield event
            continue
        text = append.content
        if not thinking and not text.startswith(_THINK):
            yield event
            continue
        start = 0 if thinking else len(_THINK)
        end = text.find(_END_THINK, start)
        thinking = end < 0
        if text[start : None if thinking else end]:
            yield ChatEvent("reasoning", text[start : None if thinking else end])
        rest = "" if thinking else text[end + len(_END_THINK) :]
        if rest:
            yield ChatEvent("message-append", MessageAppend(rest, append.logprobs))


def _usage(usage: dict[str, Any] | None) -> TokenUsage:
    usage = usage or {}
    return TokenUsage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _rank(value: float | None) -> float:
    return -math.inf if value is None else float(value)


def _token_bytes(token: str) -> bytes:
    match = _BYTES_TOKEN.fullmatch(token)
    if match:
        return bytes.fromhex(match.group(1).replace("\\x", ""))
    return token.encode("utf-8", "surrogatepass")


def _completion_logprobs(logprobs: dict[str, Any] | None, wanted: Logprobs) -> list[Distribution]:
    """Legacy completions shape: parallel ``tokens`` / ``token_logprobs`` / ``top_logprobs`` lists."""
    if wanted.kind == "no" or not logprobs:
        return []
    values = logprobs.get("token_logprobs") or []
    tops = logprobs.get("top_logprobs") or []
    result = []
    for i, token in enumerate(logprobs.get("tokens") or []):
        sampled = Logprob(_token_bytes(token), _float(values[i] if i < len(values) else None))
        top: list[Logprob] = []
        if wanted.kind == "top" and i < len(tops) and tops[i]:
            ranked = sorted(tops[i].items(), key=lambda item: _rank(item[1]), reverse=True)[: wanted.top]
            top = [Logprob(_token_bytes(t), _float(value)) for t, value in ranked]
        result.append(Distribution(sampled, top))
    return result


def _chat_logprob(entry: dict[str, Any]) -> Logprob:
    raw = entry.get("bytes")
    token = bytes(raw) if raw is not None else _token_bytes(entry.get("token") or "")
    return Logprob(token, _float(entry.get("logprob")))


def _chat_logprobs(logprobs: dict[str, Any] | None, wanted: Logprobs) -> list[Distribution]:
    """Chat shape: ``content`` is a list of ``{token, logprob, bytes, top_logprobs}``."""
    if wanted.kind == "no" or not logprobs:
        return []
    result = []
    for entry in logprobs.get("content") or []:
        top: list[Logprob] = []
        if wanted.kind == "top":
            ranked = sorted(
                entry.get("top_logprobs") or [], key=lambda e: _rank(e.get("logprob")), reverse=True
            )
            top = [_chat_logprob(alternative) for alternative in ranked[: wanted.top]]
        result.append(Distribution(_chat_logprob(entry), top))
    return result


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except Exception:
        try:
            return response.text.strip()[:500] or response.reason_phrase
        except Exception:
            return response.reason_phrase


def _code(payload: Any) -> str:
    """The ``error.code`` of an OpenAI error body (``model_not_found``, ``invalid_api_key``), or ``""``."""
    error = payload.get("error") if isinstance(payload, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _message(payload: Any) -> str:
    """The human-readable part of an OpenAI (``{"error": {"message"}}``), vLLM or FastAPI error body."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "detail"):
            if payload.get(key):
                return str(payload[key])
        if isinstance(error, str):
            return error
        return json.dumps(payload)[:500]
    return str(payload)[:500]
