"""``POST /csi``: the versioned shell of SDKs before ``/csi/v1`` (PhariaEngine's ``v0_2.rs``, ``v0_3.rs``).

Against real backends on loopback (the OpenAI-compatible and DocumentIndex test servers, in-process
chunking and language detection): every function of both versions, their answer shapes, PhariaEngine's
exact words and statuses for versions and functions the shell does not serve, and its JSON-string errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from runtime.csi.types import MODEL_NOT_FOUND_MESSAGE
from skills.api.openapi import LEGACY_CSI_VERSIONS, openapi_document
from skills.csi_shell import legacy
from skills.csi_shell.legacy import INVALID_VERSION, NO_LONGER_SUPPORTED, NOT_SUPPORTED, UNKNOWN_FUNCTION
from tests.support.callers import client_with_role
from tests.support.document_index_server import COLLECTION, INDEX, NAMESPACE, DocumentIndexTestServer
from tests.support.openai_server import OpenAITestServer

DOC = {"namespace": NAMESPACE, "collection": COLLECTION, "name": "kernel-docs"}
INDEX_PATH = {"namespace": NAMESPACE, "collection": COLLECTION, "index": INDEX}
COMPLETION = {"model": "test-model", "prompt": "hello world", "params": {"max_tokens": 8, "stop": []}}
CHAT = {"model": "test-model", "messages": [{"role": "user", "content": "hi there"}], "params": {}}
CHUNK_MODEL = "llama-3.1-8b-instruct"


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer() as server:
        yield server


@pytest.fixture(scope="module")
def document_index():
    with DocumentIndexTestServer() as server:
        yield server


@pytest.fixture
def client(db, settings, openai_server, document_index) -> APIClient:
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.DOCUMENT_INDEX_URL = document_index.url
    return client_with_role("dev")


def csi(client: APIClient, body: Any, raw: bool = False):
    return client.post("/csi", body if raw else json.dumps(body), content_type="application/json")


def answer(client: APIClient, version: str, function: str, **request: Any) -> Any:
    response = csi(client, {"version": version, "function": function, **request})
    assert response.status_code == 200, response.content
    return response.json()


def refusal(response, status: int = 400) -> str:
    """PhariaEngine answers errors of this route with a JSON string."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    message = response.json()
    assert isinstance(message, str), message
    return message


# -- versions and functions the shell does not serve ------------------------------------------------

VERSIONS = [
    # (version, PhariaEngine's answer); only "0.2" and "0.3" are served
    (None, INVALID_VERSION),
    ("", INVALID_VERSION),
    ("latest", INVALID_VERSION),
    ("v0.3", INVALID_VERSION),
    ("*", INVALID_VERSION),
    ("x", INVALID_VERSION),
    (">=0.2, <0.4", INVALID_VERSION),  # two comparators
    ("0.3,", INVALID_VERSION),
    ("01.3", INVALID_VERSION),  # leading zero
    ("0.9.0-01", INVALID_VERSION),  # leading zero in a numeric pre-release identifier
    ("0.3.x.1", INVALID_VERSION),
    (0.3, INVALID_VERSION),  # not a string
    ("0.1", NO_LONGER_SUPPORTED),
    ("0.1.0", NO_LONGER_SUPPORTED),
    ("0.3.0", NO_LONGER_SUPPORTED),  # not the tag "0.3"
    (" 0.3 ", NO_LONGER_SUPPORTED),
    ("0.4", NO_LONGER_SUPPORTED),
    ("0.5.0", NO_LONGER_SUPPORTED),  # the newest WIT package the kernel hosts
    ("^0.2", NO_LONGER_SUPPORTED),
    ("< 0.3", NO_LONGER_SUPPORTED),
    ("<= 0.9", NOT_SUPPORTED),  # the operator does not matter to PhariaEngine, the minor does
    ("0", NO_LONGER_SUPPORTED),
    ("0.x", NO_LONGER_SUPPORTED),
    ("0.6", NOT_SUPPORTED),
    ("0.9.0", NOT_SUPPORTED),
    ("0.10.0-beta.1+build.05", NOT_SUPPORTED),
    ("1", NOT_SUPPORTED),
    ("1.0.0", NOT_SUPPORTED),
    ("~2.x", NOT_SUPPORTED),
]


@pytest.mark.parametrize(("version", "message"), VERSIONS, ids=[repr(v) for v, _ in VERSIONS])
def test_versions_not_served_get_phariaengines_words(client, version, message):
    body = (
        {"function": "complete", **COMPLETION} if version is None else {"version": version, "function": "x"}
    )
    response = csi(client, body)
    assert refusal(response) == message
    assert response.content == json.dumps(message).encode()


def test_phariaengines_texts_exactly():
    assert UNKNOWN_FUNCTION.format("complete_stream") == (
        "The CSI function complete_stream is not supported by this Kernel installation yet. "
        "Try updating your Kernel version or downgrading your SDK."
    )
    assert NOT_SUPPORTED == (
        "The specified CSI version is not supported by this Kernel installation yet. "
        "Try updating your Kernel version or downgrading your SDK."
    )
    assert (
        NO_LONGER_SUPPORTED
        == "This CSI version is no longer supported by the Kernel. Try upgrading your SDK."
    )
    assert INVALID_VERSION == "A valid CSI version is required. Try upgrading your SDK."


@pytest.mark.parametrize(
    ("version", "function", "named"),
    [
        ("0.3", "translate", "translate"),
        ("0.3", None, "specified"),
        ("0.3", "complete_all", "complete_all"),  # 0.2 only
        ("0.3", "chat_stream", "chat_stream"),
        ("0.3", "invoke_tool", "invoke_tool"),
        ("0.2", "explain", "explain"),  # 0.3 only
        ("0.2", "chunk_with_offsets", "chunk_with_offsets"),
    ],
)
def test_unknown_functions_get_phariaengines_words(client, version, function, named):
    body = {"version": version, "requests": []} | ({"function": function} if function else {})
    assert refusal(csi(client, body)) == UNKNOWN_FUNCTION.format(named)


def test_other_errors_are_json_strings_with_the_kernels_status(client):
    assert "version: this field" not in refusal(csi(client, b"[1]", raw=True))
    assert refusal(csi(client, [1])) == "expected an object, got a list"
    assert "not valid JSON" in refusal(csi(client, b"{", raw=True))
    assert (
        refusal(csi(client, {"version": "0.3", "function": 7}))
        == "function: expected a string, got an integer"
    )
    bad = refusal(csi(client, {"version": "0.3", "function": "complete", "requests": [{"prompt": "x"}]}))
    assert bad == "requests[0].model: this field is required"
    assert refusal(csi(client, {"version": "0.3", "function": "chat"})) == "requests: this field is required"
    unknown_model = {"version": "0.2", "function": "complete", **COMPLETION, "model": "no-such-model"}
    assert refusal(csi(client, unknown_model)) == MODEL_NOT_FOUND_MESSAGE
    limited = {"version": "0.2", "function": "complete", **COMPLETION, "model": "ratelimited-model"}
    assert "rate limited" in refusal(csi(client, limited), 429)
    missing = {"version": "0.3", "function": "documents", "requests": [{**DOC, "name": "missing"}]}
    assert "missing not found" in refusal(csi(client, missing), 404)
    anonymous = APIClient().post("/csi", {"version": "0.3"}, format="json")
    assert refusal(anonymous, 401)
    assert client.get("/csi").status_code == 405


# -- version 0.2 ------------------------------------------------------------------------------------


def test_v0_2_complete_and_complete_all(client, openai_server):
    assert answer(client, "0.2", "complete", **COMPLETION) == {
        "text": "echo: hello world",
        "finish_reason": "stop",
    }
    # 0.2 knew no logprobs, penalties or echo: they are not passed on
    params = {**COMPLETION["params"], "logprobs": "sampled", "echo": True, "frequency_penalty": 1.0}
    assert (
        answer(client, "0.2", "complete", **{**COMPLETION, "params": params})["text"] == "echo: hello world"
    )
    sent = openai_server.requests[-1]
    assert "logprobs" not in sent and "echo" not in sent and "frequency_penalty" not in sent
    short = {**COMPLETION, "prompt": "one two three", "params": {"max_tokens": 2, "stop": []}}
    assert answer(client, "0.2", "complete_all", requests=[COMPLETION, short]) == [
        {"text": "echo: hello world", "finish_reason": "stop"},
        {"text": "echo: one", "finish_reason": "length"},
    ]


def test_v0_2_chat(client):
    assert answer(client, "0.2", "chat", **CHAT) == {
        "message": {"role": "assistant", "content": "echo: hi there"},
        "finish_reason": "stop",
    }
    # a model that calls a tool nobody offered: as 0.2 knew answers, no content and a plain stop
    assert answer(client, "0.2", "chat", **{**CHAT, "model": "tool-model"}) == {
        "message": {"role": "assistant", "content": ""},
        "finish_reason": "stop",
    }


def test_v0_2_chunk_select_language_search_and_documents(client):
    chunks = answer(
        client,
        "0.2",
        "chunk",
        text="A first sentence. " * 20,
        params={"model": CHUNK_MODEL, "max_tokens": 10},
    )
    assert len(chunks) > 1 and all(isinstance(piece, str) for piece in chunks)
    german = "Dies ist ein deutscher Satz über das Wetter."
    assert answer(client, "0.2", "select_language", text=german, languages=["eng", "deu"]) == "deu"
    assert answer(client, "0.2", "select_language", text="", languages=["eng"]) is None
    unsupported = csi(
        client, {"version": "0.2", "function": "select_language", "text": "x", "languages": ["fra"]}
    )
    assert refusal(unsupported) == "languages[0]: expected one of eng, deu, got 'fra'"

    hits = answer(
        client, "0.2", "search", query="kernel skills", index_path=INDEX_PATH, max_results=5, min_score=None
    )
    assert hits and set(hits[0]) == {"document_path", "content", "score"}  # 0.2 had no cursors
    assert hits[0]["document_path"] == DOC
    [document] = answer(client, "0.2", "documents", requests=[DOC])
    assert document["path"] == DOC and document["contents"][0]["modality"] == "text"
    assert answer(client, "0.2", "document_metadata", document_path=DOC) == [
        {"url": "https://pharia-kernel.product.pharia.com/"}
    ]


# -- version 0.3 ------------------------------------------------------------------------------------


def test_v0_3_complete_and_chat(client):
    params = {
        "return_special_tokens": False,
        "max_tokens": 2,
        "stop": [],
        "logprobs": {"top": 1},
        "echo": True,
    }
    [completion] = answer(client, "0.3", "complete", requests=[{**COMPLETION, "params": params}])
    assert completion["text"] == "echo: hello"  # echo is not a 0.3 parameter
    assert completion["finish_reason"] == "length"
    assert completion["usage"] == {"prompt": 2, "completion": 2}
    assert [len(d["top"]) for d in completion["logprobs"]] == [1, 1]

    chat_params = {"max_tokens": 8, "logprobs": "sampled", "tools": [{"name": "add"}]}
    [chat, tool] = answer(
        client, "0.3", "chat", requests=[{**CHAT, "params": chat_params}, {**CHAT, "model": "tool-model"}]
    )
    assert chat["message"] == {"role": "assistant", "content": "echo: hi there"}  # tools are not a 0.3 param
    assert (chat["finish_reason"], len(chat["logprobs"]), chat["usage"]["completion"]) == ("stop", 3, 3)
    assert (tool["message"]["content"], tool["finish_reason"]) == ("", "stop")


def test_v0_3_explain_chunk_language_search_and_documents(client):
    refused = csi(
        client,
        {
            "version": "0.3",
            "function": "explain",
            "requests": [{"prompt": "p", "target": "t", "model": "test-model"}],
        },
    )
    assert refusal(refused, 501) == "explain is not supported by this inference backend"

    text, params = "A first sentence. " * 20, {"model": CHUNK_MODEL, "max_tokens": 10, "overlap": 0}
    [chunks] = answer(client, "0.3", "chunk", requests=[{"text": text, "params": params}])
    [offsets] = answer(
        client,
        "0.3",
        "chunk_with_offsets",
        requests=[{"text": text, "params": params, "character_offsets": True}],
    )
    assert [piece["text"] for piece in offsets] == chunks and offsets[1]["character_offset"] > 0

    german = "Dies ist ein deutscher Satz über das Wetter."
    requests = [{"text": german, "languages": ["eng", "deu"]}, {"text": "", "languages": ["eng"]}]
    assert answer(client, "0.3", "select_language", requests=requests) == ["deu", None]

    search = {"query": "kernel", "index_path": INDEX_PATH, "max_results": 5, "min_score": None}
    filtered = {**search, "filters": [{"with": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]}
    [hits, only_faq] = answer(client, "0.3", "search", requests=[{**search, "filters": []}, filtered])
    assert {"item", "position"} <= set(hits[0]["start"])
    assert [hit["document_path"]["name"] for hit in only_faq] == ["kernel/faq"]
    [document] = answer(client, "0.3", "documents", requests=[DOC])
    assert document["path"] == DOC
    assert answer(client, "0.3", "document_metadata", requests=[DOC]) == [
        [{"url": "https://pharia-kernel.product.pharia.com/"}]
    ]


def test_the_openapi_document_names_the_legacy_functions_served():
    assert LEGACY_CSI_VERSIONS.keys() == legacy.VERSIONS.keys()
    for version, functions in legacy.VERSIONS.items():
        assert sorted(LEGACY_CSI_VERSIONS[version]) == sorted(functions)
    assert "/csi" in openapi_document("http://kernel")["paths"]
