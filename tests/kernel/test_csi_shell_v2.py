"""``/csi/v2`` (and v1's answers to the same 0.4 requests): PhariaEngine's ``v2.rs`` shapes, byte for
byte, and the current SDK source's DevCsi against both routes of a live kernel.

The shape tests put a scripted inference backend behind the shell, so every event kind and field
is pinned exactly (the PhariaEngine tests ``stream_tool_calling_via_csi``,
``stream_with_reasoning_via_csi`` and ``message_content_can_be_none`` are ported as they are). The
SDK tests run ``tests/support/devcsi_client.py`` under the ``sdk-main-e5b293f`` toolchain against the
OpenAI-compatible, DocumentIndex and MCP test servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from runtime.csi import types as t
from runtime.csi.openai import RateLimited
from skills import builder
from skills.csi_shell import v1, v2
from tests.kernel.test_csi_shell_devcsi import TOOLS, developer_token, failed, ok, run_devcsi
from tests.kernel.test_csi_shell_devcsi import csi_backends as csi_backends  # noqa: F401 - fixtures
from tests.kernel.test_csi_shell_devcsi import document_index as document_index  # noqa: F401
from tests.kernel.test_csi_shell_devcsi import mcp_server as mcp_server  # noqa: F401
from tests.kernel.test_csi_shell_devcsi import openai_server as openai_server  # noqa: F401
from tests.support.callers import client_with_role

SDK_MAIN = f"sdk-main-{builder.SDK_MAIN_COMMIT}"
ADD = {
    "name": "add",
    "description": "Add two numbers",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
}
USER = {"role": "user", "content": "Hello, world!"}


class ScriptedInference:
    """An inference backend that records requests and answers with what the test scripted."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.events: list[Any] = []
        self.response: t.ChatResponse | None = None
        self.fail_open: Exception | None = None
        self.fail_after: Exception | None = None

    def _stream(self) -> Iterator[Any]:
        yield from self.events
        if self.fail_after is not None:
            raise self.fail_after

    def chat(self, requests: list[t.ChatRequest]) -> list[t.ChatResponse]:
        self.requests += requests
        assert self.response is not None
        return [self.response] * len(requests)

    def chat_stream(self, request: t.ChatRequest) -> Iterator[t.ChatEvent]:
        self.requests.append(request)
        if self.fail_open is not None:
            raise self.fail_open
        return self._stream()

    def completion_stream(self, request: t.CompletionRequest) -> Iterator[t.CompletionEvent]:
        return self.chat_stream(request)  # type: ignore[arg-type]


@pytest.fixture
def scripted(monkeypatch) -> ScriptedInference:
    backend = ScriptedInference()
    monkeypatch.setattr("skills.services.csi.inference_for", lambda namespace=None: backend)
    return backend


@pytest.fixture
def client(db) -> APIClient:
    return client_with_role("dev")


def post(client: APIClient, path: str, body: Any, **extra: Any):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def body_of(response) -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/event-stream"
    return b"".join(response.streaming_content).decode()


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


# -- PhariaEngine's own v2.rs tests, ported ---------------------------------------------------------


def test_stream_tool_calling_via_csi(client, scripted):
    scripted.events = [
        t.ChatEvent("message-begin", "tool"),
        t.ChatEvent("tool-call", [t.ToolCallChunk(index=0, id="1", name="add", arguments=None)]),
    ]
    params = {
        "logprobs": "no",
        "tools": [ADD],
        "tool_choice": {"named": "add"},
        "parallel_tool_calls": True,
        "response_format": {"json_schema": {"name": "add"}},
    }
    body = body_of(
        post(client, "/csi/v2/chat_stream", {"model": "dummy", "messages": [USER], "params": params})
    )

    assert body == (
        'event: message_begin\ndata: {"role":"tool"}\n\n'
        'event: tool_call\ndata: {"tool_calls":[{"index":0,"id":"1","name":"add","arguments":null}]}\n\n'
    )
    [request] = scripted.requests
    assert request.params.tools == [t.Function("add", "Add two numbers", ADD["parameters"], None)]
    assert request.params.tool_choice == t.ToolChoice("named", "add")
    assert request.params.parallel_tool_calls is True
    assert request.params.response_format == t.ResponseFormat("json-schema", name="add")


def test_stream_with_reasoning_via_csi(client, scripted):
    scripted.events = [t.ChatEvent("reasoning", "reasoning_content")]
    body = body_of(
        post(
            client,
            "/csi/v2/chat_stream",
            {"model": "dummy", "messages": [USER], "params": {"logprobs": "no"}},
        )
    )
    assert body == 'event: reasoning\ndata: {"content":"reasoning_content"}\n\n'


CONVERSATION = [
    {"role": "developer", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the result of 1 + 2?"},
    {"role": "assistant", "tool_calls": [{"id": "1", "name": "add", "arguments": '{"a": 1, "b": 2}'}]},
    {"role": "tool", "content": "Result of the tool call is 3", "tool_call_id": "1"},
]


def test_message_content_can_be_none(client, scripted):
    scripted.response = t.ChatResponse(
        t.Message("assistant", None), t.FinishReason.STOP, [], t.TokenUsage(0, 0)
    )
    response = post(
        client, "/csi/v2/chat", [{"model": "dummy", "messages": CONVERSATION, "params": {"logprobs": "no"}}]
    )

    assert response.status_code == 200
    assert response.json() == [
        {
            "message": {
                "role": "assistant",
                "content": None,
                "reasoning_content": None,
                "tool_calls": None,
                "tool_call_id": None,
            },
            "finish_reason": "stop",
            "logprobs": [],
            "usage": {"prompt": 0, "completion": 0},
        }
    ]
    [request] = scripted.requests
    assert request.messages == [
        t.Message("developer", "You are a helpful assistant."),
        t.Message("user", "What is the result of 1 + 2?"),
        t.Message("assistant", None, tool_calls=[t.ToolCall("1", "add", '{"a": 1, "b": 2}')]),
        t.Message("tool", "Result of the tool call is 3", tool_call_id="1"),
    ]


@pytest.fixture
def namespace_tools(db, client, monkeypatch):
    """Namespace ``42`` where the caller may invoke, with a scripted tool backend."""
    from django.contrib.auth.models import Group

    from skills.models import Namespace, NamespaceGrant

    class ScriptedTools:
        requests: list[t.InvokeRequest] = []

        def list_tools(self):
            schema = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}
            return [
                t.Tool("divide", "Divide two numbers", b"{}"),
                t.Tool("add", "Add two numbers", json.dumps({**schema, "required": ["a", "b"]}).encode()),
            ]

        def invoke_tool(self, requests):
            self.requests.extend(requests)
            return [t.ToolOutput(["3"]), t.ToolFailure("Out of cheese!")][: len(requests)]

    tools = ScriptedTools()
    group = Group.objects.create(name="devs")
    User.objects.get(username="dev").groups.add(group)
    NamespaceGrant.objects.create(namespace=Namespace.objects.create(name="42"), group=group)
    monkeypatch.setattr("skills.services.csi.tools_for", lambda namespace: tools)
    return tools


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_csi_shell_can_list_tools_sorted(client, namespace_tools, version):
    response = post(client, f"/csi/{version}/list_tools", {"namespace": "42"})
    assert response.content.decode() == (
        '[{"name":"add","description":"Add two numbers","input_schema":{"type":"object","properties":'
        '{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}},'
        '{"name":"divide","description":"Divide two numbers","input_schema":{}}]'
    )


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_tool_invocation_via_csi_shell_and_its_error_as_a_string(client, namespace_tools, version):
    body = {
        "namespace": "42",
        "requests": [
            {"name": "add", "arguments": [{"name": "a", "value": 1}, {"name": "b", "value": 2}]},
            {"name": "saboteur", "arguments": []},
        ],
    }
    response = post(client, f"/csi/{version}/invoke_tool", body)
    assert response.status_code == 200
    assert response.content.decode() == '[[{"type":"text","text":"3"}],"Out of cheese!"]'
    add = namespace_tools.requests[0]
    assert (add.tool_name, add.arguments) == ("add", [t.Argument("a", b"1"), t.Argument("b", b"2")])


# -- every chat event and field, v2 against v1 -----------------------------------------------------

EVENTS = [
    t.ChatEvent("message-begin", "assistant"),
    t.ChatEvent("reasoning", "Let me think"),
    t.ChatEvent("message-append", t.MessageAppend("Hi ünï", [t.Distribution(t.Logprob(b"Hi", -0.5))])),
    t.ChatEvent(
        "tool-call",
        [t.ToolCallChunk(0, id="call_0", name="add", arguments=""), t.ToolCallChunk(0, arguments='{"a": 1}')],
    ),
    t.ChatEvent("message-end", t.FinishReason.TOOL_CALLS),
    t.ChatEvent("usage", t.TokenUsage(3, 4)),
]
BEGIN = sse("message_begin", '{"role":"assistant"}')
TOOL_CALL = sse(
    "tool_call",
    '{"tool_calls":[{"index":0,"id":"call_0","name":"add","arguments":""},'
    '{"index":0,"id":null,"name":null,"arguments":"{\\"a\\": 1}"}]}',
)
USAGE = sse("usage", '{"usage":{"prompt":3,"completion":4}}')


def test_v2_streams_reasoning_tool_calls_and_appends_without_logprobs(client, scripted):
    scripted.events = EVENTS
    body = body_of(
        post(client, "/csi/v2/chat_stream", {"model": "m", "messages": [USER], "params": {"tools": [ADD]}})
    )
    assert body == (
        BEGIN
        + sse("reasoning", '{"content":"Let me think"}')
        + sse("message_append", '{"content":"Hi ünï"}')
        + TOOL_CALL
        + sse("message_end", '{"finish_reason":"tool_calls"}')
        + USAGE
    )


def test_v1_streams_tool_calls_and_logprobs_but_no_reasoning(client, scripted):
    scripted.events = EVENTS
    body = body_of(
        post(client, "/csi/v1/chat_stream", {"model": "m", "messages": [USER], "params": {"tools": [ADD]}})
    )
    assert body == (
        BEGIN
        + sse(
            "message_append",
            '{"content":"Hi ünï","logprobs":[{"sampled":{"token":[72,105],"logprob":-0.5},"top":[]}]}',
        )
        + TOOL_CALL
        + sse("message_end", '{"finish_reason":"tool_calls"}')
        + USAGE
    )


def test_v1_answers_a_request_without_tools_as_the_0_3_world_sees_it(client, scripted):
    scripted.events = EVENTS
    body = body_of(post(client, "/csi/v1/chat_stream", {"model": "m", "messages": [USER], "params": {}}))
    assert "tool_call" not in body and "reasoning" not in body
    assert body.endswith(sse("message_end", '{"finish_reason":"stop"}') + USAGE)

    scripted.response = t.ChatResponse(
        t.Message("assistant", None, reasoning_content="hm", tool_calls=[t.ToolCall("c", "add", "{}")]),
        t.FinishReason.TOOL_CALLS,
        [],
        t.TokenUsage(1, 2),
    )
    [plain] = post(client, "/csi/v1/chat", [{"model": "m", "messages": CONVERSATION}]).json()
    assert plain["message"] == {"role": "assistant", "content": "", "tool_call_id": None, "tool_calls": None}
    assert plain["finish_reason"] == "stop"
    # offering tools, v1 passes the calls on (PhariaEngine's v1 shape: no reasoning_content)
    [called] = post(
        client, "/csi/v1/chat", [{"model": "m", "messages": [USER], "params": {"tools": [ADD]}}]
    ).json()
    assert called["message"] == {
        "role": "assistant",
        "content": None,
        "tool_call_id": None,
        "tool_calls": [{"id": "c", "name": "add", "arguments": "{}"}],
    }
    assert called["finish_reason"] == "tool_calls"


def test_v2_chat_answers_reasoning_and_tool_calls(client, scripted):
    scripted.response = t.ChatResponse(
        t.Message(
            "assistant", "Sure", reasoning_content="hm", tool_calls=[t.ToolCall("c", "add", '{"a":1}')]
        ),
        t.FinishReason.TOOL_CALLS,
        [t.Distribution(t.Logprob(b"S", float("nan")), [t.Logprob(b"S", -1.0)])],
        t.TokenUsage(1, 2),
    )
    response = post(client, "/csi/v2/chat", [{"model": "m", "messages": [USER]}])
    assert response.content.decode() == json.dumps(
        [
            {
                "message": {
                    "role": "assistant",
                    "content": "Sure",
                    "reasoning_content": "hm",
                    "tool_call_id": None,
                    "tool_calls": [{"id": "c", "name": "add", "arguments": '{"a":1}'}],
                },
                "finish_reason": "tool_calls",
                "logprobs": [
                    {"sampled": {"token": [83], "logprob": None}, "top": [{"token": [83], "logprob": -1.0}]}
                ],
                "usage": {"prompt": 1, "completion": 2},
            }
        ],
        separators=(",", ":"),
    )


# -- the 0.4 request shapes: PhariaEngine's spelling and the current SDK's --------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_both_spellings_of_tool_choice_and_response_format_mean_the_same(client, scripted, version):
    scripted.events = [t.ChatEvent("message-begin", "assistant")]
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    engine = {
        "tools": [ADD],
        "tool_choice": {"named": "add"},
        "response_format": {"json_schema": {"name": "out", "schema": schema, "strict": True}},
    }
    sdk = {  # what pharia-skill's ChatRequestSerializer(...).model_dump() sends
        "tools": [{**ADD, "strict": None}],
        "tool_choice": {"name": "add"},
        "response_format": {"name": "out", "description": None, "schema": schema, "strict": True},
    }
    shared = {"max_completion_tokens": 9, "parallel_tool_calls": False, "reasoning_effort": "minimal"}
    for params in (engine, sdk):
        body_of(
            post(
                client,
                f"/csi/{version}/chat_stream",
                {"model": "m", "messages": [USER], "params": {**params, **shared}},
            )
        )
    first, second = (request.params for request in scripted.requests)
    assert first == second
    assert first.tool_choice == t.ToolChoice("named", "add")
    assert first.response_format == t.ResponseFormat("json-schema", name="out", schema=schema, strict=True)
    assert (first.max_completion_tokens, first.parallel_tool_calls, first.reasoning_effort) == (
        9,
        False,
        "minimal",
    )
    for choice, expected in (
        ("auto", t.ToolChoice("auto")),
        ("none", t.ToolChoice("none")),
        ("required", t.ToolChoice("required")),
    ):
        body_of(
            post(
                client,
                f"/csi/{version}/chat_stream",
                {"model": "m", "messages": [USER], "params": {"tool_choice": choice}},
            )
        )
        assert scripted.requests[-1].params.tool_choice == expected
    for fmt, kind in (("text", "text"), ("json_object", "json-object")):
        body_of(
            post(
                client,
                f"/csi/{version}/chat_stream",
                {"model": "m", "messages": [USER], "params": {"response_format": fmt}},
            )
        )
        assert scripted.requests[-1].params.response_format == t.ResponseFormat(kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("params", "messages", "words"),
    [
        ({"tool_choice": "sometimes"}, [USER], 'params.tool_choice: expected "none", "auto", "required"'),
        ({"tool_choice": {"named": 3}}, [USER], "params.tool_choice.named: expected a string"),
        ({"response_format": "yaml"}, [USER], 'params.response_format: expected "text", "json_object"'),
        (
            {"response_format": {"json_schema": {}}},
            [USER],
            "params.response_format.json_schema.name: this field",
        ),
        ({"reasoning_effort": "extreme"}, [USER], "params.reasoning_effort: expected one of minimal, low"),
        ({"tools": [{"description": "x"}]}, [USER], "params.tools[0].name: this field is required"),
        ({"parallel_tool_calls": "yes"}, [USER], "params.parallel_tool_calls: expected a boolean"),
        ({"max_completion_tokens": 0}, [USER], "params.max_completion_tokens: must be at least 1"),
        ({}, [{"role": "tool", "tool_call_id": "1"}], "messages[0].content: this field is required"),
        ({}, [{"role": "user", "content": None}], "messages[0].content: expected a string, got null"),
        (
            {},
            [{"role": "assistant", "tool_calls": [{"id": "1", "name": "add"}]}],
            "messages[0].tool_calls[0].arguments",
        ),
    ],
)
def test_bad_0_4_input_is_a_clear_400(client, scripted, params, messages, words):
    response = post(client, "/csi/v2/chat_stream", {"model": "m", "messages": messages, "params": params})
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]
    assert scripted.requests == []


def test_a_tool_message_without_id_and_an_assistant_message_without_content_are_accepted(client, scripted):
    scripted.events = []
    messages = [USER, {"role": "assistant", "content": None}, {"role": "tool", "content": "3"}]
    body_of(post(client, "/csi/v2/chat_stream", {"model": "m", "messages": messages}))
    assert scripted.requests[0].messages[1:] == [
        t.Message("assistant", None),
        t.Message("tool", "3", tool_call_id=""),
    ]


# -- failures of a stream are events of a 200 -------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("function", ["chat_stream", "completion_stream"])
def test_an_unknown_model_at_stream_creation_is_a_200_and_phariaengines_error_event(
    client, scripted, version, function
):
    scripted.fail_open = t.ModelNotFound("model 'nope' is not known to the inference backend")
    body = {"model": "nope", "prompt": "x", "messages": [USER]}
    assert body_of(post(client, f"/csi/{version}/{function}", body)) == sse(
        "error", json.dumps({"message": t.MODEL_NOT_FOUND_MESSAGE}, separators=(",", ":"))
    )


def test_other_failures_opening_or_during_a_stream_are_error_events_too(client, scripted):
    scripted.fail_open = RateLimited("inference backend rate limited the request", "1")
    assert body_of(post(client, "/csi/v2/chat_stream", {"model": "m", "messages": [USER]})) == sse(
        "error", '{"message":"inference backend rate limited the request"}'
    )
    scripted.fail_open = None
    scripted.events = [t.ChatEvent("message-begin", "assistant")]
    scripted.fail_after = t.CsiError("inference backend failed mid-stream: boom")
    assert body_of(post(client, "/csi/v2/chat_stream", {"model": "m", "messages": [USER]})) == BEGIN + sse(
        "error", '{"message":"inference backend failed mid-stream: boom"}'
    )
    scripted.fail_after = RuntimeError("a bug")
    assert body_of(post(client, "/csi/v2/chat_stream", {"model": "m", "messages": [USER]})) == BEGIN + sse(
        "error", '{"message":"the stream failed: RuntimeError"}'
    )


def test_v2_offers_every_function_and_the_api_s_authentication(client):
    assert set(v2.FUNCTIONS) == set(v1.FUNCTIONS) and v2.FUNCTIONS["chat"] is not v1.FUNCTIONS["chat"]
    unknown = post(client, "/csi/v2/translate", [])
    assert (
        unknown.status_code == 404
        and "unknown CSI function 'translate'" in unknown.json()["error"]["message"]
    )
    assert client.get("/csi/v2/chat").status_code == 405
    assert APIClient().post("/csi/v2/chat", [], format="json").status_code == 401


# -- the current SDK source's DevCsi, live -----------------------------------------------------------


@pytest.fixture
def kernel_for_devcsi(transactional_db, live_server, csi_backends, mcp_server):  # noqa: F811
    return live_server.url, developer_token(mcp_server.url)


def _shared_expectations(r: dict[str, Any]) -> None:
    """What the current SDK sees on v1 and v2 alike."""
    assert ok(r, "complete")["text"] == "echo: hello world"
    assert ok(r, "complete_concurrent") == ["echo: n0", "echo: n1", "echo: n2"]
    stream = ok(r, "completion_stream")
    assert (stream["text"], stream["logprobs"]) == ("echo: streamed words here", 4)
    assert ok(r, "chat")["message"]["content"] == "echo: hi there"
    assert len(ok(r, "chat_logprobs")["logprobs"][0]["top"]) == 1
    assert ok(r, "chat_stream")["text"] == "echo: one two"
    assert failed(r, "completion_stream_unknown_model") == f"ValueError: {t.MODEL_NOT_FOUND_MESSAGE}"
    assert failed(r, "chat_stream_unknown_model") == f"ValueError: {t.MODEL_NOT_FOUND_MESSAGE}"
    assert "400" in failed(r, "complete_unknown_model")
    assert "429" in failed(r, "complete_rate_limited")
    assert ok(r, "chunk")[1]["character_offset"] > 0
    assert ok(r, "select_language") == "deu"
    assert [hit["document_path"]["name"] for hit in ok(r, "search_filtered")] == ["kernel/faq"]
    assert ok(r, "document_metadata") == [{"url": "https://pharia-kernel.product.pharia.com/"}]

    # tool calling, the way a 0.4 skill does it: tools offered, streamed calls merged by the SDK
    assert ok(r, "list_tools") == TOOLS
    assert ok(r, "list_tools_parameters")[0]["required"] == ["a", "b"]
    call = [{"id": "call_0", "name": "add", "arguments": {"a": 1, "b": 2}}]
    assert ok(r, "chat_stream_tool_calls") == call
    assert ok(r, "chat_stream_named_tool") == call  # the SDK's {"name": "add"} tool choice
    # the SDK's agent loop: list_tools -> tool call -> invoke_tool (native add) -> tool message -> answer
    assert ok(r, "chat_stream_agent") == {
        "content": "The tool said: 3",
        "conversation": ["user", "assistant", "tool"],
    }
    assert ok(r, "chat_history") == "The tool said: 3"  # an assistant message with tool calls, sent back
    assert json.loads(ok(r, "chat_structured")) == {"n": 1}  # the SDK's bare JsonSchema response format
    assert ok(r, "invoke_tool") == ["3"] and ok(r, "invoke_tool_mcp") == ["42"]
    assert failed(r, "invoke_tool_saboteur") == "ToolError: Out of cheese."
    assert failed(r, "invoke_tool_saboteur_with_arguments") == "ToolError: Out of cheese."
    assert "404" in failed(r, "invoke_tool_other_namespace")


def test_the_current_sdk_over_csi_v2(kernel_for_devcsi):
    r = run_devcsi(SDK_MAIN, *kernel_for_devcsi, sdk="main", csi_version="v2")
    assert r["url"].endswith("/csi/v2")
    _shared_expectations(r)

    reasoning = ok(r, "chat_reasoning")["message"]
    assert (reasoning["content"], reasoning["reasoning_content"]) == (
        "echo: why is the sky blue",
        "Thinking about: why is the sky blue",
    )
    events = ok(r, "chat_stream_reasoning")["events"]
    assert events == [
        ["Reasoning", "Thinking"],
        ["Reasoning", " about:"],
        ["Reasoning", " two"],
        ["Reasoning", " words"],
        ["MessageAppend", "echo:"],
        ["MessageAppend", " two"],
        ["MessageAppend", " words"],
    ]
    tool_stream = ok(r, "chat_stream_tool_model")
    assert (tool_stream["text"], tool_stream["finish_reason"]) == ("", "tool_calls")
    [raw] = ok(r, "chat_tool_calls_raw")
    assert raw["message"] == {
        "role": "assistant",
        "content": None,
        "reasoning_content": None,
        "tool_call_id": None,
        "tool_calls": [{"id": "call_0", "name": "add", "arguments": '{"a": 1, "b": 2}'}],
    }
    assert raw["finish_reason"] == "tool_calls"
    assert ok(r, "chat_reasoning_raw")[0]["message"]["reasoning_content"] == "Thinking about: what is 1 + 2?"
    # PhariaEngine sends a call's arguments as JSON text; this SDK commit reads them as an object when not
    # streamed, so a non-streamed chat that calls tools fails in the SDK, against PhariaEngine too
    assert "tool_calls.0.arguments" in failed(r, "chat_tool_model")


def test_the_current_sdk_over_csi_v1_its_default(kernel_for_devcsi):
    r = run_devcsi(SDK_MAIN, *kernel_for_devcsi, sdk="main")
    assert r["url"].endswith("/csi/v1")
    _shared_expectations(r)

    # v1 has no reasoning; its appends carry logprobs, which the SDK ignores
    assert ok(r, "chat_reasoning")["message"]["reasoning_content"] is None
    assert [kind for kind, _ in ok(r, "chat_stream_reasoning")["events"]] == ["MessageAppend"] * 3
    assert "reasoning_content" not in ok(r, "chat_reasoning_raw")[0]["message"]
    [raw] = ok(r, "chat_tool_calls_raw")
    assert raw["message"]["tool_calls"] == [{"id": "call_0", "name": "add", "arguments": '{"a": 1, "b": 2}'}]
    # a model calling tools nobody offered is answered as the 0.3 world saw it
    assert ok(r, "chat_tool_model")["message"] == {
        "role": "assistant",
        "content": "",
        "reasoning_content": None,
        "tool_calls": None,
        "tool_call_id": None,
    }
    assert ok(r, "chat_stream_tool_model")["finish_reason"] == "stop"
