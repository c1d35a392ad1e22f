"""What this kernel process is: its name among the workers, its mode, its database connection."""

from __future__ import annotations

import os
import socket

from django.conf import settings
from django.db import connection

# host:pid; runs record the process executing (or, embedded, holding) them, for the reaper.
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


def is_distributed() -> bool:
    """Runs go to Celery workers through a broker (else this process executes them)."""
    return bool(settings.CELERY_BROKER_URL)


def release_connection(*, even_unpooled: bool = False) -> None:
    """Give this thread's database connection back before a wait (a skill, a worker, a notice).

    Pooled (PostgreSQL by default) this is cheap: the next query borrows again. An unpooled
    connection is closed only when ``even_unpooled``, since reopening costs a new backend.
    """
    if connection.in_atomic_block:
        return
    if even_unpooled or connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close()
