"""Read a streamed Django test response as server-sent events."""

from __future__ import annotations

import json


def events(response) -> list[tuple[str, object]]:
    """``(event, data)`` pairs of a ``text/event-stream`` answer, its data parsed as JSON."""
    text = b"".join(response.streaming_content).decode()
    return [
        (lines["event"], json.loads(lines["data"]))
        for lines in (
            dict(line.split(": ", 1) for line in block.splitlines()) for block in text.split("\n\n") if block
        )
    ]
