"""Hand runs to an executor: an in-process thread pool (embedded default) or Celery workers.

Both paths end in :func:`skills.services.invocation.execute_run`; only the transport differs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from runtime import ErrorKind
from skills.models import Run
from skills.services.errors import Unavailable


@dataclass
class Submission:
    run: Run
    handle: Any  # a Future in embedded mode
    replayed: bool = False

    def wait(self, timeout: float) -> bool:
        """Wait for the run to end; False if it is still going after ``timeout`` seconds."""
        if self.handle is None:
            return self.run.is_terminal
        try:
            self.handle.result(timeout=timeout)
        except FutureTimeout:
            return False
        self.run.refresh_from_db()
        return True


class EmbeddedExecutor:
    """A bounded thread pool: ``threads`` runs at once plus ``queue`` waiting, then 503."""

    def __init__(self, threads: int, queue: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="skill-run")
        self.slots = threading.BoundedSemaphore(threads + queue)
        self.in_flight = 0

    def submit(self, run_id, on_item=None) -> Future:
        from skills.services.invocation import execute_run

        def work():
            try:
                return execute_run(run_id, on_item)
            finally:
                self.slots.release()

        return self.pool.submit(work)


_executor: EmbeddedExecutor | None = None
_executor_lock = threading.Lock()


def executor() -> EmbeddedExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = EmbeddedExecutor(settings.SKILL_EXECUTOR_THREADS, settings.SKILL_EXECUTOR_QUEUE)
        return _executor


@contextmanager
def capacity() -> Iterator[None]:
    """Reserve an execution slot for the duration of a submission, or refuse with 503."""
    pool = executor()
    if not pool.slots.acquire(blocking=False):
        raise Unavailable("execution capacity is exhausted; retry shortly", retry_after=1)
    handed_over = False
    try:
        yield
        handed_over = True
    finally:
        if not handed_over:
            pool.slots.release()


def dispatch(run: Run, on_item=None) -> Future:
    """Start executing ``run``; the slot reserved by :func:`capacity` is released when it ends."""
    from skills.services.invocation import fail_run

    try:
        return executor().submit(run.pk, on_item)
    except RuntimeError as error:  # the pool is shutting down
        executor().slots.release()
        fail_run(run.pk, ErrorKind.UNAVAILABLE, f"the executor refused the run: {error}")
        raise Unavailable("the kernel is shutting down") from None
