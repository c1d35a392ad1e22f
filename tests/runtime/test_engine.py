"""The runtime on its own: compile, metadata, every outcome of a run, the sandbox, streaming."""

from __future__ import annotations

import hashlib
import json
import socket
import threading

import pytest

from runtime import Csi, ErrorKind, InvalidComponent, Limits, Runtime
from runtime.csi.chunking import TextChunking
from runtime.csi.language import LinguaLanguage
from tests.conftest import CACHE

LIMITS = Limits(timeout=5, memory_bytes=128 * 1024 * 1024)


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


def _load(runtime: Runtime, path):
    """Compile once per content hash and engine key; later sessions deserialize the cached artifact."""
    wasm = path.read_bytes()
    cached = CACHE / "artifacts" / f"{hashlib.sha256(wasm).hexdigest()}-{runtime.artifact_key}.cwasm"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(runtime.compile(wasm).artifact)
    return runtime.load(cached.read_bytes())


@pytest.fixture(scope="module")
def sink(runtime, skill_wasm):
    return _load(runtime, skill_wasm["kitchen_sink"])


@pytest.fixture(scope="module")
def streamer(runtime, skill_wasm):
    return _load(runtime, skill_wasm["stream_skill"])


def run(runtime, skill, csi=None, limits=LIMITS, **input):
    return runtime.run(skill, json.dumps(input).encode(), csi or Csi(), limits)


def output(outcome) -> dict:
    assert outcome.succeeded, (outcome.error_kind, outcome.error_message)
    return json.loads(outcome.output)["result"]


def test_metadata_comes_from_the_component(runtime, sink):
    metadata = runtime.metadata(sink)
    assert metadata.description.startswith("Test skill")
    assert metadata.input_schema["required"] == ["action"]
    assert metadata.output_schema["title"] == "Output"
    assert (sink.world, sink.wit_version) == ("skill", "0.3.11")


def test_echo_returns_the_output(runtime, sink):
    assert output(run(runtime, sink, action="echo", payload={"a": [1, "ü"]})) == {"a": [1, "ü"]}


def test_skill_error_is_internal_with_the_skills_message(runtime, sink):
    outcome = run(runtime, sink, action="raise", text="no cheese")
    assert outcome.error_kind is ErrorKind.INTERNAL
    assert "RuntimeError: no cheese" in outcome.error_message


def test_input_the_skill_rejects_is_invalid_input(runtime, sink):
    outcome = run(runtime, sink, wrong="field")
    assert outcome.error_kind is ErrorKind.INVALID_INPUT
    assert "Field required" in outcome.error_message


def test_endless_loop_times_out_and_runtime_keeps_serving(runtime, sink):
    outcome = run(runtime, sink, limits=Limits(timeout=0.5, memory_bytes=LIMITS.memory_bytes), action="loop")
    assert outcome.error_kind is ErrorKind.TIMEOUT
    assert 0.45 < outcome.duration < 3
    assert output(run(runtime, sink, action="echo", payload=1)) == 1


def test_unbounded_allocation_hits_the_memory_cap(runtime, sink):
    outcome = run(runtime, sink, limits=Limits(timeout=10, memory_bytes=64 * 1024 * 1024), action="alloc")
    assert outcome.error_kind is ErrorKind.MEMORY_EXHAUSTED
    assert "64 MiB" in outcome.error_message
    assert output(run(runtime, sink, action="echo", payload=2)) == 2


def test_no_host_files(runtime, sink):
    for path in ("/etc/passwd", "/", "."):
        result = output(run(runtime, sink, action="read_file", path=path))
        assert result["ok"] is False
    assert output(run(runtime, sink, action="list_dir"))["ok"] is False


def test_no_network_even_to_a_listening_loopback_port(runtime, sink):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        result = output(run(runtime, sink, action="socket", host="127.0.0.1", port=port))
        assert result["ok"] is False
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_no_host_environment(runtime, sink, monkeypatch):
    monkeypatch.setenv("SECRET_FOR_TEST", "x")
    assert output(run(runtime, sink, action="env")) == {}


@pytest.mark.parametrize(
    ("action", "service"),
    [
        ("complete", "inference"),
        ("chat", "inference"),
        ("complete_stream", "inference"),
        ("search", "document index"),
        ("documents", "document index"),
        ("list_tools", "tools"),
        ("invoke_tool", "tools"),
        ("select_language", "language detection"),
        ("chunk", "chunking"),
    ],
)
def test_csi_without_backend_fails_with_a_clear_message(runtime, sink, action, service):
    outcome = run(runtime, sink, action=action, text="hello")
    assert outcome.error_kind is ErrorKind.CSI_ERROR
    assert outcome.error_message == f"{service} is not configured on this kernel"


def test_language_and_chunking_backends(runtime, sink):
    csi = Csi(language=LinguaLanguage(), chunking=TextChunking())
    german = "Das ist ein ziemlich langer deutscher Satz über das Wetter in Berlin."
    assert output(run(runtime, sink, csi, action="select_language", text=german)) == "deu"
    text = "Grüße aus Berlin. " * 12
    chunks = output(run(runtime, sink, csi, action="chunk", text=text, model="gpt-4o", payload=8))
    assert len(chunks) > 1
    for chunk_text, offset in chunks:
        assert text[offset : offset + len(chunk_text)] == chunk_text
    raw = output(run(runtime, sink, csi, action="chunk_raw", text=text, model="gpt-4o", payload=8))
    assert raw == [chunk_text for chunk_text, _ in chunks]


def test_unknown_chunking_model_is_a_csi_error(runtime, sink):
    csi = Csi(chunking=TextChunking())
    outcome = run(runtime, sink, csi, action="chunk", text="abc", model="no-such-model")
    assert outcome.error_kind is ErrorKind.CSI_ERROR
    assert "no-such-model" in outcome.error_message


def test_message_stream_items_arrive_in_order(runtime, streamer):
    seen = []
    outcome = runtime.stream(streamer, b'{"text": "one two three"}', Csi(), LIMITS, seen.append)
    assert outcome.succeeded
    assert seen == [
        {"type": "begin", "role": None},
        {"type": "append", "text": "one "},
        {"type": "append", "text": "two "},
        {"type": "append", "text": "three "},
        {"type": "end", "payload": {"words": 3}},
    ]
    assert outcome.items == seen
    assert runtime.metadata(streamer).input_schema is None


def test_message_stream_failure_keeps_the_items_written_before(runtime, streamer):
    outcome = runtime.stream(
        streamer, b'{"text": "a b c d", "fail_after": 2}', Csi(), LIMITS, lambda item: None
    )
    assert outcome.error_kind is ErrorKind.INTERNAL
    assert "failed after 2 words" in outcome.error_message
    assert [item["type"] for item in outcome.items] == ["begin", "append", "append"]


def test_runs_on_threads_are_isolated(runtime, sink):
    results = {}

    def work(index):
        results[index] = output(run(runtime, sink, action="echo", payload=index))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: i for i in range(8)}


@pytest.mark.parametrize(
    ("wasm", "reason"),
    [
        (b"hello world", "not WebAssembly"),
        (b"\0asm\x01\0\0\0", "not a WebAssembly component"),
        (b"\0asm\x0d\0\x01\0garbage", "component"),
    ],
)
def test_compile_rejects_what_is_not_a_skill(runtime, wasm, reason):
    with pytest.raises(InvalidComponent, match=reason):
        runtime.compile(wasm)


def test_compile_rejects_a_component_without_a_skill_world(runtime):
    empty_component = b"\0asm\x0d\0\x01\0"
    with pytest.raises(InvalidComponent, match="exports no pharia:skill world"):
        runtime.compile(empty_component)
