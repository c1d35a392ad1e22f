"""What a run may hand back: output bytes, stream items and their bytes end at a limit, clearly.

Past a limit the run ends ``output_too_large`` with a message naming the limit (never an opaque
trap), an output is dropped, and a stream keeps the items written before the limit.
"""

from __future__ import annotations

import json
import time

import pytest

from runtime import Csi, ErrorKind, Limits
from runtime.limits import WASMTIME_MAX_LIST_BYTES
from tests.runtime.test_engine import runtime as runtime  # noqa: F401 - the module's fixtures
from tests.runtime.test_engine import sink as sink  # noqa: F401
from tests.runtime.test_engine import streamer as streamer  # noqa: F401

BIG = Limits(timeout=30, memory_bytes=1024 * 1024 * 1024)  # room for a skill to build 100 MB


def repeat(runtime, sink, size: int, limits: Limits = BIG):
    return runtime.run(
        sink, json.dumps({"action": "repeat", "text": "x", "payload": size}).encode(), Csi(), limits
    )


def test_an_output_over_the_limit_ends_output_too_large(runtime, sink):
    outcome = repeat(runtime, sink, 5000, Limits(max_output_bytes=4096))
    assert outcome.error_kind is ErrorKind.OUTPUT_TOO_LARGE
    assert outcome.error_message == "the skill's output is 5031 bytes; the limit is 4096 bytes"
    assert outcome.output is None
    assert (
        json.loads(repeat(runtime, sink, 4000, Limits(max_output_bytes=4096)).output)["result"] == "x" * 4000
    )


@pytest.mark.parametrize("megabytes", [40, 100])
def test_an_output_wasmtime_refuses_to_copy_is_output_too_large_not_a_trap(runtime, sink, megabytes):
    outcome = repeat(runtime, sink, megabytes * 1024 * 1024)
    assert outcome.error_kind is ErrorKind.OUTPUT_TOO_LARGE, outcome.error_message[:300]
    assert outcome.error_message.startswith("the skill's output is larger than the limit of 2097152 bytes")
    unlimited = repeat(
        runtime, sink, 3 * 1024 * 1024, Limits(memory_bytes=BIG.memory_bytes, max_output_bytes=0)
    )
    assert unlimited.error_kind is ErrorKind.OUTPUT_TOO_LARGE
    assert f"more than {WASMTIME_MAX_LIST_BYTES} bytes" in unlimited.error_message


def test_an_output_just_under_what_wasmtime_copies_succeeds_quickly(runtime, sink):
    size = WASMTIME_MAX_LIST_BYTES - 100  # the JSON around the text takes 31 bytes
    started = time.perf_counter()
    outcome = repeat(runtime, sink, size, Limits(timeout=30, max_output_bytes=WASMTIME_MAX_LIST_BYTES))
    elapsed = time.perf_counter() - started
    assert outcome.succeeded, outcome.error_message[:300]
    assert len(json.loads(outcome.output)["result"]) == size
    assert elapsed < 2.5  # wasmtime-py's byte-by-byte copy took ~2 s per MiB, with the GIL held


def test_a_large_input_is_copied_in_whole_and_quickly(runtime, sink):
    text = "äx" * 500_000
    started = time.perf_counter()
    body = json.dumps({"action": "echo", "payload": text}, ensure_ascii=False).encode()  # 1.5 MB
    outcome = runtime.run(sink, body, Csi(), BIG)
    assert time.perf_counter() - started < 2.0
    assert json.loads(outcome.output)["result"] == text


def stream(runtime, streamer, words: int, limits: Limits):
    seen: list[dict] = []
    text = " ".join(f"w{n}" for n in range(words))
    outcome = runtime.stream(streamer, json.dumps({"text": text}).encode(), Csi(), limits, seen.append)
    return outcome, seen


def test_a_stream_past_its_item_limit_is_stopped_and_keeps_the_items_before(runtime, streamer):
    outcome, seen = stream(runtime, streamer, 50, Limits(max_stream_items=10))
    assert outcome.error_kind is ErrorKind.OUTPUT_TOO_LARGE
    assert outcome.error_message == "the skill wrote more than 10 stream items, the limit per run"
    assert len(outcome.items) == 10 and seen == outcome.items
    assert outcome.items[0]["type"] == "begin" and outcome.items[-1] == {"type": "append", "text": "w8 "}


def test_a_stream_past_its_byte_limit_is_stopped(runtime, streamer):
    outcome, seen = stream(runtime, streamer, 50, Limits(max_stream_bytes=300))
    assert outcome.error_kind is ErrorKind.OUTPUT_TOO_LARGE
    assert "passed 300 bytes (as JSON)" in outcome.error_message
    assert sum(len(json.dumps(item)) for item in outcome.items) <= 300 < 50 * 30
    assert seen == outcome.items


def test_a_stream_within_its_limits_is_untouched(runtime, streamer):
    outcome, _ = stream(runtime, streamer, 50, Limits(max_stream_items=52, max_stream_bytes=10_000))
    assert outcome.succeeded and len(outcome.items) == 52
