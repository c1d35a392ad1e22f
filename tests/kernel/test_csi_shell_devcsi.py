"""The official SDK 0.20.0's DevCsi, unchanged, against the CSI shell of a live kernel and real backends.

The SDK runs in its own venv (it pins pydantic), so ``tests/support/devcsi_client.py`` calls every
CSI function in a subprocess and prints the outcomes as JSON; these tests read them like a story.
Backends: the OpenAI-compatible test server, the DocumentIndex test server and an MCP test server,
all on loopback. ``test_csi_shell_v2`` drives the current SDK source the same way (``run_devcsi``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from runtime.csi.types import MODEL_NOT_FOUND_MESSAGE
from skills import builder
from skills.models import McpServer, Namespace, NamespaceGrant
from tests.support.document_index_server import COLLECTION, INDEX, NAMESPACE, DocumentIndexTestServer
from tests.support.mcp_server import McpTestServer
from tests.support.openai_server import OpenAITestServer

CLIENT = Path(__file__).parent.parent / "support" / "devcsi_client.py"
TOOLS = ["add", "echo", "fail", "header", "multiply", "saboteur", "sleep", "subtract"]


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer(token="inference-secret", delay=0.2) as server:
        yield server


@pytest.fixture(scope="module")
def document_index():
    with DocumentIndexTestServer(token="index-secret") as server:
        yield server


@pytest.fixture(scope="module")
def mcp_server():
    with McpTestServer() as server:
        yield server


@pytest.fixture
def csi_backends(settings, openai_server, document_index):
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.OPENAI_INFERENCE_TOKEN = "inference-secret"
    settings.DOCUMENT_INDEX_URL = document_index.url
    settings.DOCUMENT_INDEX_TOKEN = "index-secret"
    return settings


def developer_token(mcp_url: str) -> str:
    """Namespace ``test`` with native and MCP tools, where the developer may invoke; ``other`` too,
    where they may not. Returns the developer's API token."""
    namespace = Namespace.objects.create(name="test", native_tools="add,subtract,saboteur")
    McpServer.objects.create(namespace=namespace, name="math", url=mcp_url)
    Namespace.objects.create(name="other", native_tools="add")
    user = User.objects.create_user("dev")
    group = Group.objects.create(name="devs")
    user.groups.add(group)
    NamespaceGrant.objects.create(namespace=namespace, group=group, role=NamespaceGrant.INVOKE)
    return Token.objects.create(user=user).key


def run_devcsi(toolchain: str, address: str, token: str, **spec: Any) -> dict[str, Any]:
    """Run ``devcsi_client.py`` under the SDK ``toolchain`` against the kernel at ``address``."""
    spec = {
        "namespace": "test",
        "forbidden_namespace": "other",
        "model": "test-model",
        "chunk_model": "llama-3.1-8b-instruct",
        "document": [NAMESPACE, COLLECTION, "kernel-docs"],
        "index": [NAMESPACE, COLLECTION, INDEX],
        **spec,
    }
    env = {**os.environ, "PHARIA_KERNEL_ADDRESS": address, "PHARIA_AI_TOKEN": token}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [str(builder.sdk_python(toolchain)), str(CLIENT), json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def devcsi_results(transactional_db, live_server, csi_backends, mcp_server):
    """Run the 0.20.0 DevCsi client once against the live kernel (``/csi/v1``, its only route)."""
    return run_devcsi(f"sdk-{builder.SDK_VERSION}", live_server.url, developer_token(mcp_server.url))


def ok(results, name):
    outcome = results[name]
    assert outcome["ok"], f"{name}: {outcome.get('error')}"
    return outcome["value"]


def failed(results, name) -> str:
    outcome = results[name]
    assert not outcome["ok"], f"{name} should have failed, got {outcome.get('value')}"
    return outcome["error"]


def test_every_csi_function_through_the_official_devcsi(devcsi_results, openai_server):
    r = devcsi_results
    assert r["url"].endswith("/csi/v1")

    # inference: answers, usage, finish reasons, logprobs (echo gives vLLM's null first logprob)
    complete = ok(r, "complete")
    assert complete["text"] == "echo: hello world"
    assert complete["finish_reason"] == "stop"
    assert complete["usage"] == {"prompt": 2, "completion": 3}
    assert ok(r, "complete_length")["finish_reason"] == "length"
    logprobs = ok(r, "complete_logprobs")["logprobs"]
    assert logprobs[0]["sampled"]["logprob"] == "NaN"
    assert len(logprobs[-1]["top"]) == 2 and logprobs[-1]["sampled"]["logprob"] == -0.5
    assert ok(r, "complete_concurrent") == ["echo: n0", "echo: n1", "echo: n2"]
    stream = ok(r, "completion_stream")
    assert stream["text"] == "echo: streamed words here"
    assert stream["appends"] == 4 and stream["logprobs"] == 4
    assert (stream["finish_reason"], stream["usage"]) == ("stop", {"prompt": 3, "completion": 4})

    chat = ok(r, "chat")
    assert chat["message"] == {"role": "assistant", "content": "echo: hi there"}
    assert chat["finish_reason"] == "stop"
    assert len(ok(r, "chat_logprobs")["logprobs"][0]["top"]) == 1
    chat_stream = ok(r, "chat_stream")
    assert chat_stream["role"] == "assistant"
    assert (chat_stream["text"], chat_stream["finish_reason"]) == ("echo: one two", "length")

    # a model that calls a tool nobody offered: v1 answers as the 0.3 world sees it, which 0.20.0 parses
    tool_model = ok(r, "chat_tool_model")
    assert (tool_model["message"]["content"], tool_model["finish_reason"]) == ("", "stop")
    tool_stream = ok(r, "chat_stream_tool_model")
    assert (tool_stream["text"], tool_stream["finish_reason"]) == ("", "stop")

    # errors reach the developer with the kernel's message and status; PhariaEngine's for unknown models
    assert "400" in failed(r, "complete_unknown_model")
    assert MODEL_NOT_FOUND_MESSAGE in r["complete_unknown_model"]["error"]
    assert (
        "429" in failed(r, "complete_rate_limited") and "rate limited" in r["complete_rate_limited"]["error"]
    )
    assert "502" in failed(r, "complete_broken") and "CUDA out of memory" in r["complete_broken"]["error"]
    # streams answer 200 and then an error event, which the SDK raises as a ValueError
    assert failed(r, "completion_stream_unknown_model") == f"ValueError: {MODEL_NOT_FOUND_MESSAGE}"
    assert failed(r, "chat_stream_unknown_model") == f"ValueError: {MODEL_NOT_FOUND_MESSAGE}"
    assert (
        "501" in failed(r, "explain") and "not supported by this inference backend" in r["explain"]["error"]
    )

    # chunking and language
    chunks = ok(r, "chunk")
    assert len(chunks) > 1 and chunks[0]["character_offset"] == 0 and chunks[1]["character_offset"] > 0
    assert "unknown model" in failed(r, "chunk_unknown_model") and "400" in r["chunk_unknown_model"]["error"]
    assert ok(r, "select_language") == "deu"
    assert ok(r, "select_language_none") is None

    # documents
    search = ok(r, "search")
    assert search and search[0]["document_path"]["collection"] == COLLECTION
    assert {"item", "position"} <= set(search[0]["start"])
    filtered = ok(r, "search_filtered")
    assert [hit["document_path"]["name"] for hit in filtered] == ["kernel/faq"]
    document = ok(r, "documents")[0]
    assert document["path"]["name"] == "kernel-docs"
    assert document["contents"][0] == {
        "text": "The Pharia Kernel runs skills as WebAssembly components.",
        "modality": "text",
    }
    assert ok(r, "document_metadata") == [{"url": "https://pharia-kernel.product.pharia.com/"}]
    assert "404" in failed(r, "document_missing") and "missing not found" in r["document_missing"]["error"]

    # tools: native and MCP in the namespace, sorted by name; permissions are the namespace's
    assert ok(r, "list_tools") == TOOLS
    assert ok(r, "list_tools_schema")[0]["required"] == ["a", "b"]
    assert ok(r, "invoke_tool") == ["3"]  # the native add wins over the MCP server's
    assert ok(r, "invoke_tool_mcp") == ["42"]
    assert failed(r, "invoke_tool_saboteur") == "ToolError: Out of cheese."
    assert failed(r, "invoke_tool_saboteur_with_arguments") == r["invoke_tool_saboteur"]["error"]
    assert "no-such-tool" in failed(r, "invoke_tool_unknown")
    assert "404" in failed(r, "invoke_tool_other_namespace")

    # the DevCsi traced its calls; the backend got the kernel's token
    assert "chat test-model" in r["spans"] and "search" in r["spans"]
    assert all(h.get("Authorization") == "Bearer inference-secret" for h in openai_server.headers)
