"""OpenAIInference against a real OpenAI-compatible HTTP server on loopback (no Django)."""

from __future__ import annotations

import dataclasses
import json
import math
import socket
import time
from collections.abc import Callable, Iterator
from enum import Enum

import httpx
import pydantic
import pytest

from runtime.csi.openai import (
    PARAMETER_MAPPING,
    OpenAIInference,
    OpenAIInferenceConfig,
    RateLimited,
    _token_bytes,
    parameter_mapping_markdown,
)
from runtime.csi.types import (
    MODEL_NOT_FOUND_MESSAGE,
    ChatEvent,
    ChatParams,
    ChatRequest,
    CompletionParams,
    CompletionRequest,
    CsiError,
    ExplanationRequest,
    FinishReason,
    Function,
    InvalidCsiRequest,
    Logprobs,
    Message,
    ModelNotFound,
    ResponseFormat,
    TokenUsage,
    ToolCall,
    ToolCallChunk,
    ToolChoice,
)
from tests.support.openai_server import OpenAITestServer

Factory = Callable[..., OpenAIInference]


@pytest.fixture
def server() -> Iterator[OpenAITestServer]:
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def make(server: OpenAITestServer) -> Iterator[Factory]:
    backends: list[OpenAIInference] = []

    def make(**config: object) -> OpenAIInference:
        backend = OpenAIInference(OpenAIInferenceConfig(**{"url": server.url, **config}))  # type: ignore[arg-type]
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()


def chat_request(content: str, model: str = "test-model", **params: object) -> ChatRequest:
    return ChatRequest(model, [Message("system", "be brief"), Message("user", content)], ChatParams(**params))  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- completion -----------------------------------------------------------------------------------


def test_complete_maps_every_parameter(server: OpenAITestServer, make: Factory) -> None:
    params = CompletionParams(
        max_tokens=10,
        temperature=0.3,
        top_k=5,
        top_p=0.9,
        stop=["STOP"],
        return_special_tokens=True,
        frequency_penalty=0.1,
        presence_penalty=-0.2,
    )
    [completion] = make().complete([CompletionRequest("test-model", "one two STOP three", params)])
    assert server.requests == [
        {
            "model": "test-model",
            "prompt": "one two STOP three",
            "max_tokens": 10,
            "temperature": 0.3,
            "top_p": 0.9,
            "top_k": 5,
            "frequency_penalty": 0.1,
            "presence_penalty": -0.2,
            "stop": ["STOP"],
            "skip_special_tokens": False,
        }
    ]
    assert completion.text == "echo: one two"
    assert completion.finish_reason is FinishReason.STOP
    assert completion.usage == TokenUsage(prompt=4, completion=3)
    assert completion.logprobs == []


def test_complete_defaults_send_a_minimal_body(server: OpenAITestServer, make: Factory) -> None:
    [completion] = make().complete([CompletionRequest("test-model", "hello world")])
    # max_tokens is always sent: null means "no limit" to vLLM instead of OpenAI's default of 16.
    assert server.requests == [{"model": "test-model", "prompt": "hello world", "max_tokens": None}]
    assert (completion.text, completion.finish_reason) == ("echo: hello world", FinishReason.STOP)


def test_complete_length_finish_reason(make: Factory) -> None:
    [completion] = make().complete(
        [CompletionRequest("test-model", "a b c d", CompletionParams(max_tokens=2))]
    )
    assert completion.text == "echo: a"
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.usage == TokenUsage(4, 2)


def test_complete_sampled_logprobs(server: OpenAITestServer, make: Factory) -> None:
    params = CompletionParams(logprobs=Logprobs("sampled"))
    [completion] = make().complete([CompletionRequest("test-model", "grüß dich", params)])
    assert server.requests[0]["logprobs"] == 0
    assert [d.sampled.token for d in completion.logprobs] == [b"echo:", " grüß".encode(), b" dich"]
    assert all(d.sampled.logprob == -0.5 and d.top == [] for d in completion.logprobs)


def test_complete_top_logprobs(server: OpenAITestServer, make: Factory) -> None:
    params = CompletionParams(logprobs=Logprobs("top", 3))
    [completion] = make().complete([CompletionRequest("test-model", "hi", params)])
    assert server.requests[0]["logprobs"] == 3
    first = completion.logprobs[0]
    assert first.sampled.token == b"echo:"
    assert [(t.token, t.logprob) for t in first.top] == [(b"echo:", -0.5), (b"alt1", -1.5), (b"alt2", -2.5)]


def test_complete_echo_with_logprobs(server: OpenAITestServer, make: Factory) -> None:
    params = CompletionParams(echo=True, logprobs=Logprobs("sampled"))
    [completion] = make().complete([CompletionRequest("test-model", "an apple", params)])
    assert server.requests[0]["echo"] is True
    assert completion.text == "an appleecho: an apple"
    assert [d.sampled.token for d in completion.logprobs][:2] == [b"an", b" apple"]
    assert math.isnan(completion.logprobs[0].sampled.logprob)  # vLLM: first prompt token has none
    assert completion.logprobs[1].sampled.logprob == -0.5


# -- chat -----------------------------------------------------------------------------------------


def test_chat_maps_parameters(server: OpenAITestServer, make: Factory) -> None:
    request = chat_request(
        "hello there", max_tokens=5, temperature=0.5, top_p=0.8, frequency_penalty=0.3, presence_penalty=0.4
    )
    [response] = make().chat([request])
    assert server.requests == [
        {
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hello there"},
            ],
            "max_tokens": 5,
            "temperature": 0.5,
            "top_p": 0.8,
            "frequency_penalty": 0.3,
            "presence_penalty": 0.4,
        }
    ]
    assert response.message == Message("assistant", "echo: hello there")
    assert response.finish_reason is FinishReason.STOP
    assert response.usage == TokenUsage(prompt=4, completion=3)


def test_chat_minimal_body_and_length(server: OpenAITestServer, make: Factory) -> None:
    [response] = make().chat([chat_request("a b c")])
    assert set(server.requests[0]) == {"model", "messages"}
    [short] = make().chat([chat_request("a b c", max_tokens=1)])
    assert (short.message.content, short.finish_reason) == ("echo:", FinishReason.LENGTH)


def test_chat_logprobs_use_bytes(server: OpenAITestServer, make: Factory) -> None:
    [sampled] = make().chat([chat_request("ä", logprobs=Logprobs("sampled"))])
    assert server.requests[0]["logprobs"] is True and "top_logprobs" not in server.requests[0]
    assert [d.sampled.token for d in sampled.logprobs] == [b"echo:", b" \xc3\xa4"]
    assert all(d.top == [] for d in sampled.logprobs)
    [top] = make().chat([chat_request("ä", logprobs=Logprobs("top", 2))])
    assert (server.requests[1]["logprobs"], server.requests[1]["top_logprobs"]) == (True, 2)
    assert [(t.token, t.logprob) for t in top.logprobs[1].top] == [(b" \xc3\xa4", -0.5), (b"alt1", -1.5)]


def test_tool_model_without_tools_still_calls_get_weather(make: Factory) -> None:
    [response] = make().chat([chat_request("weather?", model="tool-model")])
    call = ToolCall("call_0", "get_weather", '{"city": "Berlin"}')
    assert response.message == Message("assistant", None, tool_calls=[call])
    assert response.finish_reason is FinishReason.TOOL_CALLS
    assert response.usage.completion == 7


# -- streams --------------------------------------------------------------------------------------


def test_completion_stream_events(server: OpenAITestServer, make: Factory) -> None:
    params = CompletionParams(max_tokens=3, logprobs=Logprobs("top", 1))
    events = list(make().completion_stream(CompletionRequest("test-model", "one two three", params)))
    body = server.requests[0]
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    assert [e.kind for e in events] == ["append"] * 3 + ["end", "usage"]
    assert "".join(e.value.text for e in events[:3]) == "echo: one two"  # type: ignore[union-attr]
    assert events[1].value.logprobs[0].sampled.token == b" one"  # type: ignore[union-attr]
    assert len(events[1].value.logprobs[0].top) == 1  # type: ignore[union-attr]
    assert events[3].value is FinishReason.LENGTH
    assert events[4].value == TokenUsage(3, 3)


def test_chat_stream_events(server: OpenAITestServer, make: Factory) -> None:
    events = list(make().chat_stream(chat_request("hi you", logprobs=Logprobs("sampled"))))
    assert server.requests[0]["stream"] is True
    assert [e.kind for e in events] == ["message-begin"] + ["message-append"] * 3 + ["message-end", "usage"]
    assert events[0].value == "assistant"
    assert "".join(e.value.content for e in events[1:4]) == "echo: hi you"  # type: ignore[union-attr]
    assert events[2].value.logprobs[0].sampled.token == b" hi"  # type: ignore[union-attr]
    assert events[4].value is FinishReason.STOP
    assert events[5].value == TokenUsage(4, 3)


def test_tool_model_chat_stream_streams_its_call(make: Factory) -> None:
    events = list(make().chat_stream(chat_request("weather?", model="tool-model")))
    assert [e.kind for e in events] == ["message-begin"] + ["tool-call"] * 3 + ["message-end", "usage"]
    assert events[1].value == [ToolCallChunk(0, "call_0", "get_weather", "")]
    arguments = "".join(chunk.arguments or "" for e in events[1:4] for chunk in e.value)  # type: ignore[union-attr]
    assert arguments == '{"city": "Berlin"}'
    assert events[4].value is FinishReason.TOOL_CALLS


def test_streams_close_their_response(server: OpenAITestServer, make: Factory) -> None:
    backend = make()
    server.stream_delay = 0.05
    exhausted = backend.completion_stream(CompletionRequest("test-model", "x"))
    list(exhausted)
    assert exhausted._response.is_closed  # type: ignore[attr-defined]
    started = backend.chat_stream(chat_request("a b c d e f g h"))
    assert next(started).kind == "message-begin"
    started.close()  # type: ignore[attr-defined]
    assert started._response.is_closed  # type: ignore[attr-defined]
    with pytest.raises(StopIteration):
        next(started)
    never_started = backend.chat_stream(chat_request("a"))
    never_started.close()  # type: ignore[attr-defined]
    assert never_started._response.is_closed  # type: ignore[attr-defined]


def test_stream_errors_surface_when_the_stream_is_created(make: Factory) -> None:
    with pytest.raises(ModelNotFound) as caught:
        make().chat_stream(chat_request("x", model="missing-model"))
    assert str(caught.value) == MODEL_NOT_FOUND_MESSAGE
    assert "The model `missing-model` does not exist." in caught.value.detail
    with pytest.raises(RateLimited):
        make().completion_stream(CompletionRequest("ratelimited-model", "x"))


# -- batches --------------------------------------------------------------------------------------


def test_batches_run_concurrently_in_request_order(server: OpenAITestServer, make: Factory) -> None:
    server.delay = 0.5
    requests = [CompletionRequest("slow-model", f"prompt {i}") for i in range(4)]
    start = time.perf_counter()
    completions = make().complete(requests)
    assert time.perf_counter() - start < 1.5
    assert [c.text for c in completions] == [f"echo: prompt {i}" for i in range(4)]
    assert server.max_in_flight == 4
    start = time.perf_counter()
    responses = make().chat([chat_request(f"q{i}", model="slow-model") for i in range(4)])
    assert time.perf_counter() - start < 1.5
    assert [r.message.content for r in responses] == [f"echo: q{i}" for i in range(4)]


def test_batch_concurrency_is_bounded(server: OpenAITestServer, make: Factory) -> None:
    server.delay = 0.2
    start = time.perf_counter()
    make(max_concurrency=2).complete([CompletionRequest("slow-model", str(i)) for i in range(4)])
    assert time.perf_counter() - start >= 0.4
    assert server.max_in_flight == 2


# -- models ---------------------------------------------------------------------------------------


def test_allow_list_is_checked_before_any_request(server: OpenAITestServer, make: Factory) -> None:
    backend = make(allowed_models=frozenset({"test-model"}))
    with pytest.raises(ModelNotFound) as caught:
        backend.complete([CompletionRequest("test-model", "a"), CompletionRequest("other", "b")])
    assert str(caught.value) == MODEL_NOT_FOUND_MESSAGE
    assert caught.value.detail == "model 'other' is not available on this kernel (available: test-model)"
    with pytest.raises(ModelNotFound) as streamed:
        backend.chat_stream(chat_request("x", model="other"))
    assert "'other'" in streamed.value.detail
    with pytest.raises(ModelNotFound):
        backend.chat([chat_request("x", model="other")])
    assert server.requests == []
    assert backend.complete([CompletionRequest("test-model", "a")])[0].text == "echo: a"


def test_model_map_renames_models(server: OpenAITestServer, make: Factory) -> None:
    backend = make(model_map={"llama-3.1-8b": "test-model"}, allowed_models=frozenset({"llama-3.1-8b"}))
    [response] = backend.chat([chat_request("hi", model="llama-3.1-8b")])
    assert response.message.content == "echo: hi"
    assert server.requests[0]["model"] == "test-model"
    unmapped = make(model_map={"pharia": "gone-model"})
    with pytest.raises(ModelNotFound) as caught:
        unmapped.complete([CompletionRequest("pharia", "x")])
    assert "model 'pharia' (backend model 'gone-model')" in caught.value.detail


# -- errors ---------------------------------------------------------------------------------------


def test_unreachable_backend() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIInference(OpenAIInferenceConfig(url=url, token="sk-secret-unreachable"))
    with pytest.raises(CsiError, match=f"inference backend unreachable at {url}") as caught:
        backend.complete([CompletionRequest("test-model", "x")])
    assert "sk-secret" not in str(caught.value)
    with pytest.raises(CsiError, match="unreachable"):
        backend.chat_stream(chat_request("x"))


def test_timeout(make: Factory) -> None:
    backend = make(timeout=0.2)
    start = time.perf_counter()
    with pytest.raises(CsiError, match=r"^inference backend timed out after 0\.2s$"):
        backend.complete([CompletionRequest("slow-model", "x")])
    assert time.perf_counter() - start < 0.9


def test_rate_limited(make: Factory) -> None:
    with pytest.raises(
        RateLimited, match=r"inference backend rate limited the request \(retry after 1s\)"
    ) as e:
        make().chat([chat_request("x", model="ratelimited-model")])
    assert e.value.retry_after == "1"


def test_server_error_carries_the_backend_message(make: Factory) -> None:
    with pytest.raises(CsiError) as caught:
        make().complete([CompletionRequest("broken-model", "x")])
    assert type(caught.value) is CsiError
    assert str(caught.value) == (
        "inference backend error for model 'broken-model' (HTTP 500): The model crashed (CUDA out of memory)"
    )


def test_unknown_model_at_the_backend(make: Factory) -> None:
    with pytest.raises(ModelNotFound) as caught:
        make().complete([CompletionRequest("no-such-model", "x")])
    assert isinstance(caught.value, InvalidCsiRequest)
    assert str(caught.value) == MODEL_NOT_FOUND_MESSAGE
    detail = "model 'no-such-model' is not known to the inference backend: The model `no-such-model` does not"
    assert caught.value.detail == detail + " exist."
    with pytest.raises(ModelNotFound):
        make().chat([chat_request("x", model="no-such-model")])


def test_bad_request_is_invalid_request(make: Factory) -> None:
    with pytest.raises(InvalidCsiRequest, match=r"HTTP 400\): `messages` must be a non-empty list"):
        make().chat([ChatRequest("test-model", [])])


def test_token_is_sent_and_never_leaked(server: OpenAITestServer, make: Factory) -> None:
    server.token = "sk-right-token"
    assert make(token="sk-right-token").complete([CompletionRequest("test-model", "x")])[0].text == "echo: x"
    assert server.headers[0]["Authorization"] == "Bearer sk-right-token"
    config = OpenAIInferenceConfig(url=server.url, token="sk-wrong-token-1234")
    assert "sk-wrong" not in repr(config)
    with pytest.raises(CsiError, match="rejected the credentials \\(HTTP 401\\)") as caught:
        OpenAIInference(config).complete([CompletionRequest("test-model", "x")])
    assert "sk-wrong-token-1234" not in str(caught.value)  # the server echoes the key it got
    assert "***" in str(caught.value)


def test_explain_is_not_supported(make: Factory) -> None:
    with pytest.raises(CsiError, match="^explain is not supported by this inference backend$"):
        make().explain([ExplanationRequest("prompt", "target", "test-model")])


def test_empty_batches(server: OpenAITestServer, make: Factory) -> None:
    assert make().complete([]) == [] and make().chat([]) == []
    assert server.requests == []


# -- pharia:skill@0.4: tools, structured output, reasoning ----------------------------------------

ADD = Function(
    "add",
    "Add two numbers",
    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
    strict=True,
)
LOOKUP = Function("lookup", parameters={"type": "object", "properties": {"name": {"type": "string"}}})


def tool_request(model: str = "test-model", **params: object) -> ChatRequest:
    return ChatRequest(model, [Message("user", "add 1 and 2")], ChatParams(**params))  # type: ignore[arg-type]


def test_chat_maps_the_0_4_parameters(server: OpenAITestServer, make: Factory) -> None:
    params = ChatParams(
        max_completion_tokens=50,
        tools=[ADD, Function("ping")],
        tool_choice=ToolChoice("named", "ping"),
        parallel_tool_calls=False,
        reasoning_effort="low",
    )
    [response] = make().chat([ChatRequest("test-model", [Message("user", "hi")], params)])
    assert server.requests == [
        {
            "model": "test-model",
            "messages": [{"role": "user", "content": "hi"}],
            "max_completion_tokens": 50,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "add",
                        "description": "Add two numbers",
                        "parameters": ADD.parameters,
                        "strict": True,
                    },
                },
                {"type": "function", "function": {"name": "ping"}},
            ],
            "tool_choice": {"type": "function", "function": {"name": "ping"}},
            "parallel_tool_calls": False,
            "reasoning_effort": "low",
        }
    ]
    assert response.message == Message("assistant", None, tool_calls=[ToolCall("call_0", "ping", "{}")])
    assert response.finish_reason is FinishReason.TOOL_CALLS


@pytest.mark.parametrize("kind", ["none", "auto", "required"])
def test_tool_choice_kinds_are_strings(server: OpenAITestServer, make: Factory, kind: str) -> None:
    [response] = make().chat([tool_request(tools=[ADD], tool_choice=ToolChoice(kind))])  # type: ignore[arg-type]
    assert server.requests[0]["tool_choice"] == kind
    if kind == "none":
        assert response.message == Message("assistant", "echo: add 1 and 2")
        assert response.finish_reason is FinishReason.STOP
    else:
        assert response.message.tool_calls == [ToolCall("call_0", "add", '{"a": 1, "b": 2}')]
        assert response.message.content is None


def test_tool_call_arguments_follow_the_parameters(make: Factory) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer"},
            "exact": {"type": "boolean"},
            "weight": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
    }
    tools = [Function("search", parameters=parameters), ADD]
    [response] = make().chat([tool_request(tools=tools)])
    assert response.message.tool_calls == [
        ToolCall("call_0", "search", '{"query": "x", "limit": 2, "exact": true, "weight": 4}')
    ]


def test_parallel_tool_calls(server: OpenAITestServer, make: Factory) -> None:
    backend = make()
    [both] = backend.chat([tool_request("parallel-tool-model", tools=[ADD, LOOKUP])])
    assert both.message.tool_calls == [
        ToolCall("call_0", "add", '{"a": 1, "b": 2}'),
        ToolCall("call_1", "lookup", '{"name": "x"}'),
    ]
    assert "parallel_tool_calls" not in server.requests[0]
    [one] = backend.chat(
        [tool_request("parallel-tool-model", tools=[ADD, LOOKUP], parallel_tool_calls=False)]
    )
    assert server.requests[1]["parallel_tool_calls"] is False
    assert one.message.tool_calls == [ToolCall("call_0", "add", '{"a": 1, "b": 2}')]
    [single] = backend.chat([tool_request("test-model", tools=[ADD, LOOKUP], parallel_tool_calls=True)])
    assert [call.name for call in single.message.tool_calls or []] == ["add"]


def test_tool_round_trip_messages_on_the_wire(server: OpenAITestServer, make: Factory) -> None:
    call = ToolCall("call_0", "add", '{"a": 1, "b": 2}')
    messages = [
        Message("SYSTEM", "be brief"),
        Message("User", "add 1 and 2"),
        Message("assistant", None, reasoning_content="I should add", tool_calls=[call]),
        Message("tool", "3", tool_call_id="call_0"),
    ]
    [response] = make().chat([ChatRequest("test-model", messages, ChatParams(tools=[ADD]))])
    assert server.requests[0]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "add 1 and 2"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "content": "3", "tool_call_id": "call_0"},
    ]
    assert response.message == Message("assistant", "The tool said: 3")
    assert response.finish_reason is FinishReason.STOP
    [plain] = make().chat(
        [ChatRequest("test-model", [Message("assistant", "earlier"), Message("user", "hi")])]
    )
    assert server.requests[1]["messages"][0] == {"role": "assistant", "content": "earlier"}
    assert plain.message.content == "echo: hi"


def test_streamed_tool_calls(make: Factory) -> None:
    request = tool_request("parallel-tool-model", tools=[ADD, LOOKUP], logprobs=Logprobs("sampled"))
    events = list(make().chat_stream(request))
    assert [e.kind for e in events] == ["message-begin"] + ["tool-call"] * 6 + ["message-end", "usage"]
    assert events[1].value == [ToolCallChunk(0, "call_0", "add", "")]
    assert events[2].value == [ToolCallChunk(0, None, None, '{"a": 1,')]
    assert events[3].value == [ToolCallChunk(0, None, None, ' "b": 2}')]
    assert events[4].value == [ToolCallChunk(1, "call_1", "lookup", "")]
    calls: dict[int, str] = {}
    for event in events[1:7]:
        for chunk in event.value:  # type: ignore[union-attr]
            calls[chunk.index] = calls.get(chunk.index, "") + (chunk.arguments or "")
    assert calls == {0: '{"a": 1, "b": 2}', 1: '{"name": "x"}'}
    assert events[7].value is FinishReason.TOOL_CALLS


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Point(pydantic.BaseModel):
    x: float
    label: str | None = None


class Shape(pydantic.BaseModel):
    name: str
    sides: int
    filled: bool
    color: Color
    corners: list[Point]
    center: Point


def test_json_schema_response_format(server: OpenAITestServer, make: Factory) -> None:
    schema = Shape.model_json_schema()
    assert "$defs" in schema  # pydantic refers to Point and Color
    response_format = ResponseFormat("json-schema", "shape", "A shape", schema, strict=True)
    [response] = make().chat([chat_request("draw", response_format=response_format)])
    assert server.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "shape", "description": "A shape", "schema": schema, "strict": True},
    }
    shape = Shape.model_validate_json(response.message.content or "")
    assert shape == Shape(
        name="text",
        sides=1,
        filled=True,
        color=Color.RED,
        corners=[Point(x=1.5, label="text")],
        center=Point(x=1.5, label="text"),
    )
    [bare] = make().chat([chat_request("draw", response_format=ResponseFormat("json-schema", "any"))])
    assert server.requests[1]["response_format"] == {"type": "json_schema", "json_schema": {"name": "any"}}
    assert bare.message.content == "{}"


def test_json_object_and_text_response_formats(server: OpenAITestServer, make: Factory) -> None:
    [data] = make().chat([chat_request("hello", response_format=ResponseFormat("json-object"))])
    assert server.requests[0]["response_format"] == {"type": "json_object"}
    assert json.loads(data.message.content or "") == {"echo": "hello"}
    [text] = make().chat([chat_request("hello", response_format=ResponseFormat("text"))])
    assert server.requests[1]["response_format"] == {"type": "text"}
    assert text.message.content == "echo: hello"


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning"])
def test_reasoning_content(server: OpenAITestServer, make: Factory, style: str) -> None:
    server.reasoning_style = style
    [response] = make().chat([chat_request("why?", model="reasoning-model", reasoning_effort="high")])
    assert server.requests[0]["reasoning_effort"] == "high"
    assert response.message == Message("assistant", "echo: why?", reasoning_content="Thinking about: why?")
    assert response.usage.completion == 2 + 3


def test_reasoning_stream_comes_before_the_content(make: Factory) -> None:
    events = list(
        make().chat_stream(chat_request("a b", model="reasoning-model", logprobs=Logprobs("sampled")))
    )
    kinds = [e.kind for e in events]
    assert kinds == ["message-begin"] + ["reasoning"] * 4 + ["message-append"] * 3 + ["message-end", "usage"]
    assert "".join(e.value for e in events[1:5]) == "Thinking about: a b"  # type: ignore[misc]
    assert "".join(e.value.content for e in events[5:8]) == "echo: a b"  # type: ignore[union-attr]
    assert events[5].value.logprobs[0].sampled.token == b"echo:"  # type: ignore[union-attr]


def test_reasoning_model_calls_tools_after_reasoning(make: Factory) -> None:
    [response] = make().chat([tool_request("reasoning-model", tools=[ADD])])
    assert response.message.reasoning_content == "Thinking about: add 1 and 2"
    assert response.message.tool_calls == [ToolCall("call_0", "add", '{"a": 1, "b": 2}')]
    events = list(make().chat_stream(tool_request("reasoning-model", tools=[ADD])))
    kinds = [e.kind for e in events]
    assert kinds == ["message-begin"] + ["reasoning"] * 6 + ["tool-call"] * 3 + ["message-end", "usage"]


def test_think_tags_are_split_only_when_configured(server: OpenAITestServer, make: Factory) -> None:
    server.reasoning_style = "think"
    request = chat_request("why not", model="reasoning-model")
    [raw] = make().chat([request])
    assert raw.message == Message("assistant", "<think>Thinking about: why not</think>echo: why not")
    backend = make(think_tags=True)
    [split] = backend.chat([request])
    assert split.message == Message("assistant", "echo: why not", reasoning_content="Thinking about: why not")
    events = list(backend.chat_stream(request))
    # The words arrive as "<think>Thinking", " about:", " why", " not</think>echo:", " why", " not".
    assert [(e.kind, getattr(e.value, "content", e.value)) for e in events[:-2]] == [
        ("message-begin", "assistant"),
        ("reasoning", "Thinking"),
        ("reasoning", " about:"),
        ("reasoning", " why"),
        ("reasoning", " not"),
        ("message-append", "echo:"),
        ("message-append", " why"),
        ("message-append", " not"),
    ]
    assert events[-2].value is FinishReason.STOP
    untouched = list(make().chat_stream(request))
    assert "".join(e.value.content for e in untouched if e.kind == "message-append").startswith("<think>")  # type: ignore[union-attr]


def test_backend_spellings_the_loopback_server_does_not_send() -> None:
    """OpenAI's ``model_not_found`` code, ``function_call``, object arguments, vLLM's empty list."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["model"] == "gone":
            error = {"message": "no access", "type": "invalid_request_error", "code": "model_not_found"}
            return httpx.Response(400, json={"error": error})
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
        if body.get("stream"):
            chunk = {
                "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "function_call"}]
            }
            return httpx.Response(200, text=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n")
        calls = [call] if body["model"] == "calls" else []
        message = {"role": "assistant", "content": "ok", "tool_calls": calls}
        choice = {"index": 0, "message": message, "finish_reason": "function_call"}
        return httpx.Response(200, json={"choices": [choice]})

    backend = OpenAIInference(
        OpenAIInferenceConfig(url="http://backend/v1"), transport=httpx.MockTransport(answer)
    )
    with pytest.raises(ModelNotFound) as caught:
        backend.chat([chat_request("x", model="gone")])
    assert caught.value.detail.endswith("no access")
    [called] = backend.chat([chat_request("x", model="calls")])
    assert called.message.tool_calls == [ToolCall("c1", "f", '{"a": 1}')]
    assert called.finish_reason is FinishReason.TOOL_CALLS
    [plain] = backend.chat([chat_request("x", model="plain")])
    assert plain.message == Message("assistant", "ok")
    events = list(backend.chat_stream(chat_request("x", model="calls")))
    assert events[:3] == [
        ChatEvent("message-begin", "assistant"),
        ChatEvent("tool-call", [ToolCallChunk(0, "c1", "f", '{"a": 1}')]),
        ChatEvent("message-end", FinishReason.TOOL_CALLS),
    ]
    assert events[3] == ChatEvent("usage", TokenUsage(0, 0))


# -- mapping documentation ------------------------------------------------------------------------


def test_parameter_mapping_covers_every_wit_parameter() -> None:
    for prefix, params in (("completion-params", CompletionParams), ("chat-params", ChatParams)):
        for param in dataclasses.fields(params):
            assert f"{prefix}.{param.name.replace('_', '-')}" in PARAMETER_MAPPING
    assert "| `completion-params.top-k` |" in parameter_mapping_markdown()


def test_legacy_bytes_tokens_are_decoded() -> None:
    assert _token_bytes("bytes:\\xe2\\x80") == b"\xe2\x80"
    assert _token_bytes(" grüß") == " grüß".encode()
