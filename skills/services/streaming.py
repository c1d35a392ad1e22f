"""Serve a message-stream run as server-sent events, item by item as the skill writes them."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from typing import Any

from skills.models import Run
from skills.services import invocation, registry
from skills.services.errors import NotFound

_DONE = object()


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def item_event(item: dict[str, Any]) -> str:
    if item.get("type") == "reasoning":
        return sse("reasoning", item.get("text", ""))
    if item.get("type") == "tool":
        return sse(
            "tool", {k: v for k, v in item.items() if k != "type"} | {"type": item.get("phase", "begin")}
        )
    return sse("message", {k: v for k, v in item.items() if k != "role" or v})


def stream_run(
    user, namespace: str, name: str, body: bytes, tag: str = registry.DEFAULT_TAG
) -> Iterator[str]:
    """Validate and submit now (errors other than not-found raise); return the event iterator."""
    items: queue.Queue = queue.Queue()
    try:
        submission = invocation.submit_run(
            user, namespace, name, body, tag=tag, mode=Run.STREAM, on_item=items.put
        )
    except NotFound as error:
        return iter([sse("error", {"message": error.message})])
    if submission.run.version.world != "message-stream-skill":
        submission.wait(timeout=60)
        return iter([sse("error", {"message": f"skill '{namespace}/{name}' is not a message-stream skill"})])
    if submission.handle is not None:
        submission.handle.add_done_callback(lambda _: items.put(_DONE))
    else:
        items.put(_DONE)
    return _events(submission, items)


def _events(submission, items: queue.Queue) -> Iterator[str]:
    while True:
        item = items.get()
        if item is _DONE:
            break
        yield item_event(item)
    run = submission.run
    run.refresh_from_db()
    if run.status != Run.SUCCEEDED:
        yield sse("error", {"message": run.error_message or f"the run ended {run.status}"})
