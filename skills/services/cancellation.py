"""Cancel runs, keep running runs alive (heartbeats) and end the runs of lost workers (reaper).

A run executing in wasm cannot be interrupted from another thread: wasmtime-py offers only the
engine-wide epoch, and a Store is not thread-safe. So cancelling a running run marks it
``cancelled`` at once (its final write is then refused), and the executing thread stops the skill
at its next CSI call or stream write (the watcher notices within ``SKILL_HEARTBEAT_SECONDS``),
or at its time limit at the latest.

Every process that executes runs reaps: Celery workers, and the web processes of the embedded
default (started by ``skills.services.warmup``). A run whose process is gone ends ``worker_lost``
(or is requeued once, distributed): at once when its process ran on this host and its pid is dead,
otherwise once its heartbeat is ``SKILL_LOST_AFTER_SECONDS`` old.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from runtime import Csi, ErrorKind
from skills.models import NamespaceGrant, Run
from skills.services import access, broker, runs
from skills.services.errors import Conflict, NotFound
from skills.services.process import WORKER_NAME, is_distributed

log = logging.getLogger(__name__)


class RunCancelled(Exception):
    """Raised into a skill's CSI call once its run has been cancelled."""


def cancel_run(user, run_id) -> Run:
    """Cancel a queued or running run the user may invoke in; a finished run is a 409."""
    run = Run.objects.select_related("skill__namespace").filter(pk=run_id).first()
    if run is None or run.skill.namespace not in access.namespaces_for(user, NamespaceGrant.VIEW):
        raise NotFound(f"run '{run_id}' does not exist")
    access.namespace_for(user, run.skill.namespace.name, NamespaceGrant.INVOKE)
    now = timezone.now()
    cancelled = Run.objects.filter(pk=run.pk, status__in=[Run.QUEUED, Run.RUNNING]).update(
        status=Run.CANCELLED,
        error_kind=ErrorKind.CANCELLED.value,
        error_message="the run was cancelled",
        cancel_requested_at=now,
        finished_at=now,
    )
    run.refresh_from_db()
    if not cancelled and run.status != Run.CANCELLED:
        raise Conflict(f"run '{run_id}' already ended {run.status}")
    broker.notify_done(run.pk)
    return run


class RunWatch:
    """One thread per process: heartbeats for the runs executing here, and their cancel flags."""

    def __init__(self) -> None:
        self._runs: dict[Any, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def enter(self, run_id) -> threading.Event:
        cancelled = threading.Event()
        with self._lock:
            self._runs[run_id] = cancelled
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="run-watch", daemon=True)
                self._thread.start()
        return cancelled

    def running(self) -> list:
        with self._lock:
            return list(self._runs)

    def leave(self, run_id) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(settings.SKILL_HEARTBEAT_SECONDS)
            with self._lock:
                runs = dict(self._runs)
            if not runs:
                continue
            try:
                close_old_connections()
                # Queued runs too, when this process holds them (the embedded pool's queue).
                Run.objects.filter(
                    Q(status=Run.RUNNING) | Q(status=Run.QUEUED, worker=WORKER_NAME), pk__in=list(runs)
                ).update(heartbeat_at=timezone.now())
                for run_id in Run.objects.filter(pk__in=list(runs), status=Run.CANCELLED).values_list(
                    "pk", flat=True
                ):
                    runs[run_id].set()
            except Exception:  # noqa: BLE001 - the database may be restarting; try again next beat
                log.warning("run heartbeat failed", exc_info=True)
            finally:
                connection.close()  # one short connection per beat, none held while idle


_watch = RunWatch()


def watch() -> RunWatch:
    return _watch


class _Guarded:
    """A CSI backend that refuses calls (and results) once its run is cancelled."""

    def __init__(self, backend: Any, cancelled: threading.Event) -> None:
        self._backend = backend
        self._cancelled = cancelled

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._backend, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check()
            result = attribute(*args, **kwargs)
            self._check()
            return result

        return call

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise RunCancelled("the run was cancelled")


def guarded_csi(csi: Csi, cancelled: threading.Event) -> Csi:
    """``csi`` with every configured backend checking the run's cancel flag around each call."""
    fields = {
        field.name: _Guarded(value, cancelled)
        for field in dataclasses.fields(csi)
        if field.name != "observe"  # the observer (telemetry) is a function, not a backend
        and (value := getattr(csi, field.name)) is not None
        and not isinstance(value, (str, int, float))
    }
    return dataclasses.replace(csi, **fields)


def guarded_sink(on_item, cancelled: threading.Event):
    def sink(item: dict[str, Any]) -> None:
        if cancelled.is_set():
            raise RunCancelled("the run was cancelled")
        if on_item is not None:
            on_item(item)

    return sink


# -- the reaper ---------------------------------------------------------------------------------


def owner_gone(worker: str) -> bool:
    """Whether the process ``worker`` (``host:pid``, see WORKER_NAME) has certainly ended.

    Only provable for a process of this host whose pid is no longer alive, or whose pid is now
    this process's own (a restarted container reuses pids; this process's live runs are in
    ``watch()``). A live pid may be a sibling web process or an unrelated process: unknown. (Two
    containers sharing a hostname but not a pid namespace would see each other's pids as dead: the
    reaper's three quiet heartbeats keep their live runs safe.)
    """
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def reap_lost_runs(*, trust_heartbeats: bool = True) -> dict[str, int]:
    """Requeue (once, distributed) or fail the runs whose process is gone.

    A running run is lost when its process ran on this host and is dead (:func:`owner_gone`), or
    when its heartbeat is older than ``SKILL_LOST_AFTER_SECONDS`` (unless ``trust_heartbeats`` is
    false: the database may just have been unreachable). A queued run held by an embedded
    process's pool (it has a ``worker`` and heartbeats) is lost the same way, and fails. Either way
    the heartbeat must have been quiet for three beats, so a run just created or claimed here
    (not yet in ``watch()``) is safe. Safe to run anywhere and concurrently: each change is a
    conditional update on the heartbeat that was seen.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SKILL_LOST_AFTER_SECONDS)
    quiet = now - timedelta(seconds=3 * settings.SKILL_HEARTBEAT_SECONDS)
    candidates = (
        Run.objects.filter(
            Q(status=Run.RUNNING) | (Q(status=Run.QUEUED) & ~Q(worker="")), heartbeat_at__lt=quiet
        )
        .exclude(pk__in=watch().running())  # alive here, whatever the database says
        .values_list("pk", "status", "attempts", "worker", "heartbeat_at")
    )
    counts = {"requeued": 0, "failed": 0}
    for run_id, status, attempts, worker, heartbeat in list(candidates):
        gone = owner_gone(worker)
        if not gone and not (trust_heartbeats and heartbeat < stale):
            continue
        still_lost = Run.objects.filter(pk=run_id, status=status, heartbeat_at=heartbeat)
        if status == Run.RUNNING and attempts < settings.SKILL_MAX_ATTEMPTS and is_distributed():
            if still_lost.update(status=Run.QUEUED, worker="", heartbeat_at=None):
                log.warning(
                    "run %s lost its worker %s; retrying it (attempt %s)", run_id, worker, attempts + 1
                )
                try:
                    broker.send(run_id)
                    counts["requeued"] += 1
                except Exception as error:  # noqa: BLE001 - the broker is away: end the run
                    _fail(
                        run_id,
                        ErrorKind.UNAVAILABLE,
                        f"the run lost its worker and cannot be requeued: {error}",
                    )
                    counts["failed"] += 1
        elif still_lost.update(
            status=Run.FAILED,
            error_kind=ErrorKind.WORKER_LOST.value,
            error_message=_lost_message(status, worker, attempts, gone),
            finished_at=timezone.now(),
        ):
            log.warning("run %s lost its worker %s; failed it", run_id, worker)
            broker.notify_done(run_id)
            counts["failed"] += 1
    return counts


def _lost_message(status: str, worker: str, attempts: int, gone: bool) -> str:
    how = "ended" if gone else "stopped responding"
    if status == Run.QUEUED:
        return f"the process holding the queued run ({worker}) {how} before it could execute it"
    return f"the process executing the run ({worker}) {how} (attempt {attempts})"


def _fail(run_id, kind: ErrorKind, message: str) -> None:
    runs.fail_run(run_id, kind, message)
    broker.notify_done(run_id)


_reaper_started = False
_reaper_lock = threading.Lock()


def start_reaper() -> None:
    """Start this process's reaper thread (a worker when ready, an embedded web process when it
    warms up); idempotent."""
    global _reaper_started
    with _reaper_lock:
        if _reaper_started:
            return
        _reaper_started = True
    threading.Thread(target=_reap_forever, name="run-reaper", daemon=True).start()


def _reap_forever() -> None:
    """Reap at once, then every ``SKILL_REAPER_SECONDS``, trusting only staleness this process
    could observe.

    While the database is unreachable no heartbeat lands, so every run looks lost afterwards: stale
    heartbeats count after ``SKILL_LOST_AFTER_SECONDS`` of reachable database (after the start,
    too). Runs of a dead process of this host are reaped from the first pass (a restart after a
    crash ends them within seconds).
    """
    reachable_since: float | None = None
    while True:
        try:
            close_old_connections()
            connection.ensure_connection()
            reachable_since = reachable_since or time.monotonic()
            trusted = time.monotonic() - reachable_since >= settings.SKILL_LOST_AFTER_SECONDS
            reap_lost_runs(trust_heartbeats=trusted)
        except Exception:  # noqa: BLE001 - keep reaping after a database or broker hiccup
            log.warning("reaping lost runs failed", exc_info=True)
            reachable_since = None
        finally:
            connection.close()
        time.sleep(settings.SKILL_REAPER_SECONDS)
