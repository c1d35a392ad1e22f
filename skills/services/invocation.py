"""Accept an invocation: check access and input, store the run, hand it to an executor.

Every accepted invocation ends as a Run in a terminal state (``skills.services.running``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from skills.models import NamespaceGrant, Run
from skills.services import access, backpressure, dispatch, registry, runs, validation
from skills.services.errors import InvalidInput, KernelError, PayloadTooLarge

log = logging.getLogger(__name__)
ItemSink = Callable[[dict[str, Any]], None]


# Nesting steps of the brackets: "[" and "{" one level in, "]" and "}" one out (signed bytes).
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def json_depth(raw: bytes) -> int:
    """How deeply ``raw`` nests arrays and objects, counted without recursion, in C loops: escaped
    backslashes and quotes out, then what lies between quotes (strings), then the brackets summed."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[0::2])
    steps = array("b", outside_strings.translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0)


def parse_json(raw: bytes, what: str = "the body") -> Any:
    """Strict JSON: 400 for anything but RFC 8259 JSON (``NaN`` and ``Infinity`` are not), or nested
    deeper than ``SKILL_MAX_INPUT_DEPTH`` (``json.loads`` recurses per level: 100,000 would raise
    RecursionError, and a deep value breaks later readers too)."""
    limit = settings.SKILL_MAX_INPUT_DEPTH
    if raw.count(b"[") + raw.count(b"{") > limit and json_depth(raw) > limit:
        raise InvalidInput(f"{what} is JSON nested deeper than {limit} levels")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(f"{what} is not valid JSON: {error}") from None


def parse_input(body: bytes) -> Any:
    if len(body) > settings.SKILL_MAX_INPUT_BYTES:
        raise PayloadTooLarge(
            f"the input is {len(body)} bytes; this kernel accepts at most {settings.SKILL_MAX_INPUT_BYTES}"
        )
    return parse_json(body or b"null")


_IDEMPOTENCY_KEY_LENGTH = Run._meta.get_field("idempotency_key").max_length


def _resolve_for(user, namespace_name: str, skill_name: str, tag: str):
    """The namespace, skill and version to run, if ``user`` may invoke there: one query for a
    tagged version (the usual call), else the checks in order, with their 404s and 403s."""
    found = registry.find_tagged(namespace_name, skill_name, tag)
    if found is not None and access.holds(user, found[0], NamespaceGrant.INVOKE):
        return found
    namespace = access.namespace_for(user, namespace_name, NamespaceGrant.INVOKE)
    return (namespace, *registry.resolve(namespace, skill_name, tag))


def submit_run(
    user,
    namespace_name: str,
    skill_name: str,
    body: bytes,
    *,
    tag: str = registry.DEFAULT_TAG,
    mode: str = Run.SYNC,
    idempotency_key: str = "",
    on_item: ItemSink | None = None,
) -> dispatch.Submission:
    """Check access and input, store a queued Run and hand it to the executor.

    Input that is not JSON, or that does not match the version's input schema, raises
    ``InvalidInput`` before any run exists (it was never accepted)."""
    value = parse_input(body)
    if len(idempotency_key) > _IDEMPOTENCY_KEY_LENGTH:
        raise KernelError(
            f"the Idempotency-Key has {len(idempotency_key)} characters; at most {_IDEMPOTENCY_KEY_LENGTH}"
        )
    namespace, skill, version = _resolve_for(user, namespace_name, skill_name, tag)
    if idempotency_key:
        existing = Run.objects.filter(caller=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return dispatch.Submission(existing, handle=None, replayed=True)
    validation.check_input(version.input_schema, value)
    state = runs.created_running() if dispatch.runs_here(mode, on_item) else runs.holder()
    limited = backpressure.namespace_limit(namespace) > 0
    with dispatch.capacity():  # raises Unavailable before any row exists when the kernel is full
        try:
            with transaction.atomic() if limited else contextlib.nullcontext():
                if limited:
                    backpressure.check_namespace(namespace)  # 429 before any row exists
                run = Run.objects.create(
                    skill=skill,
                    version=version,
                    tag=tag,
                    caller=user,
                    mode=mode,
                    input=body.decode(),
                    idempotency_key=idempotency_key,
                    **state,
                )
        except IntegrityError:  # the same idempotency key, submitted concurrently
            return dispatch.Submission(
                Run.objects.get(caller=user, idempotency_key=idempotency_key), handle=None, replayed=True
            )
        handle = dispatch.dispatch(run, on_item=on_item)
    return dispatch.Submission(run, handle=handle)
