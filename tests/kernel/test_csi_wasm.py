"""Skills built with the SDK call every CSI function inside wasm, through the kernel API, against the
real loopback backends: the OpenAI-compatible test server, the DocumentIndex test server and an MCP
server attached to the namespace. Tool calls show up as ``tool`` events in message streams."""

from __future__ import annotations

import json

import pytest

from skills.models import McpServer, Namespace
from skills.services import csi as csi_backends
from tests.support.mcp_server import McpTestServer
from tests.support.openai_server import OpenAITestServer
from tests.support.sse import events


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer() as server:
        yield server


@pytest.fixture(scope="module")
def mcp_server():
    with McpTestServer() as server:
        yield server


@pytest.fixture
def backends(settings, openai_server, document_index):
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.DOCUMENT_INDEX_URL = document_index.url
    return settings


def sink(caller, action, **fields):
    response = caller.run("test/sink", {"action": action, **fields})
    return response.status_code, response.json()


CALLS = [
    # (action, input fields, expected result)
    (
        "complete",
        {"text": "hello world"},
        {"text": "echo: hello world", "finish_reason": "stop", "usage": [2, 3]},
    ),
    ("complete_stream", {"text": "a b c", "payload": 2}, {"text": "echo: a", "finish_reason": "length"}),
    ("chat", {"text": "hi"}, {"content": "echo: hi", "role": "assistant", "finish_reason": "stop"}),
    ("chat_stream", {"text": "x y"}, {"text": "echo: x y", "finish_reason": "stop"}),
    ("search", {"text": "kernel skills"}, None),
    ("documents", {"text": "homer"}, "[Text(text='Hello Homer', modality='text')]"),
    ("document_metadata", {"text": "kernel/faq"}, {"lang": "en"}),
    ("invoke_tool", {"tool": "add", "arguments": {"a": 2, "b": 3}}, ["5"]),
    ("invoke_tool", {"tool": "multiply", "arguments": {"a": 6, "b": 7}}, ["42"]),
    ("list_tools", {}, ["add", "echo", "fail", "header", "multiply", "saboteur", "sleep", "subtract"]),
    ("select_language", {"text": "Dies ist ein deutscher Satz über das Wetter."}, "deu"),
    ("chunk", {"text": "One sentence here. " * 10, "model": "gpt-4o", "payload": 8}, None),
]


def test_every_csi_function_inside_wasm(kernel, backends, mcp_server):
    McpServer.objects.create(namespace=Namespace.objects.get(name="test"), name="math", url=mcp_server.url)
    alice = kernel["alice"]
    for action, fields, expected in CALLS:
        status, body = sink(alice, action, **fields)
        assert status == 200, (action, body)
        if expected is not None:
            assert body["result"] == expected, action
    status, body = sink(alice, "search", text="kernel skills")
    assert body["result"][0] == "The Pharia Kernel runs skills as WebAssembly components."
    status, body = sink(alice, "chunk", text="One sentence here. " * 10, model="gpt-4o", payload=8)
    chunks = body["result"]
    assert len(chunks) > 1 and chunks[0][1] == 0 and "".join(text for text, _ in chunks).count("One") == 10


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"action": "complete", "model": "no-such-model"}, "no-such-model"),
        ({"action": "complete", "model": "ratelimited-model"}, "rate limited"),
        ({"action": "chat", "model": "broken-model"}, "CUDA out of memory"),
        ({"action": "explain"}, "explain is not supported by this inference backend"),
        ({"action": "documents", "text": "missing"}, "document ns/collection/missing not found"),
        ({"action": "chunk", "model": "no-such-model"}, "unknown model 'no-such-model'"),
    ],
)
def test_csi_errors_reach_the_caller_as_clear_messages(kernel, backends, fields, words):
    response = kernel["alice"].run("test/sink", fields)
    assert response.status_code in (400, 502), response.content
    assert words in json.dumps(response.json())


def test_without_a_document_index_the_run_says_so(kernel, settings):
    settings.DOCUMENT_INDEX_URL = ""
    settings.DOCUMENTS_BUILTIN = False  # the built-in index is the default (tests/documents)
    response = kernel["alice"].run("test/sink", {"action": "search", "text": "x"})
    assert "document index is not configured on this kernel" in json.dumps(response.json())


def test_a_namespace_can_bring_its_own_inference_backend(kernel, settings, openai_server):
    settings.OPENAI_INFERENCE_URL = "http://127.0.0.1:9/v1"  # the kernel's backend is down
    namespace = Namespace.objects.get(name="test")
    namespace.inference_url = openai_server.url
    namespace.inference_token = "namespace-token"
    namespace.inference_models = "test-model"
    namespace.save()
    status, body = sink(kernel["alice"], "chat", text="hi")
    assert (status, body["result"]["content"]) == (200, "echo: hi")
    assert openai_server.headers[-1]["Authorization"] == "Bearer namespace-token"
    response = kernel["alice"].run("test/sink", {"action": "chat", "model": "slow-model"})
    assert "model 'slow-model' is not available on this kernel" in json.dumps(response.json())


def test_backends_are_shared_per_configuration(kernel, settings, openai_server):
    settings.OPENAI_INFERENCE_URL = openai_server.url
    namespace = Namespace.objects.get(name="test")
    assert csi_backends.inference_for(namespace) is csi_backends.inference_for(None)
    assert csi_backends.tools_for(namespace) is csi_backends.tools_for(Namespace.objects.get(name="test"))
    namespace.native_tools = "add"
    assert csi_backends.tools_for(namespace) is not csi_backends.tools_for(Namespace.objects.get(name="test"))
    settings.OPENAI_INFERENCE_MODEL_MAP = '{"kernel-name": "test-model"}'
    status, body = sink(kernel["alice"], "complete", text="mapped", model="kernel-name")
    assert (status, body["result"]["text"]) == (200, "echo: mapped")
    assert openai_server.requests[-1]["model"] == "test-model"


def stream(caller, body):
    return events(caller.client.post("/v1/skills/test/stream/message-stream", body, format="json"))


def test_tool_calls_are_tool_events_in_message_streams(kernel):
    received = stream(kernel["alice"], {"text": "one two", "tool": "add"})
    assert received[:3] == [
        ("tool", {"name": "add", "type": "begin"}),
        ("tool", {"name": "add", "type": "end"}),
        ("message", {"type": "begin"}),
    ]
    assert received[-1] == ("message", {"type": "end", "payload": {"words": 2}})


def test_a_failing_tool_is_a_tool_error_event_as_in_pharia_engine(kernel):
    received = stream(kernel["alice"], {"text": "one", "tool": "saboteur"})
    assert received[:2] == [
        ("tool", {"name": "saboteur", "type": "begin"}),
        ("tool", {"type": "error", "name": "saboteur", "message": "Out of cheese."}),
    ]
    assert received[-1][0] == "error" and set(received[-1][1]) == {"message"}
