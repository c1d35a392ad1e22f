"""Submit, execute and record runs. Every accepted invocation ends as a Run in a terminal state."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from runtime import ErrorKind, RunOutcome
from skills.models import NamespaceGrant, Run
from skills.services import access, dispatch, execution, registry
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


def execute_run(run_id, on_item: ItemSink | None = None) -> Run | None:
    """Claim a queued run, execute it, store the outcome. Safe to call twice: only one claim wins."""
    close_old_connections()
    try:
        claimed = Run.objects.filter(pk=run_id, status=Run.QUEUED).update(
            status=Run.RUNNING, started_at=timezone.now(), attempts=1
        )
        run = Run.objects.select_related("version", "skill__namespace").get(pk=run_id)
        if not claimed:
            return run
        try:
            skill = execution.load(run.version)
            csi = execution.csi_for(run.skill.namespace)
            limits = execution.limits_for(run.skill)
            if skill.is_stream:
                outcome = execution.runtime().stream(skill, run.input.encode(), csi, limits, on_item)
            else:
                outcome = execution.runtime().run(skill, run.input.encode(), csi, limits)
        except Exception as error:  # noqa: BLE001 - the run must end, whatever broke
            log.exception("executing run %s failed", run_id)
            outcome = RunOutcome(
                error_kind=ErrorKind.TRAP, error_message=f"the kernel could not run the skill: {error}"
            )
        return finish_run(run, outcome)
    finally:
        close_old_connections()


def finish_run(run: Run, outcome: RunOutcome) -> Run:
    """Store an outcome on a running run (never overwrites a cancelled one)."""
    fields: dict[str, Any] = {
        "status": Run.SUCCEEDED if outcome.succeeded else Run.FAILED,
        "output": outcome.output.decode() if outcome.output is not None else "",
        "error_kind": outcome.error_kind.value if outcome.error_kind else "",
        "error_message": outcome.error_message,
        "duration_ms": round(outcome.duration * 1000, 3),
        "finished_at": timezone.now(),
        "items": outcome.items,
    }
    Run.objects.filter(pk=run.pk, status=Run.RUNNING).update(**fields)
    run.refresh_from_db()
    return run


def fail_run(run_id, kind: ErrorKind, message: str) -> None:
    """End a run that never got to execute (executor gone, worker lost)."""
    Run.objects.filter(pk=run_id, status__in=[Run.QUEUED, Run.RUNNING]).update(
        status=Run.FAILED, error_kind=kind.value, error_message=message, finished_at=timezone.now()
    )
