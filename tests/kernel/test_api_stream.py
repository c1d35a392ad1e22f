"""POST .../message-stream answers server-sent events in the contract's shape."""

from __future__ import annotations

import json

from skills.models import Run


def events(response) -> list[tuple[str, object]]:
    text = b"".join(response.streaming_content).decode()
    parsed = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def stream(caller, skill, body):
    return caller.client.post(f"/v1/skills/{skill}/message-stream", body, format="json")


def test_stream_events_and_stored_items(alice):
    response = stream(alice, "test/stream", {"text": "one two"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert events(response) == [
        ("message", {"type": "begin"}),
        ("message", {"type": "append", "text": "one "}),
        ("message", {"type": "append", "text": "two "}),
        ("message", {"type": "end", "payload": {"words": 2}}),
    ]
    run = Run.objects.get()
    assert (run.status, run.mode, len(run.items)) == ("succeeded", "stream", 4)


def test_failing_stream_ends_with_an_error_event(alice):
    received = events(stream(alice, "test/stream", {"text": "a b c", "fail_after": 1}))
    assert [name for name, _ in received] == ["message", "message", "error"]
    assert "failed after 1 words" in received[-1][1]["message"]
    assert Run.objects.get().error_kind == "internal"


def test_unknown_skill_is_an_error_event(alice):
    assert events(stream(alice, "test/nope", {})) == [
        ("error", {"message": "skill 'test/nope' does not exist"})
    ]


def test_programmable_skill_on_the_stream_route_is_400_before_the_stream(alice):
    response = stream(alice, "test/sink", {"action": "echo"})
    assert response.status_code == 400
    assert "not a message-stream skill" in response.json()["error"]["message"]
    assert not Run.objects.exists()
