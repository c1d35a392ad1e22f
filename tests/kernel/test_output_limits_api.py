"""Output limits through the API: 500 ``output_too_large`` naming the limit, and the run stored.

Also the embedded stream channel: bounded, and a client that falls behind still gets every item.
"""

from __future__ import annotations

import threading
import time

import pytest

from skills.models import Run
from skills.services.dispatch import LocalChannel
from tests.support.sse import events


def test_a_sync_output_over_the_limit_is_500_output_too_large_and_stored(alice, settings):
    settings.SKILL_MAX_OUTPUT_BYTES = 1000
    response = alice.run("test/sink", {"action": "repeat", "text": "x", "payload": 2000})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["kind"] == "output_too_large"
    assert error["message"] == "the skill's output is 2031 bytes; the limit is 1000 bytes"
    run = Run.objects.get()
    assert (run.status, run.error_kind, run.output) == ("failed", "output_too_large", "")
    assert alice.run("test/sink", {"action": "repeat", "text": "x", "payload": 900}).status_code == 200


def test_a_40_mb_output_is_output_too_large_not_a_trap(alice, settings):
    settings.SKILL_MEMORY_MB = 1024  # room to build it; the default output limit applies
    response = alice.run("test/sink", {"action": "repeat", "text": "x", "payload": 40 * 1024 * 1024})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["kind"] == "output_too_large", error["message"][:300]
    assert error["message"].startswith("the skill's output is larger than the limit of 2097152 bytes")
    assert Run.objects.get().error_kind == "output_too_large"


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("SKILL_MAX_STREAM_ITEMS", 5, "the skill wrote more than 5 stream items, the limit per run"),
        (
            "SKILL_MAX_STREAM_BYTES",
            200,
            "the skill's stream items passed 200 bytes (as JSON), the limit per run",
        ),
    ],
)
def test_a_stream_past_its_limit_ends_with_an_error_event_and_keeps_its_items(
    alice, settings, setting, value, message
):
    setattr(settings, setting, value)
    words = " ".join(f"w{n}" for n in range(50))
    received = events(
        alice.client.post("/v1/skills/test/stream/message-stream", {"text": words}, format="json")
    )
    assert received[-1] == ("error", {"message": message})
    run = Run.objects.get()
    assert (run.status, run.error_kind, run.error_message) == ("failed", "output_too_large", message)
    assert 1 < len(run.items) == len(received) - 1 < 50  # what the client saw is what was stored
    replayed = events(alice.client.get(f"/api/v1/runs/{run.id}/stream"))
    assert replayed == received


def test_a_stream_client_that_falls_behind_still_gets_every_item_in_order(alice, settings, caplog):
    settings.SKILL_STREAM_BUFFER_ITEMS = 3
    caplog.set_level("INFO", logger="skills.services.dispatch")
    words = " ".join(f"w{n}" for n in range(40))
    response = alice.client.post("/v1/skills/test/stream/message-stream", {"text": words}, format="json")
    deadline = time.monotonic() + 20
    while not Run.objects.filter(status="succeeded").exists():  # the client reads nothing meanwhile
        assert time.monotonic() < deadline
        time.sleep(0.05)
    received = events(response)
    assert [data.get("text") for _, data in received[1:-1]] == [f"w{n} " for n in range(40)]
    assert received[-1] == ("message", {"type": "end", "payload": {"words": 40}})
    assert "a stream client fell 3 items behind" in caplog.text  # the rest came from the stored run


def test_the_local_channel_is_bounded_and_never_blocks_the_writer():
    channel = LocalChannel(3)
    started = time.monotonic()
    for n in range(10_000):
        channel.put({"n": n})
    assert time.monotonic() - started < 1.0
    assert channel.overflowed and len(channel._items) <= 3
    channel.end()
    assert list(channel.items()) == []  # the reader takes the rest from the stored run

    live = LocalChannel(100)
    got: list[int] = []
    reader = threading.Thread(target=lambda: got.extend(item["n"] for item in live.items()))
    reader.start()
    for n in range(50):
        live.put({"n": n})
    live.end()
    reader.join(timeout=5)
    assert got == list(range(50)) and not live.overflowed

    gone = LocalChannel(3)
    gone.close()  # the client disconnected
    gone.put({"n": 1})
    assert len(gone._items) == 0 and not gone.overflowed
