"""One distributed kernel per session: PostgreSQL, Redis, gunicorn and a Celery worker on loopback."""

from __future__ import annotations

import tempfile

import pytest

from tests.distributed.cluster import Cluster

# Short liveness bounds so the worker-loss tests finish quickly; the web waits 2 s for sync runs.
CLUSTER_ENV = {
    "SKILL_TIMEOUT_SECONDS": "10",
    "SKILL_SYNC_WAIT_SECONDS": "4",
    "SKILL_HEARTBEAT_SECONDS": "0.5",
    "SKILL_LOST_AFTER_SECONDS": "3",
    "SKILL_REAPER_SECONDS": "0.5",
    "SKILL_VISIBILITY_TIMEOUT": "30",
    "SKILL_MAX_QUEUED_RUNS": "3",
    # A watched directory the deploy tests drop components into (synced on request, no beat here).
    "NAMESPACES__GITOPS__DIRECTORY": tempfile.mkdtemp(prefix="skill-kernel-deploy-"),
}


@pytest.fixture(scope="session")
def cluster(skill_wasm):
    cluster = Cluster(skill_wasm, env=CLUSTER_ENV)
    cluster.worker = cluster.start_worker()
    yield cluster
    cluster.close()
