"""OpenAIInference against a real OpenAI-compatible HTTP server on loopback (no Django)."""

from __future__ import annotations

import dataclasses
import math
import socket
import time
from collections.abc import Callable, Iterator

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
    ChatParams,
    ChatRequest,
    CompletionParams,
    CompletionRequest,
    CsiError,
    ExplanationRequest,
    FinishReason,
    InvalidCsiRequest,
    Logprobs,
    Message,
    TokenUsage,
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


def test_chat_tool_calls_finish_as_stop(make: Factory) -> None:
    [response] = make().chat([chat_request("weather?", model="tool-model")])
    assert response.message == Message("assistant", "")
    assert response.finish_reason is FinishReason.STOP
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


def test_tool_model_chat_stream_has_no_content(make: Factory) -> None:
    events = list(make().chat_stream(chat_request("weather?", model="tool-model")))
    assert [(e.kind, e.value) for e in events[:2]] == [
        ("message-begin", "assistant"),
        ("message-end", "stop"),
    ]
    assert [e.kind for e in events] == ["message-begin", "message-end", "usage"]


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
    with pytest.raises(InvalidCsiRequest, match="does not exist"):
        make().chat_stream(chat_request("x", model="missing-model"))
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
    with pytest.raises(InvalidCsiRequest, match="model 'other' is not available on this kernel"):
        backend.complete([CompletionRequest("test-model", "a"), CompletionRequest("other", "b")])
    with pytest.raises(InvalidCsiRequest, match="'other'"):
        backend.chat_stream(chat_request("x", model="other"))
    assert server.requests == []
    assert backend.complete([CompletionRequest("test-model", "a")])[0].text == "echo: a"


def test_model_map_renames_models(server: OpenAITestServer, make: Factory) -> None:
    backend = make(model_map={"llama-3.1-8b": "test-model"}, allowed_models=frozenset({"llama-3.1-8b"}))
    [response] = backend.chat([chat_request("hi", model="llama-3.1-8b")])
    assert response.message.content == "echo: hi"
    assert server.requests[0]["model"] == "test-model"
    unmapped = make(model_map={"pharia": "gone-model"})
    with pytest.raises(InvalidCsiRequest, match="model 'pharia' \\(backend model 'gone-model'\\)"):
        unmapped.complete([CompletionRequest("pharia", "x")])


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
    with pytest.raises(InvalidCsiRequest) as caught:
        make().complete([CompletionRequest("no-such-model", "x")])
    message = (
        "model 'no-such-model' is not known to the inference backend: The model `no-such-model` does not"
    )
    assert str(caught.value) == message + " exist."


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


# -- mapping documentation ------------------------------------------------------------------------


def test_parameter_mapping_covers_every_wit_parameter() -> None:
    for prefix, params in (("completion-params", CompletionParams), ("chat-params", ChatParams)):
        for param in dataclasses.fields(params):
            assert f"{prefix}.{param.name.replace('_', '-')}" in PARAMETER_MAPPING
    assert "| `completion-params.top-k` |" in parameter_mapping_markdown()


def test_legacy_bytes_tokens_are_decoded() -> None:
    assert _token_bytes("bytes:\\xe2\\x80") == b"\xe2\x80"
    assert _token_bytes(" grüß") == " grüß".encode()
