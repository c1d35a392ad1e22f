"""The Celery app of distributed mode: ``celery -A kernel_site worker --pool threads -c 64``.

Configured from Django settings (``CELERY_*``); tasks live in ``skills.tasks``.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kernel_site.settings")

app = Celery("kernel_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _fresh_wasmtime_after_fork(**_) -> None:
    """A prefork child must not share the parent's engine or epoch ticker: start from scratch."""
    from skills.services import execution

    execution.runtime.cache_clear()
    execution.component_cache.cache_clear()


@worker_ready.connect
def _start_reaper(**_) -> None:
    from skills.services import cancellation, warmup

    warmup.warm_worker_process()
    cancellation.start_reaper()
