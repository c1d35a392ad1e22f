"""Admission limits checked before a run is stored: per namespace (429) and cluster-wide (503).

Both count rows, so they hold across any number of web processes. The namespace limit is exact
on PostgreSQL (the count and the insert run under a transaction-scoped advisory lock per
namespace) and on SQLite (writes are serialized); the queue-depth limit is a cheap soft bound.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from skills.models import Namespace, Run
from skills.services.errors import TooManyRequests, Unavailable

IN_FLIGHT = (Run.QUEUED, Run.RUNNING)
_LOCK_SPACE = 0x5C111  # advisory lock key space of this module (first half of the key)


def namespace_limit(namespace: Namespace) -> int:
    """Runs of ``namespace`` that may be queued or running at once; 0 means no limit."""
    if namespace.max_concurrent_runs is not None:
        return namespace.max_concurrent_runs
    return settings.SKILL_NAMESPACE_MAX_RUNS


def check_namespace(namespace: Namespace) -> None:
    """Call inside the transaction that creates the run; raises TooManyRequests when full."""
    limit = namespace_limit(namespace)
    if not limit:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_SPACE, namespace.pk])
    in_flight = Run.objects.filter(skill__namespace=namespace, status__in=IN_FLIGHT).count()
    if in_flight >= limit:
        raise TooManyRequests(
            f"namespace '{namespace.name}' already has {in_flight} runs in flight (its limit is {limit}); "
            "retry shortly",
            retry_after=settings.SKILL_RETRY_AFTER_SECONDS,
        )


def check_queue_depth() -> None:
    """Distributed mode: refuse with 503 while too many runs wait for a worker."""
    limit = settings.SKILL_MAX_QUEUED_RUNS
    if limit and Run.objects.filter(status=Run.QUEUED).count() >= limit:
        raise Unavailable(
            f"{limit} runs are waiting for a worker; retry shortly",
            retry_after=settings.SKILL_RETRY_AFTER_SECONDS,
        )
