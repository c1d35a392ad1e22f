"""Submit, execute and record runs. Every accepted invocation ends as a Run in a terminal state."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from runtime import ErrorKind, Limits, RunOutcome
from skills import telemetry
from skills.models import NamespaceGrant, Run
from skills.services import access, backpressure, cancellation, dispatch, execution, registry, validation
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
    namespace = access.namespace_for(user, namespace_name, NamespaceGrant.INVOKE)
    skill, version = registry.resolve(namespace, skill_name, tag)
    if idempotency_key:
        existing = Run.objects.filter(caller=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return dispatch.Submission(existing, handle=None, replayed=True)
    validation.check_input(version.input_schema, value)
    with dispatch.capacity():  # raises Unavailable before any row exists when the kernel is full
        try:
            with transaction.atomic():
                backpressure.check_namespace(namespace)  # 429 before any row exists
                run = Run.objects.create(
                    skill=skill,
                    version=version,
                    tag=tag,
                    caller=user,
                    mode=mode,
                    input=body.decode(),
                    idempotency_key=idempotency_key,
                    **_holder(),
                )
        except IntegrityError:  # the same idempotency key, submitted concurrently
            return dispatch.Submission(
                Run.objects.get(caller=user, idempotency_key=idempotency_key), handle=None, replayed=True
            )
        handle = dispatch.dispatch(run, on_item=on_item)
    return dispatch.Submission(run, handle=handle)


def output_limits(limits: Limits) -> Limits:
    """``limits`` with the kernel's bounds on what a run hands back (``SKILL_MAX_OUTPUT_BYTES``,
    ``SKILL_MAX_STREAM_ITEMS``, ``SKILL_MAX_STREAM_BYTES``): past them it ends ``output_too_large``."""
    return dataclasses.replace(
        limits,
        max_output_bytes=settings.SKILL_MAX_OUTPUT_BYTES,
        max_stream_items=settings.SKILL_MAX_STREAM_ITEMS,
        max_stream_bytes=settings.SKILL_MAX_STREAM_BYTES,
    )


def _holder() -> dict[str, Any]:
    """Embedded: this process holds the run from the start (its pool queue is in memory), so the
    run names it and heartbeats while queued; the reaper fails it should the process die."""
    if dispatch.is_distributed():
        return {}
    return {"worker": cancellation.WORKER_NAME, "heartbeat_at": timezone.now()}


def execute_run(
    run_id, on_item: ItemSink | None = None, in_request: bool = False, loaded: Run | None = None
) -> Run | None:
    """Claim a queued run, execute it, store the outcome. Safe to call twice: only one claim wins.

    ``in_request``: executing on a web request's thread, whose database connection Django manages.
    ``loaded``: the run with its version, skill and namespace already loaded (saves a query).
    """
    if not in_request:
        close_old_connections()
    try:
        now = timezone.now()
        claimed = Run.objects.filter(pk=run_id, status=Run.QUEUED).update(
            status=Run.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=cancellation.WORKER_NAME,
            attempts=F("attempts") + 1,
        )
        if not claimed or loaded is None:
            run = Run.objects.select_related("version", "skill__namespace").get(pk=run_id)
        else:
            run = loaded
            run.status, run.started_at, run.heartbeat_at = Run.RUNNING, now, now
            run.worker, run.attempts = cancellation.WORKER_NAME, run.attempts + 1
        if not claimed:
            return run
        with telemetry.run_span(run) as traced:  # skill.execute span; sets run.trace_id
            cancelled = cancellation.watch().enter(run.pk)  # heartbeats, and notices a cancel
            try:
                skill = execution.load(run.version)
                csi = cancellation.guarded_csi(execution.csi_for(run.skill.namespace), cancelled)
                limits = output_limits(execution.limits_for(run.skill))
                # hold no database connection while the skill runs (it may wait on inference)
                dispatch.release_connection(even_unpooled=dispatch.is_distributed())
                if skill.is_stream:
                    sink = cancellation.guarded_sink(on_item, cancelled)
                    outcome = execution.runtime().stream(skill, run.input.encode(), csi, limits, sink)
                else:
                    outcome = execution.runtime().run(skill, run.input.encode(), csi, limits)
            except (OperationalError, InterfaceError):
                # The database went away before the skill started: leave the run to the reaper,
                # which requeues it once its heartbeat is stale.
                cancellation.watch().leave(run.pk)
                raise
            except Exception as error:  # noqa: BLE001 - the run must end, whatever broke
                log.exception("executing run %s failed", run_id)
                outcome = RunOutcome(
                    error_kind=ErrorKind.TRAP, error_message=f"the kernel could not run the skill: {error}"
                )
            traced.finish(outcome)
            try:
                return finish_run(run, outcome)
            finally:
                cancellation.watch().leave(run.pk)  # heartbeats go on while the final write retries
    finally:
        if not in_request:
            close_old_connections()


def finish_run(run: Run, outcome: RunOutcome) -> Run:
    """Store an outcome on a running run (never overwrites a cancelled one).

    The write is retried while the database is unreachable (a restart), for up to
    ``SKILL_FINISH_RETRY_SECONDS``: a finished run is not lost to a database restart.
    """
    fields: dict[str, Any] = {
        "status": Run.SUCCEEDED if outcome.succeeded else Run.FAILED,
        "output": outcome.output.decode() if outcome.output is not None else "",
        "error_kind": outcome.error_kind.value if outcome.error_kind else "",
        "error_message": outcome.error_message,
        "duration_ms": round(outcome.duration * 1000, 3),
        "finished_at": timezone.now(),
        "items": outcome.items,
        "trace_id": run.trace_id,
    }
    deadline = time.monotonic() + settings.SKILL_FINISH_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            if Run.objects.filter(pk=run.pk, status=Run.RUNNING).update(**fields):
                for name, value in fields.items():
                    setattr(run, name, value)
                run.status = fields["status"]
            else:  # cancelled meanwhile: the stored row wins
                run.refresh_from_db()
            return run
        except (OperationalError, InterfaceError):
            if db_connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            log.warning("storing the outcome of run %s failed; retrying in %.1f s", run.pk, delay)
            db_connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def fail_run(run_id, kind: ErrorKind, message: str) -> None:
    """End a run that never got to execute (executor gone, worker lost)."""
    Run.objects.filter(pk=run_id, status__in=[Run.QUEUED, Run.RUNNING]).update(
        status=Run.FAILED, error_kind=kind.value, error_message=message, finished_at=timezone.now()
    )
