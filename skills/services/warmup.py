"""Warm a process before it serves, so the first burst of requests does not pay, all at once and
under load, for what every process needs once: imports, the URL resolver, the database pool, the
broker connection and the Redis subscription (distributed), the wasm engine (embedded)."""

from __future__ import annotations

import logging

from django.db import connection
from django.urls import get_resolver

from skills.services import cancellation, dispatch, execution, registry

log = logging.getLogger(__name__)


def warm_web_process() -> None:
    """For each web process, once, before it accepts requests. Never raises: a service still
    starting is retried by the first requests as usual."""
    _attempt("the URL resolver and views", lambda: get_resolver().url_patterns)
    _attempt("the database", _touch_database)
    if dispatch.is_distributed():
        _attempt("the broker and the run channel", dispatch.warm_up)
    else:
        _attempt("the runtime", execution.warm_up)
        _attempt("the namespace poller", _start_namespace_poller)
        # This process executes runs, so it also ends those of a crashed predecessor or sibling.
        _attempt("the run reaper", cancellation.start_reaper)
        _attempt("the optimised compiles still to do", registry.optimise_pending)


def _start_namespace_poller() -> None:
    from skills.sources import poller  # the sources sit above the services: import on use

    poller.start()


def warm_worker_process() -> None:
    """For each Celery worker process, once, before it consumes tasks."""
    _attempt("the database", _touch_database)
    _attempt("the runtime", execution.warm_up)
    _attempt("the optimised compiles still to do", registry.optimise_pending)


def _touch_database() -> None:
    connection.ensure_connection()  # opens the pool (min_size connections) when pooled
    connection.close()


def _attempt(what: str, warm) -> None:
    try:
        warm()
    except Exception:  # noqa: BLE001 - warming is an optimisation, never a reason not to start
        log.warning("could not warm up %s", what, exc_info=True)
