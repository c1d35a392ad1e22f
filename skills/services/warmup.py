"""Warm a process before it serves, so the first burst of requests does not pay, all at once and
under load, for what every process needs once: imports, the URL resolver, the database pool, the
broker connection and the Redis subscription (distributed), the wasm engine (embedded)."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection
from django.urls import get_resolver

from skills.models import SkillVersion, Tag
from skills.services import cancellation, dispatch, execution, process, registry

log = logging.getLogger(__name__)


def warm_web_process() -> None:
    """For each web process, once, before it accepts requests. Never raises: a service still
    starting is retried by the first requests as usual."""
    _attempt("the URL resolver and views", lambda: get_resolver().url_patterns)
    _attempt("the database", _touch_database)
    if process.is_distributed():
        _attempt("the broker and the run channel", dispatch.warm_up)
    else:
        _attempt("the runtime", execution.warm_up)
        _attempt("the tagged skills", preload_tagged)
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
    _attempt("the tagged skills", preload_tagged)
    _attempt("the optimised compiles still to do", registry.optimise_pending)


def tagged_versions() -> list[SkillVersion]:
    """The ready versions tags point at, of active skills: ``latest`` first, then the most
    recently moved tags; as many as the component cache holds."""
    tags = (
        Tag.objects.filter(skill__is_active=True, version__status=SkillVersion.READY)
        .exclude(version__artifact="")
        .select_related("version__skill")
        .order_by("-updated_at")
    )
    ordered = sorted(tags, key=lambda tag: tag.name != registry.DEFAULT_TAG)  # stable: recency kept
    budget = execution.component_cache().max_bytes
    versions: dict[int, SkillVersion] = {}
    for tag in ordered:
        size = tag.version.artifact_size or tag.version.size
        if tag.version_id in versions or size > budget:
            continue
        versions[tag.version_id] = tag.version
        budget -= size
    return list(versions.values())


def preload_tagged() -> int:
    """Load the tagged versions into the cache and make their spare instances, so the first runs
    after a start find them warm. Spends at most ``SKILL_PRELOAD_SECONDS`` before the process
    serves; what is left loads on a background thread. Returns how many loaded before serving."""
    if not settings.SKILL_PRELOAD:
        return 0
    versions = tagged_versions()
    deadline = time.monotonic() + settings.SKILL_PRELOAD_SECONDS
    loaded = 0
    for version in versions:
        _warm(version, execution.load)
        loaded += 1
        if time.monotonic() > deadline and loaded < len(versions):
            threading.Thread(
                target=_preload_rest, args=(versions[loaded:],), name="skill-preload", daemon=True
            ).start()
            break
    for version in reversed(versions[: min(loaded, settings.SKILL_SPARE_SKILLS)]):
        _warm(version, execution.warm)  # spares for the first ones, which the preparer keeps longest
    log.info("preloaded %d of %d tagged skill versions", loaded, len(versions))
    return loaded


def _preload_rest(versions: list[SkillVersion]) -> None:
    try:
        for version in versions:
            _warm(version, execution.load)
    finally:
        connection.close()


def _warm(version: SkillVersion, how) -> None:
    try:
        how(version)
    except Exception:  # noqa: BLE001 - a broken artifact is reported by its first run
        log.warning("could not preload %s", version, exc_info=True)


def _touch_database() -> None:
    connection.ensure_connection()  # opens the pool (min_size connections) when pooled
    connection.close()


def _attempt(what: str, warm) -> None:
    try:
        warm()
    except Exception:  # noqa: BLE001 - warming is an optimisation, never a reason not to start
        log.warning("could not warm up %s", what, exc_info=True)
