"""Distributed mode's messages: runs to Celery workers through the broker, notices back over Redis.

Every run has a Redis pub/sub channel ``skill-kernel:run:<id>``: the worker publishes each stream
item and a ``done`` notice once the outcome is stored (``skills.services.dispatch`` listens).
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from django.conf import settings

from skills.services.errors import Unavailable
from skills.services.process import WORKER_NAME, is_distributed

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "skill-kernel:run:"
EXECUTE_TASK = "skills.tasks.execute_run"  # sent by name: the services do not import the tasks


def celery_app():
    """The kernel's Celery app (``kernel_site.celery``, made current when ``kernel_site`` loads):
    taken from Celery, so the services never import the module that wires the tasks to them."""
    from celery import current_app

    return current_app._get_current_object()


def send(run_id, timeout: float | None = None) -> None:
    """Publish the execute task for ``run_id`` (raises if the broker is unreachable).

    The time limits document the bound; a thread pool cannot enforce them, the epoch deadline of
    the skill's Store does (``timeout``), so they only back it up.
    """
    timeout = timeout or settings.SKILL_TIMEOUT_SECONDS
    celery_app().send_task(
        EXECUTE_TASK, args=[str(run_id)], soft_time_limit=timeout + 30, time_limit=timeout + 60, retry=True
    )


@functools.cache
def redis_client():
    import redis

    if not settings.SKILL_REDIS_URL:
        raise Unavailable("SKILL_REDIS_URL (or a redis:// CELERY_BROKER_URL) is not set")
    return redis.Redis.from_url(
        settings.SKILL_REDIS_URL,
        client_name=f"skill-kernel:{WORKER_NAME}",  # host:pid, for CLIENT LIST
        socket_connect_timeout=2,
        health_check_interval=30,
        max_connections=settings.SKILL_REDIS_MAX_CONNECTIONS,  # publishers; waiters share one subscription
    )


def publish(run_id, message: dict[str, Any]) -> None:
    redis_client().publish(f"{CHANNEL_PREFIX}{run_id}", json.dumps(message))


def publisher(run_id):
    """The worker's item sink for a stream run: publish each item live (items are also stored)."""

    def publish(item: dict[str, Any]) -> None:
        try:
            publish(run_id, {"item": item})
        except Exception:  # noqa: BLE001 - a live relay hiccup must not fail the skill
            log.warning("cannot publish an item of run %s", run_id, exc_info=True)

    return publish


def notify_done(run_id) -> None:
    """Tell waiters that ``run_id`` may have ended (they re-read the row). No-op when embedded."""
    if not is_distributed():
        return
    try:
        publish(run_id, {"done": True})
    except Exception:  # noqa: BLE001 - waiters also poll the database
        log.warning("cannot notify the end of run %s", run_id, exc_info=True)
