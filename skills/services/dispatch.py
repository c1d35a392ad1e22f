"""Hand runs to an executor: an in-process thread pool (embedded default) or Celery workers.

Both paths end in :func:`skills.services.running.execute_run`; only the transport differs.
In distributed mode (``skills.services.broker``) each web process holds one pattern subscription
to the runs' Redis channels and registers a waiter before the task is sent, so nothing is missed;
waiters re-read the row from the database (the source of truth) on each notice and every second
without one.
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from runtime import ErrorKind
from skills.models import Run
from skills.services import backpressure, broker, cancellation, running, runs
from skills.services.broker import CHANNEL_PREFIX
from skills.services.errors import Unavailable
from skills.services.process import is_distributed, release_connection

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # without a notice, waiters re-read the run this often


@dataclass
class Submission:
    run: Run
    handle: Any  # a Future (embedded), a RunChannel (distributed) or None (a replayed run)
    replayed: bool = False

    def wait(self, timeout: float) -> bool:
        """Wait for the run to end; False if it is still going after ``timeout`` seconds."""
        if isinstance(self.handle, Future):
            try:
                result = self.handle.result(timeout=timeout)
            except FutureTimeout:
                return False
            if isinstance(result, Run):
                self.run = result
            else:
                self.run.refresh_from_db()
            return True
        if isinstance(self.handle, RunChannel):
            try:
                return self.handle.wait(self.run, timeout)
            finally:
                self.handle.close()
        return poll(self.run, timeout)

    def detach(self) -> None:
        """The caller will not wait (async mode): drop the subscription, if any."""
        if isinstance(self.handle, RunChannel):
            self.handle.close()


def poll(run: Run, timeout: float) -> bool:
    """Re-read ``run`` with backoff until it ends or ``timeout`` passes (no channel to listen to)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        run.refresh_from_db()
        if run.is_terminal:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        release_connection()
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_SECONDS)


# -- embedded: a bounded thread pool ------------------------------------------------------------


class EmbeddedExecutor:
    """A bounded thread pool: ``threads`` runs at once plus ``queue`` waiting, then 503."""

    def __init__(self, threads: int, queue: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="skill-run")
        self.slots = threading.BoundedSemaphore(threads + queue)

    def run_here(self, run: Run) -> Future:
        """Execute on the calling thread: a sync request waits anyway, and a hop to the pool only
        adds latency (a thread switch and a second database connection)."""
        future: Future = Future()
        try:
            future.set_result(running.execute_claimed(run))
        except BaseException as error:  # noqa: BLE001 - handed to the waiter like the pool would
            future.set_exception(error)
        finally:
            self.slots.release()
        return future

    def submit(self, run_id, on_item=None) -> Future:
        """Queue a run on the pool; it heartbeats while it waits (see ``runs.holder``)."""

        def work():
            try:
                return running.execute_run(run_id, on_item)
            finally:
                cancellation.watch().leave(run_id)  # also when the run was cancelled while queued
                self.slots.release()

        cancellation.watch().enter(run_id)
        try:
            return self.pool.submit(work)
        except BaseException:
            cancellation.watch().leave(run_id)
            raise


class LocalChannel:
    """The in-process channel of an embedded stream run: the skill's thread puts items, the
    request's thread reads them. Bounded, and it never makes the skill wait: when the reader is
    ``capacity`` items behind (a slow or vanished client), the live relay stops and the reader gets
    the rest from the stored run once it ends (``Run.items``, in the same order)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: collections.deque[dict[str, Any]] = collections.deque()
        self._changed = threading.Condition()
        self._ended = False
        self.overflowed = False  # the live relay stopped; the rest is in the stored run
        self.closed = False  # the reader went away

    def put(self, item: dict[str, Any]) -> None:
        with self._changed:
            if self.overflowed or self.closed:
                return
            if len(self._items) >= self.capacity:
                self.overflowed = True
                self._items.clear()  # the reader re-reads them from the stored run, in order
                log.info(
                    "a stream client fell %s items behind; it gets the rest when the run ends", self.capacity
                )
            else:
                self._items.append(item)
            self._changed.notify()

    def end(self) -> None:
        """The run has ended (its outcome is stored): the reader stops after the queued items."""
        with self._changed:
            self._ended = True
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._items.clear()

    def items(self) -> Iterator[dict[str, Any]]:
        """The live items, until the run ends; check ``overflowed`` afterwards."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._items or self._ended or self.overflowed)
                if self.overflowed:
                    self._changed.wait_for(lambda: self._ended)
                    return
                if not self._items:
                    return
                item = self._items.popleft()
            yield item


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
    if is_distributed():
        backpressure.check_queue_depth()
        yield
        return
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


def runs_here(mode: str, on_item=None) -> bool:
    """Whether a run is executed on the submitting thread (an embedded sync run): it is then
    stored already claimed (``runs.created_running``)."""
    return not is_distributed() and mode == Run.SYNC and on_item is None


def dispatch(run: Run, on_item=None) -> Future | RunChannel:
    """Start executing ``run``: on this process's pool, or on a worker through the broker.

    Distributed: ``on_item`` is ignored (items arrive on the returned channel). If Redis or the
    broker is unreachable the run ends ``failed``/``unavailable`` and the caller gets a 503.
    """
    if is_distributed():
        channel = None
        try:
            channel = RunChannel(run.pk)  # subscribe before sending: no notice can be missed
            broker.send(run.pk, timeout=_timeout_of(run))
        except Exception as error:  # noqa: BLE001 - redis-py and kombu raise many kinds
            if channel is not None:
                channel.close()
            log.warning("cannot hand run %s to a worker: %s", run.pk, error, exc_info=True)
            runs.fail_run(run.pk, ErrorKind.UNAVAILABLE, f"the task broker is unreachable: {error}")
            raise Unavailable(
                "the task broker is unreachable; retry shortly",
                retry_after=settings.SKILL_RETRY_AFTER_SECONDS,
            ) from None
        return channel
    if runs_here(run.mode, on_item):
        return executor().run_here(run)
    try:
        return executor().submit(run.pk, on_item)
    except RuntimeError as error:  # the pool is shutting down
        executor().slots.release()
        runs.fail_run(run.pk, ErrorKind.UNAVAILABLE, f"the executor refused the run: {error}")
        raise Unavailable("the kernel is shutting down") from None


def _timeout_of(run: Run) -> float:
    skill = run.skill
    return skill.timeout_seconds or settings.SKILL_TIMEOUT_SECONDS


# -- distributed: the per-run Redis channel -----------------------------------------------------


class _Listener:
    """One pattern subscription per process, fanned out to the runs this process waits for.

    A connection per waiting request would need thousands of Redis connections under load; this
    needs one per web process. Every web process receives every run's messages (small JSON).
    """

    def __init__(self) -> None:
        self._queues: dict[str, list[queue.Queue]] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Subscribe (once per process); raises Unavailable if Redis does not confirm in 3 s."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()
                self._thread = threading.Thread(target=self._listen, name="run-channel", daemon=True)
                self._thread.start()
        if not self._ready.wait(timeout=3):
            raise Unavailable("cannot subscribe to run notices in Redis", retry_after=1)

    def register(self, run_id) -> queue.Queue:
        self.start()
        messages: queue.Queue = queue.Queue()
        with self._lock:
            self._queues.setdefault(str(run_id), []).append(messages)
        return messages

    def unregister(self, run_id, messages: queue.Queue) -> None:
        with self._lock:
            waiting = self._queues.get(str(run_id), [])
            if messages in waiting:
                waiting.remove(messages)
            if not waiting:
                self._queues.pop(str(run_id), None)

    def _listen(self) -> None:
        while True:
            pubsub = None
            try:
                pubsub = broker.redis_client().pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                pubsub.get_message(timeout=1)  # the psubscribe confirmation
                self._ready.set()
                while True:
                    message = pubsub.get_message(timeout=5)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    run_id = message["channel"].decode()[len(CHANNEL_PREFIX) :]
                    with self._lock:
                        waiting = list(self._queues.get(run_id, ()))
                    if waiting:
                        data = json.loads(message["data"])
                        for messages in waiting:
                            messages.put(data)
            except Exception:  # noqa: BLE001 - Redis restarted: waiters poll the database meanwhile
                log.warning("the run channel listener lost Redis; reconnecting", exc_info=True)
                self._ready.clear()
                time.sleep(0.5)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001
                        pass


_listener = _Listener()


def warm_up() -> None:
    """Distributed mode: connect to the broker and subscribe to run notices before serving."""
    app = broker.celery_app()
    _listener.start()
    with app.producer_or_acquire() as producer:  # the broker connection and the task queue's declaration
        producer.connection.ensure_connection(max_retries=1)
        producer.maybe_declare(app.amqp.queues[app.conf.task_default_queue])


class RunChannel:
    """The messages of one run: its stream items, then a ``done`` notice."""

    def __init__(self, run_id) -> None:
        self.run_id = run_id
        self._messages = _listener.register(run_id)

    def messages(self, timeout: float) -> Iterator[dict[str, Any] | None]:
        """Messages as they arrive; ``None`` after ``timeout`` seconds without one."""
        while True:
            try:
                yield self._messages.get(timeout=timeout)
            except queue.Empty:
                yield None

    def wait(self, run: Run, timeout: float) -> bool:
        """Wait for the ``done`` notice (subscribed before the task was sent: none is missed),
        re-reading the run on it, and every ``POLL_SECONDS`` in case Redis lost one."""
        deadline = time.monotonic() + timeout
        while True:
            release_connection()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                message = self._messages.get(timeout=min(POLL_SECONDS, remaining))
            except queue.Empty:
                message = None
            if message is None or message.get("done"):
                run.refresh_from_db()
                if run.is_terminal:
                    return True

    def close(self) -> None:
        _listener.unregister(self.run_id, self._messages)
