"""Serve a message-stream run as server-sent events, item by item as the skill writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from skills.models import NamespaceGrant, Run
from skills.services import access, dispatch, invocation, process, registry
from skills.services.errors import KernelError, NotFound


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def item_event(item: dict[str, Any]) -> str:
    """A stored stream item in PhariaEngine's SSE shape: ``message`` (begin, append, end),
    ``reasoning`` and ``tool`` (begin, end, or ``error`` with the message of a failed call)."""
    kind = item.get("type")
    if kind == "reasoning":
        return sse("reasoning", {"type": "reasoning", "text": item.get("text", "")})
    if kind == "tool":
        name = item.get("name")
        if item.get("phase") == "end" and item.get("message") is not None:
            return sse("tool", {"type": "error", "name": name, "message": item["message"]})
        return sse("tool", {"type": item.get("phase", "begin"), "name": name})
    if kind == "begin":
        return sse("message", {"type": "begin"})
    return sse("message", item)


def stream_run(
    user, namespace: str, name: str, body: bytes, tag: str = registry.DEFAULT_TAG
) -> Iterator[str]:
    """Validate and submit now, so that bad input, a namespace the caller may not invoke in and a
    skill that is not a message-stream skill raise (a 4xx before the stream starts, and no run);
    a skill that does not exist is an ``error`` event, as CONTRACTS.md has it. The event iterator."""
    invocation.parse_input(body)
    found = access.namespace_for(user, namespace, NamespaceGrant.INVOKE)
    try:
        _, version = registry.resolve(found, name, tag)
    except NotFound as error:
        return iter([sse("error", {"message": error.message})])
    if version.world != "message-stream-skill":
        raise KernelError(
            f"skill '{namespace}/{name}' is not a message-stream skill; run it with "
            f"POST /v1/skills/{namespace}/{name}/run"
        )
    items = dispatch.LocalChannel(settings.SKILL_STREAM_BUFFER_ITEMS)
    try:
        submission = invocation.submit_run(
            user, namespace, name, body, tag=tag, mode=Run.STREAM, on_item=items.put
        )
    except NotFound as error:  # the skill went away meanwhile
        return iter([sse("error", {"message": error.message})])
    if isinstance(submission.handle, dispatch.RunChannel):
        return _relayed(submission.run, submission.handle)
    if submission.handle is not None:
        submission.handle.add_done_callback(lambda _: items.end())
    else:  # a replayed idempotent request: serve what the run stored
        return replay(submission.run)
    return _events(submission, items)


def _events(submission, items: dispatch.LocalChannel) -> Iterator[str]:
    """Embedded mode: the items as the skill writes them; those the buffer could not hold (the
    client fell behind) from the stored run once it has ended."""
    sent = 0
    try:
        for item in items.items():
            sent += 1
            yield item_event(item)
    finally:
        items.close()
    run = submission.run
    run.refresh_from_db()
    if items.overflowed:
        for item in run.items[sent:]:
            yield item_event(item)
    if run.status != Run.SUCCEEDED:
        yield sse("error", {"message": run.error_message or f"the run ended {run.status}"})


def _relayed(run: Run, channel: dispatch.RunChannel) -> Iterator[str]:
    """Distributed mode: relay the items the worker publishes, live; end when the run has ended.

    Should a notice be missed (a Redis reconnect), the run is re-read every second and the
    stored items the client has not seen yet are sent from the row.
    """
    sent = 0
    try:
        process.release_connection()  # none held while the stream is open
        for message in channel.messages(timeout=dispatch.POLL_SECONDS):
            if message is not None and "item" in message:
                sent += 1
                yield item_event(message["item"])
                continue
            run.refresh_from_db()
            if run.is_terminal:
                break
            process.release_connection()
    finally:
        channel.close()
    for item in run.items[sent:]:
        yield item_event(item)
    if run.status != Run.SUCCEEDED:
        yield sse("error", {"message": run.error_message or f"the run ended {run.status}"})


def replay(run: Run, wait_seconds: float | None = None) -> Iterator[str]:
    """The stored stream of a run as server-sent events, once it has ended (waiting if need be)."""
    if not run.is_terminal:
        dispatch.poll(run, settings.SKILL_SYNC_WAIT_SECONDS if wait_seconds is None else wait_seconds)
    for item in run.items:
        yield item_event(item)
    if not run.is_terminal:
        yield sse("error", {"message": f"the run is still {run.status}; read it again later"})
    elif run.status != Run.SUCCEEDED:
        yield sse("error", {"message": run.error_message or f"the run ended {run.status}"})
