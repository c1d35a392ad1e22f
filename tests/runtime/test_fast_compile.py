"""The fast compile tier: Winch compiles a new skill in seconds; it runs like the Cranelift one.

Compiling an SDK component costs seconds (Winch ~2.5 s, Cranelift ~10 s), so each is compiled
at most once per module; the Cranelift artifact is shared with test_engine.py through the cache.
Fallback and key checks use a hand-written component of a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
import wasmtime

from runtime import Csi, EngineSettings, ErrorKind, InvalidComponent, Limits, Runtime
from runtime.engine import wasmtime_version
from tests.conftest import CACHE

LIMITS = Limits(timeout=5, memory_bytes=128 * 1024 * 1024)


def tiny_component(core: str = "") -> bytes:
    """A component exporting ``pharia:skill/skill-handler@0.3.11``; ``core`` adds to its module."""
    return bytes(
        wasmtime.wat2wasm(
            f"""(component
              (core module $m {core} (func (export "f") (result i32) i32.const 1))
              (core instance $i (instantiate $m))
              (func $run (result u32) (canon lift (core func $i "f")))
              (instance $h (export "run" (func $run)))
              (export "pharia:skill/skill-handler@0.3.11" (instance $h)))"""
        )
    )


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


def _cranelift(runtime: Runtime, path):
    """The Cranelift artifact, cached under the same name as test_engine.py's."""
    wasm = path.read_bytes()
    cached = CACHE / "artifacts" / f"{hashlib.sha256(wasm).hexdigest()}-{runtime.artifact_key}.cwasm"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(runtime.compile(wasm).artifact)
    return cached.read_bytes()


@pytest.fixture(scope="module")
def sink_artifact(runtime, skill_wasm) -> bytes:
    return _cranelift(runtime, skill_wasm["kitchen_sink"])


@pytest.fixture(scope="module")
def sink(runtime, sink_artifact):
    skill = runtime.load(sink_artifact)
    # Runs before the Winch engine exists, so the epoch ticker is already running when it is
    # added: the timeout test below checks that a late engine is ticked too.
    assert output(run(runtime, skill, action="echo", payload=0)) == 0
    return skill


@pytest.fixture(scope="module")
def fast_compiled(runtime, sink, skill_wasm):
    assert runtime._winch is None, "the Winch engine is made on first fast use only"
    return runtime.compile(skill_wasm["kitchen_sink"].read_bytes(), fast=True)


@pytest.fixture(scope="module")
def fast_sink(runtime, fast_compiled):
    return runtime.load(fast_compiled.artifact, fast_compiled.artifact_key)


def run(runtime, skill, csi=None, limits=LIMITS, **input):
    return runtime.run(skill, json.dumps(input).encode(), csi or Csi(), limits)


def output(outcome) -> dict:
    assert outcome.succeeded, (outcome.error_kind, outcome.error_message)
    return json.loads(outcome.output)["result"]


def test_keys_name_the_compiler(runtime):
    version = wasmtime_version()
    assert runtime.artifact_key == f"wasmtime-{version}-opt=speed"  # stored keys stay loadable
    assert runtime.fast_artifact_key == f"wasmtime-{version}-winch"
    assert runtime.is_fast_key(runtime.fast_artifact_key)
    assert not runtime.is_fast_key(runtime.artifact_key)
    assert not runtime.is_fast_key("wasmtime-0.0.1-winch")
    assert Runtime(EngineSettings(opt_level="none")).fast_artifact_key == runtime.fast_artifact_key


def test_fast_compile_makes_a_winch_skill(runtime, fast_compiled, fast_sink, sink):
    assert fast_compiled.artifact_key == runtime.fast_artifact_key
    assert (fast_compiled.world, fast_compiled.wit_version, fast_compiled.export) == (
        sink.world,
        sink.wit_version,
        sink.export,
    )
    assert fast_sink.fast and not sink.fast
    assert fast_sink.size == len(fast_compiled.artifact)


@pytest.mark.parametrize(
    "input",
    [
        {"action": "echo", "payload": {"a": [1, "ü"]}},
        {"action": "json", "text": json.dumps({"k": list(range(200))})},
        {"action": "raise", "text": "no cheese"},
        {"wrong": "field"},
        {"action": "env"},
        {"action": "read_file", "path": "/etc/passwd"},
        {"action": "search", "text": "x"},
    ],
)
def test_fast_skill_behaves_like_the_cranelift_one(runtime, sink, fast_sink, input):
    slow = runtime.run(sink, json.dumps(input).encode(), Csi(), LIMITS)
    fast = runtime.run(fast_sink, json.dumps(input).encode(), Csi(), LIMITS)
    assert (fast.output, fast.error_kind, fast.error_message) == (
        slow.output,
        slow.error_kind,
        slow.error_message,
    )


def test_metadata_of_a_fast_skill(runtime, sink, fast_sink):
    assert runtime.metadata(fast_sink) == runtime.metadata(sink)
    assert runtime.metadata(fast_sink).description.startswith("Test skill")


def test_endless_loop_on_winch_times_out(runtime, fast_sink):
    outcome = run(
        runtime, fast_sink, limits=Limits(timeout=0.5, memory_bytes=LIMITS.memory_bytes), action="loop"
    )
    assert outcome.error_kind is ErrorKind.TIMEOUT
    assert 0.45 < outcome.duration < 3
    assert output(run(runtime, fast_sink, action="echo", payload=1)) == 1


def test_unbounded_allocation_on_winch_hits_the_memory_cap(runtime, fast_sink):
    outcome = run(
        runtime, fast_sink, limits=Limits(timeout=10, memory_bytes=64 * 1024 * 1024), action="alloc"
    )
    assert outcome.error_kind is ErrorKind.MEMORY_EXHAUSTED
    assert "64 MiB" in outcome.error_message
    assert output(run(runtime, fast_sink, action="echo", payload=2)) == 2


def test_fast_message_stream(runtime, skill_wasm):
    compiled = runtime.compile(skill_wasm["stream_skill"].read_bytes(), fast=True)
    streamer = runtime.load(compiled.artifact, compiled.artifact_key)
    seen = []
    outcome = runtime.stream(streamer, b'{"text": "one two"}', Csi(), LIMITS, seen.append)
    assert outcome.succeeded, outcome.error_message
    assert streamer.fast and [item["type"] for item in seen] == ["begin", "append", "append", "end"]


def test_fast_runs_on_threads_are_isolated(runtime, fast_sink):
    results = {}

    def work(index):
        results[index] = output(run(runtime, fast_sink, action="echo", payload=index))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: i for i in range(4)}


def test_an_artifact_only_loads_with_its_own_key(runtime, sink_artifact, fast_compiled):
    with pytest.raises(wasmtime.WasmtimeError, match=f"cannot be loaded as {runtime.artifact_key}.*Winch"):
        runtime.load(fast_compiled.artifact)
    with pytest.raises(wasmtime.WasmtimeError, match=f"cannot be loaded as {runtime.artifact_key}"):
        runtime.load(fast_compiled.artifact, runtime.artifact_key)
    with pytest.raises(wasmtime.WasmtimeError, match=f"cannot be loaded as {runtime.fast_artifact_key}"):
        runtime.load(sink_artifact, runtime.fast_artifact_key)


@pytest.mark.parametrize("key", ["wasmtime-0.0.1-opt=speed", "wasmtime-0.0.1-winch", "opt=speed", ""])
def test_unknown_key_is_a_value_error(runtime, key):
    with pytest.raises(ValueError, match="recompile"):
        runtime.load(b"whatever", key)


def test_winch_failure_falls_back_to_cranelift(runtime, monkeypatch):
    def unsupported(engine, wasm):
        raise wasmtime.WasmtimeError("Compilation error: Unsupported Wasm feature")

    monkeypatch.setattr(Runtime, "_compile_winch", staticmethod(unsupported))
    compiled = runtime.compile(tiny_component(), fast=True)
    assert compiled.artifact_key == runtime.artifact_key
    skill = runtime.load(compiled.artifact, compiled.artifact_key)
    assert not skill.fast and skill.world == "skill"


@pytest.mark.parametrize(
    "core",
    [
        "(func $a (result i32) (return_call $a))",  # tail calls
        "(tag $t) (func (throw $t))",  # exception handling, rejected while parsing
        "(memory 1 1 shared)",  # threads
    ],
)
def test_what_winch_lacks_compiles_with_cranelift(runtime, core):
    compiled = runtime.compile(tiny_component(core), fast=True)
    assert compiled.artifact_key == runtime.artifact_key
    assert not runtime.load(compiled.artifact, compiled.artifact_key).fast


def test_a_small_component_compiles_fast(runtime):
    compiled = runtime.compile(tiny_component(), fast=True)
    assert compiled.artifact_key == runtime.fast_artifact_key
    assert runtime.load(compiled.artifact, compiled.artifact_key).fast


def test_a_background_compile_makes_an_artifact_the_serving_engine_loads(runtime):
    compiled = runtime.compile(tiny_component(), background=True)
    assert compiled.artifact_key == runtime.artifact_key
    loaded = runtime.load(compiled.artifact, compiled.artifact_key)
    assert not loaded.fast and loaded.tier is runtime._cranelift  # runs on the serving engine
    assert runtime._background is not None and runtime._background is not runtime._cranelift


@pytest.mark.parametrize(
    ("wasm", "reason"),
    [
        (b"hello world", "not WebAssembly"),
        (b"\0asm\x01\0\0\0", "not a WebAssembly component"),
        (b"\0asm\x0d\0\x01\0garbage", "component"),
        (b"\0asm\x0d\0\x01\0", "exports no pharia:skill world"),
    ],
)
def test_fast_compile_rejects_what_is_not_a_skill(runtime, wasm, reason):
    with pytest.raises(InvalidComponent, match=reason):
        runtime.compile(wasm, fast=True)


def test_the_winch_engine_is_made_once_and_only_when_needed():
    runtime = Runtime()
    runtime.load(runtime.compile(tiny_component()).artifact, runtime.artifact_key)
    assert runtime._winch is None
    engines = []
    threads = [threading.Thread(target=lambda: engines.append(runtime._fast_engine())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(engine) for engine in engines}) == 1 and engines[0].fast


def test_fast_tier_can_be_switched_off():
    runtime = Runtime(EngineSettings(fast_tier=False))
    compiled = runtime.compile(tiny_component(), fast=True)
    assert compiled.artifact_key == runtime.artifact_key and runtime._winch is None
