"""Fresh instances made before the runs that use them, and used stores dropped after, off the run's thread.

Instantiating an SDK-built component takes ~1 ms and dropping its store ~0.3 ms (unmapping the
memory the run touched): almost half of a trivial run. The :class:`Preparer` keeps a few fresh,
never-used instances of each recently run skill and drops used stores on its own thread, so the
thread of a run only calls the skill. Each instance serves exactly one run, so runs still share no
state: an instance made ahead is the same as one made at the start of the run.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A store and a never-called instance of one component, made for one memory limit."""

    store: Any
    instance: Any
    memory_bytes: int


class Spares:
    """The prepared instances of one loaded skill (thread-safe)."""

    def __init__(self) -> None:
        self._ready: collections.deque[Prepared] = collections.deque()

    def take(self, memory_bytes: int) -> Prepared | None:
        """A fresh instance for this memory limit, or None (instances for another limit are dropped)."""
        while True:
            try:
                prepared = self._ready.popleft()
            except IndexError:
                return None
            if prepared.memory_bytes == memory_bytes:
                return prepared

    def put(self, prepared: Prepared) -> None:
        self._ready.append(prepared)

    def __len__(self) -> int:
        return len(self._ready)

    def clear(self) -> None:
        self._ready.clear()


class Preparer:
    """One thread that refills the spares of recently run skills and drops used stores.

    ``per_skill`` instances are kept for each of the ``max_skills`` skills run most recently; a
    skill falling out of that set loses its spares (an instance holds its own tables and memory
    mappings). ``per_skill=0`` prepares nothing, but used stores are still dropped here.
    """

    def __init__(
        self, make: Callable[[Any, int], Prepared], *, per_skill: int = 2, max_skills: int = 8
    ) -> None:
        self._make = make
        self.per_skill = per_skill
        self.max_skills = max_skills
        self._work: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._recent: collections.OrderedDict[int, weakref.ref] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending_drops = 0  # retired stores not yet dropped (the thread may wait for the GIL)
        self.max_pending_drops = 4  # past this, a run drops its own store: memory stays bounded
        self.prepared = 0  # instances made ahead, for tests and benchmarks
        self.failures = 0

    def wanted(self, skill: Any, memory_bytes: int) -> None:
        """``skill`` was just run with this memory limit: make it spares for the next runs."""
        if self.per_skill <= 0:
            return
        self._ensure_thread()
        self._work.put(("prepare", (weakref.ref(skill), memory_bytes)))

    def retire(self, used: list[Any]) -> None:
        """Drop a used store and instance here (or now, if drops are backed up). ``used`` must hold
        the only references left."""
        with self._lock:
            backed_up = self._pending_drops >= self.max_pending_drops
            if not backed_up:
                self._pending_drops += 1
        if backed_up:
            used.clear()
            return
        self._ensure_thread()
        self._work.put(("drop", used))

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:  # started lazily, so a forked process gets its own thread
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="wasm-preparer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            kind, payload = self._work.get()
            if kind == "drop":
                payload.clear()  # the store is deleted here, with the memory it touched
                with self._lock:
                    self._pending_drops -= 1
                continue
            reference, memory_bytes = payload
            skill = reference()
            if skill is not None:
                self._refill(skill, memory_bytes)

    def _refill(self, skill: Any, memory_bytes: int) -> None:
        self._remember(skill)
        while len(skill.spares) < self.per_skill:
            try:
                prepared = self._make(skill, memory_bytes)
            except Exception:  # noqa: BLE001 - the run itself will instantiate and report it
                self.failures += 1
                log.debug("preparing an instance failed", exc_info=True)
                return
            skill.spares.put(prepared)
            self.prepared += 1

    def _remember(self, skill: Any) -> None:
        with self._lock:
            self._recent[id(skill)] = weakref.ref(skill)
            self._recent.move_to_end(id(skill))
            while len(self._recent) > self.max_skills:
                _, stale = self._recent.popitem(last=False)
                stale_skill = stale()
                if stale_skill is not None:
                    stale_skill.spares.clear()
