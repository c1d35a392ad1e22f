"""Per-process setup: one engine however many threads ask at once, and the database pool settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from skills.services.execution import once

ROOT = Path(__file__).resolve().parents[2]


def test_threads_racing_on_first_use_get_one_object():
    built = []

    @once
    def engine():
        time.sleep(0.05)  # wide enough for every thread to arrive while the first one builds
        built.append(object())
        return built[-1]

    barrier = threading.Barrier(8)
    seen = []

    def use():
        barrier.wait()
        seen.append(engine())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert all(item is built[0] for item in seen)
    assert engine.is_built()
    engine.cache_clear()
    assert not engine.is_built()
    assert engine() is not built[0]


def database_settings(**env: str) -> dict:
    script = (
        "import json; from django.conf import settings; d = settings.DATABASES['default']; "
        "print(json.dumps({'conn_max_age': d['CONN_MAX_AGE'], 'pool': d.get('OPTIONS', {}).get('pool'), "
        "'health_checks': d['CONN_HEALTH_CHECKS']}))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environ |= {"DJANGO_SETTINGS_MODULE": "kernel_site.settings", "PYTHONPATH": str(ROOT), **env}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_postgresql_gets_a_checked_connection_pool_per_process():
    url = "postgres://kernel@127.0.0.1:5432/kernel"
    pooled = database_settings(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="7")
    assert pooled == {
        "conn_max_age": 0,
        "pool": {"min_size": 2, "max_size": 7, "timeout": 10.0},
        "health_checks": True,
    }
    unpooled = database_settings(DATABASE_URL=url, DATABASE_POOL="0")
    assert unpooled["pool"] is None and unpooled["conn_max_age"] == 60


def test_sqlite_is_not_pooled():
    assert database_settings()["pool"] is None
