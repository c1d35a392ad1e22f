"""Celery tasks: thin callers of services. A task takes an id and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from skills.services import broker, running


@shared_task(
    acks_late=True,  # a worker killed mid-run leaves the message to be redelivered...
    reject_on_worker_lost=True,  # ...and a dead child process does not ack it either
    autoretry_for=(OperationalError, InterfaceError),  # the database is restarting: try again
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=20,
    ignore_result=True,
)
def execute_run(run_id: str) -> None:
    """Claim and execute a queued run; a redelivered or duplicate task finds it claimed and stops."""
    running.execute_run(run_id, on_item=broker.publisher(run_id))
    broker.notify_done(run_id)


@shared_task(ignore_result=True)
def reap_lost_runs() -> dict[str, int]:
    """For celery beat, if you prefer it to the reaper thread every worker runs."""
    from skills.services import cancellation

    return cancellation.reap_lost_runs()


@shared_task(acks_late=True, ignore_result=True)
def optimise_version(version_id: int) -> None:
    """Swap a version deployed on its baseline artifact to the optimised one (compiled once)."""
    from skills.services import registry

    registry.optimise_version(version_id)


@shared_task(ignore_result=True)
def sync_namespaces() -> None:
    """For celery beat every NAMESPACE_UPDATE_INTERVAL: sync every namespace source once."""
    from skills.sources import poller

    poller.sync_all()
