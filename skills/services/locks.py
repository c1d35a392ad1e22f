"""Cluster-wide mutual exclusion for rare, expensive work (compiling a component).

On PostgreSQL a session advisory lock, held on the thread's connection, so every web process and
worker of the cluster agrees; otherwise (SQLite: one machine) an ``flock`` on a file under the data
directory, which serialises processes and threads alike."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the lock called ``name`` for the block; waits while another holder has it."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    directory = settings.DATA_DIR / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
