"""An LRU cache of loaded components, bounded by the bytes of their artifacts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    bytes: int = 0
    entries: int = 0


class ComponentCache(Generic[T]):
    """Keeps the most recently used components while their total size stays under ``max_bytes``.

    One entry is always kept, even if it alone is larger than the bound. Loads of the same key
    from several threads are collapsed into one.
    """

    def __init__(self, max_bytes: int, size_of: Callable[[T], int]) -> None:
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.stats = CacheStats()

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return self._entries[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    self.stats.hits += 1
                    return self._entries[key]
                self.stats.misses += 1
            value = load()
            with self._lock:
                self._entries[key] = value
                self.stats.bytes += self._size_of(value)
                self._evict()
                self._loading.pop(key, None)
                self.stats.entries = len(self._entries)
        return value

    def _evict(self) -> None:
        while self.stats.bytes > self.max_bytes and len(self._entries) > 1:
            _, value = self._entries.popitem(last=False)
            self.stats.bytes -= self._size_of(value)
            self.stats.evictions += 1

    def discard(self, key: str) -> None:
        """Drop one entry (runs holding it keep their reference)."""
        with self._lock:
            value = self._entries.pop(key, None)
            if value is not None:
                self.stats.bytes -= self._size_of(value)
                self.stats.entries = len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.stats.bytes = 0
            self.stats.entries = 0
