"""Sync every namespace source every ``NAMESPACE_UPDATE_INTERVAL``.

Embedded default: one daemon thread in the web process (:func:`start`). Distributed mode: celery
beat sends ``skills.tasks.sync_namespaces`` on the same interval. ``manage.py sync_namespaces``
runs it in the foreground. Each source's lease keeps two pollers from syncing one namespace at once.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from skills.models import NamespaceSource
from skills.sources import config, sync
from skills.sources.descriptions import SourceError

log = logging.getLogger(__name__)
_state = {"config_error": ""}
_started = threading.Event()


def sync_all() -> list[sync.SyncReport]:
    """Apply ``NAMESPACES_CONFIG``, then sync each enabled source once, in name order."""
    reports: list[sync.SyncReport] = []
    error = apply_config()
    if error:
        reports.append(sync.SyncReport(namespace="(config)", errors=[error]))
    ids = (
        NamespaceSource.objects.filter(enabled=True).order_by("namespace__name").values_list("pk", flat=True)
    )
    for source_id in ids:
        try:
            reports.append(sync.sync_source(source_id))
        except Exception:  # noqa: BLE001 - one source's bug must not stop the others
            log.exception("syncing namespace source %s failed", source_id)
    return reports


def apply_config() -> str:
    """Write ``NAMESPACES_CONFIG`` to the source rows; return its error ('' when it applied). A
    config that fails changes nothing: the sources configured before keep syncing."""
    try:
        config.apply()
    except SourceError as error:
        _state["config_error"] = str(error)
        log.error("namespace config: %s (the sources configured before keep syncing)", error)
        return str(error)
    _state["config_error"] = ""
    return ""


def config_error() -> str:
    """The last ``NAMESPACES_CONFIG`` error of this process ('' when it applied)."""
    return _state["config_error"]


def run_forever(interval: float | None = None, on_reports=None) -> None:
    """Sync, sleep the rest of the interval, repeat; survives database and source outages."""
    interval = settings.NAMESPACE_UPDATE_INTERVAL if interval is None else interval
    while True:
        started = time.monotonic()
        try:
            reports = sync_all()
            if on_reports is not None:
                on_reports(reports)
        except DatabaseError:
            log.warning("namespace poller: the database is unavailable; trying again", exc_info=True)
        except Exception:  # noqa: BLE001 - the poller must keep polling
            log.exception("namespace poller: sync failed")
        finally:
            close_old_connections()
        time.sleep(max(0.05, interval - (time.monotonic() - started)))


def start() -> bool:
    """Start the embedded poller thread once per process, if enabled; True when started now."""
    if not settings.NAMESPACE_POLLER or settings.NAMESPACE_UPDATE_INTERVAL <= 0 or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=run_forever, name="namespace-poller", daemon=True).start()
    return True
