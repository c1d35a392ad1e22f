"""A stored run's states: created held by this process, finished with an outcome, or failed.

The database row is the record of every invocation; these are the writes that end one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.utils import timezone

from runtime import ErrorKind, RunOutcome
from skills.models import Run
from skills.services.process import WORKER_NAME, is_distributed

log = logging.getLogger(__name__)


def holder() -> dict[str, Any]:
    """Embedded: this process holds the run from the start (its pool queue is in memory), so the
    run names it and heartbeats while queued; the reaper fails it should the process die."""
    if is_distributed():
        return {}
    return {"worker": WORKER_NAME, "heartbeat_at": timezone.now()}


def created_running() -> dict[str, Any]:
    """The fields of a run stored already claimed by this process, which executes it at once on
    the request's thread: one write fewer than queued, then claimed."""
    now = timezone.now()
    return {
        "status": Run.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "worker": WORKER_NAME,
        "attempts": 1,
    }


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
