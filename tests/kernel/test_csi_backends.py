"""How the kernel's settings choose and shape its CSI backends."""

from __future__ import annotations

import pytest

from runtime.csi.chunking import encoding_for
from runtime.csi.openai import OpenAIInference, OpenAIInferenceConfig
from runtime.csi.types import CompletionParams, CompletionRequest, InvalidCsiRequest
from skills.services import csi as csi_backends
from tests.support.openai_server import OpenAITestServer


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer() as server:
        yield server


def test_vllm_extensions_are_sent_to_vllm_but_not_to_openai(settings, openai_server):
    settings.OPENAI_INFERENCE_URL = openai_server.url
    request = CompletionRequest("test-model", "hi", CompletionParams(return_special_tokens=True, top_k=3))
    settings.OPENAI_INFERENCE_VLLM_EXTENSIONS = None  # auto: a loopback server is not api.openai.com
    csi_backends.inference_for(None).complete([request])
    assert (
        openai_server.requests[-1]["skip_special_tokens"] is False
        and openai_server.requests[-1]["top_k"] == 3
    )

    settings.OPENAI_INFERENCE_VLLM_EXTENSIONS = False
    backend = csi_backends.inference_for(None)
    with pytest.raises(InvalidCsiRequest, match="top-k is not supported by this inference backend"):
        backend.complete([request])
    request.params.top_k = None
    assert backend.complete([request])[0].text == "echo: hi"
    assert "skip_special_tokens" not in openai_server.requests[-1]


def test_openai_itself_gets_no_vllm_extensions_by_default():
    backend = OpenAIInference(OpenAIInferenceConfig(url="https://api.openai.com/v1"))
    with pytest.raises(InvalidCsiRequest, match="top-k"):
        backend.complete([CompletionRequest("gpt-4o", "hi", CompletionParams(top_k=1))])


def test_model_map_takes_json_or_pairs():
    assert csi_backends.model_map('{"fast": "meta-llama/Llama-3.1-8B-Instruct"}') == {
        "fast": "meta-llama/Llama-3.1-8B-Instruct"
    }
    assert csi_backends.model_map("fast=llama3.1:8b, big = llama3.3:70b") == {
        "fast": "llama3.1:8b",
        "big": "llama3.3:70b",
    }
    assert csi_backends.model_map("") == {}
    with pytest.raises(ValueError):
        csi_backends.model_map("fast")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("llama3.1:8b", "cl100k_base"),
        ("llama3.3:70b-instruct-q4_K_M", "cl100k_base"),
        ("llama4:scout", "o200k_base"),
        ("mistral:7b", "p50k_base"),
        ("mistral-small3.1:24b", "cl100k_base"),
        ("qwen3:8b", "cl100k_base"),
        ("gpt-oss:20b", "o200k_base"),
        ("gemma3:4b", None),
    ],
)
def test_chunking_knows_ollama_model_names(model, encoding):
    assert encoding_for(model) == encoding
