"""Bad input to every CSI shell function is a 4xx with a clear JSON message, never a 500."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runtime.csi.types import MODEL_NOT_FOUND_MESSAGE
from skills.csi_shell.views import ALL_FUNCTIONS
from skills.models import Namespace, NamespaceGrant
from tests.support.openai_server import OpenAITestServer

COMPLETION = {"model": "test-model", "prompt": "hi", "params": {"max_tokens": 4}}
CHAT = {"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "params": {}}
CHUNK = {"text": "some text", "params": {"model": "gpt-4o", "max_tokens": 4}}
PATH = {"namespace": "Kernel", "collection": "test", "name": "doc"}
SEARCH = {"index_path": {"namespace": "n", "collection": "c", "index": "i"}, "query": "q", "max_results": 1}


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def client(db, settings, openai_server):
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.DOCUMENT_INDEX_URL = ""
    settings.DOCUMENTS_BUILTIN = False  # no document index at all: its calls are 503s
    namespace = Namespace.objects.create(name="test", native_tools="add,saboteur")
    Namespace.objects.create(name="hidden", native_tools="add")
    viewable = Namespace.objects.create(name="viewable", native_tools="add")
    user = User.objects.create_user("dev")
    group = Group.objects.create(name="devs")
    user.groups.add(group)
    NamespaceGrant.objects.create(namespace=namespace, group=group, role=NamespaceGrant.INVOKE)
    NamespaceGrant.objects.create(namespace=viewable, group=group, role=NamespaceGrant.VIEW)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return api


def post(client, function, body, raw=False):
    data = body if raw else json.dumps(body)
    return client.post(f"/csi/v1/{function}", data, content_type="application/json")


def error(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and {"kind", "message"} <= set(body["error"]), body
    return body["error"]["message"]


BAD = [
    # (function, body, status, words in the message)
    ("complete", {"model": "test-model"}, 400, "expected a list, got an object"),
    ("complete", [{"prompt": "hi", "params": {}}], 400, "[0].model: this field is required"),
    ("complete", [{**COMPLETION, "prompt": 3}], 400, "[0].prompt: expected a string, got an integer"),
    (
        "complete",
        [{**COMPLETION, "params": {"max_tokens": "4"}}],
        400,
        "[0].params.max_tokens: expected an integer",
    ),
    ("complete", [{**COMPLETION, "params": {"max_tokens": 0}}], 400, "must be at least 1"),
    ("complete", [{**COMPLETION, "params": {"temperature": "hot"}}], 400, "[0].params.temperature"),
    ("complete", [{**COMPLETION, "params": {"stop": "x"}}], 400, "[0].params.stop: expected a list"),
    ("complete", [{**COMPLETION, "params": {"logprobs": {"top": 99}}}], 400, "at most 20"),
    ("complete", [{**COMPLETION, "params": {"logprobs": "all"}}], 400, '"no", "sampled" or {"top": n}'),
    ("complete", [{**COMPLETION, "params": {"echo": "yes"}}], 400, "[0].params.echo: expected a boolean"),
    ("complete", [{**COMPLETION, "model": "no-such-model"}], 400, MODEL_NOT_FOUND_MESSAGE),
    ("complete", [COMPLETION] * 101, 400, "at most 100 requests"),
    ("completion_stream", [COMPLETION], 400, "expected an object, got a list"),
    ("completion_stream", {"model": "test-model"}, 400, "prompt: this field is required"),
    ("chat", [{**CHAT, "messages": []}], 400, "[0].messages: at least one message"),
    ("chat", [{**CHAT, "messages": [{"role": "robot", "content": "x"}]}], 400, "[0].messages[0].role"),
    (
        "chat",
        [{**CHAT, "messages": [{"role": "user"}]}],
        400,
        "[0].messages[0].content: this field is required",
    ),
    ("chat", [{"model": "test-model"}], 400, "[0].messages: this field is required"),
    ("chat", [{**CHAT, "model": "no-such-model"}], 400, MODEL_NOT_FOUND_MESSAGE),
    ("chat_stream", {**CHAT, "params": {"top_p": [1]}}, 400, "params.top_p: expected a number"),
    ("explain", [{"prompt": "p", "target": "t"}], 400, "[0].model: this field is required"),
    ("explain", [{"prompt": "p", "target": "t", "model": "m", "granularity": "page"}], 400, "granularity"),
    ("chunk", [{"text": "x"}], 400, "[0].params: this field is required"),
    ("chunk", [{**CHUNK, "params": {"model": "gpt-4o", "max_tokens": -1}}], 400, "must be at least 1"),
    ("chunk", [{**CHUNK, "params": {"model": "no-such-model", "max_tokens": 4}}], 400, "unknown model"),
    (
        "chunk_with_offsets",
        [{**CHUNK, "character_offsets": 1}],
        400,
        "[0].character_offsets: expected a boolean",
    ),
    ("chunk_with_offsets", [{"params": CHUNK["params"]}], 400, "[0].text: this field is required"),
    ("select_language", [{"text": "hallo"}], 400, "[0].languages: this field is required"),
    ("select_language", [{"text": "hallo", "languages": ["klingon"]}], 400, "klingon"),
    ("select_language", [{"text": "hallo", "languages": [1]}], 400, "[0].languages[0]: expected a string"),
    ("search", [{"query": "q"}], 400, "[0].index_path: this field is required"),
    ("search", [{**SEARCH, "max_results": "5"}], 400, "[0].max_results: expected an integer"),
    ("search", [{**SEARCH, "filters": [{"or": []}]}], 400, "[0].filters[0]: expected an object with one key"),
    (
        "search",
        [{**SEARCH, "filters": [{"with": [{"metadata": {"field": "a", "like": 1}}]}]}],
        400,
        "condition",
    ),
    ("search", [SEARCH], 503, "document index is not configured"),
    ("documents", [{"namespace": "n", "collection": "c"}], 400, "[0].name: this field is required"),
    ("documents", [PATH], 503, "document index is not configured"),
    ("document_metadata", "doc", 400, "expected a list, got a string"),
    ("document_metadata", [PATH], 503, "document index is not configured"),
    ("invoke_tool", {"requests": []}, 400, "namespace: this field is required"),
    ("invoke_tool", {"namespace": "test"}, 400, "requests: this field is required"),
    ("invoke_tool", {"namespace": "test", "requests": [{"arguments": []}]}, 400, "requests[0].name"),
    (
        "invoke_tool",
        {"namespace": "test", "requests": [{"name": "add", "arguments": [{"name": "a"}]}]},
        400,
        "requests[0].arguments[0].value: this field is required",
    ),
    (
        "invoke_tool",
        {"namespace": "test", "requests": [{"name": "add", "arguments": {"a": 1}}]},
        400,
        "requests[0].arguments: expected a list",
    ),
    ("invoke_tool", {"namespace": "nowhere", "requests": []}, 404, "namespace 'nowhere' does not exist"),
    ("invoke_tool", {"namespace": "hidden", "requests": []}, 404, "namespace 'hidden' does not exist"),
    ("invoke_tool", {"namespace": "viewable", "requests": []}, 403, "may not invoke"),
    ("list_tools", [], 400, "expected an object, got a list"),
    ("list_tools", {"namespace": 7}, 400, "namespace: expected a string, got an integer"),
    ("list_tools", {"namespace": "viewable"}, 403, "may not invoke"),
]


@pytest.mark.parametrize(
    ("function", "body", "status", "words"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_input_is_a_clear_4xx(client, function, body, status, words):
    response = post(client, function, body)
    assert response.status_code == status, response.content
    assert words in error(response)


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_every_function_rejects_non_json_empty_and_huge_bodies(client, settings, function):
    assert post(client, function, b"{not json", raw=True).status_code == 400
    assert "not valid JSON" in error(post(client, function, b"{not json", raw=True))
    assert "empty" in error(post(client, function, b"", raw=True))
    assert post(client, function, 42).status_code == 400
    assert "not valid JSON" in error(post(client, function, b'[{"text": NaN}]', raw=True))
    assert "nested deeper" in error(post(client, function, b"[" * 100_000 + b"]" * 100_000, raw=True))
    settings.CSI_SHELL_MAX_BODY_BYTES = 1000
    huge = post(client, function, [{"text": "x" * 2000}])
    assert huge.status_code == 413 and "at most 1000" in error(huge)


def test_deeply_nested_json_is_a_400(client):
    response = post(client, "complete", b"[" * 100_000 + b"]" * 100_000, raw=True)
    assert response.status_code == 400


def test_unknown_function_wrong_method_and_credentials(client):
    assert "unknown CSI function 'translate'" in error(post(client, "translate", []))
    assert client.get("/csi/v1/complete").status_code == 405
    anonymous = APIClient().post("/csi/v1/complete", [COMPLETION], format="json")
    assert anonymous.status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.post("/csi/v1/complete", [COMPLETION], format="json").status_code == 401


def test_errors_of_stream_functions_are_json_even_when_the_client_accepts_only_events(client):
    response = client.post(
        "/csi/v1/chat_stream",
        json.dumps({**CHAT, "params": {"max_tokens": "many"}}),
        content_type="application/json",
        HTTP_ACCEPT="text/event-stream",
    )
    assert response.status_code == 400 and "params.max_tokens: expected an integer" in error(response)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    ("function", "body"),
    [
        ("completion_stream", {**COMPLETION, "model": "no-such-model"}),
        ("chat_stream", {**CHAT, "model": "no-such-model"}),
    ],
)
def test_a_stream_of_an_unknown_model_is_a_200_with_phariaengines_error_event(
    client, version, function, body
):
    response = client.post(
        f"/csi/{version}/{function}",
        json.dumps(body),
        content_type="application/json",
        HTTP_ACCEPT="text/event-stream",
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    message = json.dumps({"message": MODEL_NOT_FOUND_MESSAGE}, separators=(",", ":"))
    assert b"".join(response.streaming_content).decode() == f"event: error\ndata: {message}\n\n"


def test_model_allow_list_and_rate_limits(client, settings):
    settings.OPENAI_INFERENCE_MODELS = ["test-model", "ratelimited-model"]
    denied = post(client, "complete", [{**COMPLETION, "model": "slow-model"}])
    assert denied.status_code == 400
    assert error(denied) == MODEL_NOT_FOUND_MESSAGE  # the allow-list's detail goes to the log
    limited = post(client, "chat", [{**CHAT, "model": "ratelimited-model"}])
    assert limited.status_code == 429 and limited["Retry-After"] == "1"
    assert post(client, "complete", [COMPLETION]).json()[0]["text"] == "echo: hi"


def test_backend_down_or_slow_is_a_502_with_the_reason(client, settings, openai_server):
    settings.OPENAI_INFERENCE_URL = "http://127.0.0.1:9/v1"
    down = post(client, "complete", [COMPLETION])
    assert down.status_code == 502 and "unreachable" in error(down)
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.OPENAI_INFERENCE_TIMEOUT = 0.2
    openai_server.delay = 1.0
    slow = post(client, "complete", [{**COMPLETION, "model": "slow-model"}])
    assert slow.status_code == 502 and "timed out after 0.2s" in error(slow)


def test_explain_is_not_supported_by_an_openai_backend(client):
    response = post(client, "explain", [{"prompt": "p", "target": "t", "model": "test-model"}])
    assert response.status_code == 501
    assert error(response) == "explain is not supported by this inference backend"


def test_tools_without_any_tool_configured(client):
    response = post(
        client, "invoke_tool", {"namespace": "test", "requests": [{"name": "subtract", "arguments": []}]}
    )
    assert response.status_code == 200
    assert "subtract" in response.json()[0]
    failure = post(
        client, "invoke_tool", {"namespace": "test", "requests": [{"name": "saboteur", "arguments": []}]}
    )
    assert isinstance(failure.json()[0], str) and failure.json()[0]
