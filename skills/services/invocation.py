"""Submit, execute and record runs. Every accepted invocation ends as a Run in a terminal state."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from runtime import ErrorKind, RunOutcome
from skills import telemetry
from skills.models import NamespaceGrant, Run
from skills.services import access, backpressure, cancellation, dispatch, execution, registry
from skills.services.errors import InvalidInput, PayloadTooLarge

log = logging.getLogger(__name__)
ItemSink = Callable[[dict[str, Any]], None]


def parse_input(body: bytes) -> Any:
    if len(body) > settings.SKILL_MAX_INPUT_BYTES:
        raise PayloadTooLarge(
            f"the input is {len(body)} bytes; this kernel accepts at most {settings.SKILL_MAX_INPUT_BYTES}"
        )
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"the body is not valid JSON: {error}") from None


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
    """Check access and input, store a queued Run and hand it to the executor."""
    parse_input(body)
    namespace = access.namespace_for(user, namespace_name, NamespaceGrant.INVOKE)
    skill, version = registry.resolve(namespace, skill_name, tag)
    if idempotency_key:
        existing = Run.objects.filter(caller=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return dispatch.Submission(existing, handle=None, replayed=True)
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
                )
        except IntegrityError:  # the same idempotency key, submitted concurrently
            return dispatch.Submission(
                Run.objects.get(caller=user, idempotency_key=idempotency_key), handle=None, replayed=True
            )
        handle = dispatch.dispatch(run, on_item=on_item)
    return dispatch.Submission(run, handle=handle)


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
                limits = execution.limits_for(run.skill)
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
