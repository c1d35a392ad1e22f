"""Execute a run: claim it, run the skill in this process's runtime, store the outcome."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.db.models import F
from django.utils import timezone

from runtime import ErrorKind, Limits, RunOutcome
from skills import telemetry
from skills.models import Run
from skills.services import cancellation, execution
from skills.services.process import WORKER_NAME, is_distributed, release_connection
from skills.services.runs import finish_run

log = logging.getLogger(__name__)
ItemSink = Callable[[dict[str, Any]], None]


def output_limits(limits: Limits) -> Limits:
    """``limits`` with the kernel's bounds on what a run hands back (``SKILL_MAX_OUTPUT_BYTES``,
    ``SKILL_MAX_STREAM_ITEMS``, ``SKILL_MAX_STREAM_BYTES``): past them it ends ``output_too_large``."""
    return dataclasses.replace(
        limits,
        max_output_bytes=settings.SKILL_MAX_OUTPUT_BYTES,
        max_stream_items=settings.SKILL_MAX_STREAM_ITEMS,
        max_stream_bytes=settings.SKILL_MAX_STREAM_BYTES,
    )


def execute_run(run_id, on_item: ItemSink | None = None) -> Run | None:
    """Claim a queued run, execute it, store the outcome. Safe to call twice: only one claim wins.

    For executors with a thread of their own (the embedded pool, a Celery worker), which hold the
    database connection only around the claim and the final write.
    """
    close_old_connections()
    try:
        now = timezone.now()
        claimed = Run.objects.filter(pk=run_id, status=Run.QUEUED).update(
            status=Run.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=WORKER_NAME,
            attempts=F("attempts") + 1,
        )
        run = Run.objects.select_related("version", "skill__namespace").get(pk=run_id)
        if not claimed:
            return run
        return _execute(run, on_item)
    finally:
        close_old_connections()


def execute_claimed(run: Run) -> Run:
    """Execute a run stored already claimed by this process (``runs.created_running``) on the
    calling request's thread, whose database connection Django manages."""
    return _execute(run, on_item=None)


def _execute(run: Run, on_item: ItemSink | None) -> Run:
    with telemetry.run_span(run) as traced:  # skill.execute span; sets run.trace_id
        cancelled = cancellation.watch().enter(run.pk)  # heartbeats, and notices a cancel
        try:
            skill = execution.load(run.version)
            csi = cancellation.guarded_csi(execution.csi_for(run.skill.namespace), cancelled)
            limits = output_limits(execution.limits_for(run.skill))
            # hold no database connection while the skill runs (it may wait on inference)
            release_connection(even_unpooled=is_distributed())
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
            log.exception("executing run %s failed", run.pk)
            outcome = RunOutcome(
                error_kind=ErrorKind.TRAP, error_message=f"the kernel could not run the skill: {error}"
            )
        traced.finish(outcome)
        try:
            return finish_run(run, outcome)
        finally:
            cancellation.watch().leave(run.pk)  # heartbeats go on while the final write retries
