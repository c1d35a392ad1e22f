"""The embedded default ends the runs of a crashed web process by itself: no ``reap_runs`` needed.

A web process that executes runs also reaps: at start-up and every ``SKILL_REAPER_SECONDS``. A run
whose process ran on this host and is dead ends ``worker_lost`` at once; a live sibling's runs
(they heartbeat) are left alone; elsewhere a stale heartbeat decides.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from skills.models import Run
from skills.services import cancellation
from tests.distributed.cluster import ROOT, free_port, start_gunicorn
from tests.support.openai_server import OpenAITestServer

HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_run(alice, *, status=Run.RUNNING, worker: str, quiet_seconds: float) -> Run:
    response = alice.client.post(
        "/api/v1/runs", {"namespace": "test", "skill": "sink", "input": {"action": "echo"}}, format="json"
    )
    run_id = response.json()["id"]
    deadline = time.monotonic() + 10
    while not Run.objects.get(pk=run_id).is_terminal and time.monotonic() < deadline:
        time.sleep(0.02)
    heartbeat = timezone.now() - timedelta(seconds=quiet_seconds)
    Run.objects.filter(pk=run_id).update(
        status=status, worker=worker, heartbeat_at=heartbeat, finished_at=None, error_kind="", attempts=1
    )
    return Run.objects.get(pk=run_id)


def test_runs_of_a_dead_process_of_this_host_fail_without_waiting_for_staleness(alice):
    gone = f"{HOST}:{dead_pid()}"
    running = make_run(alice, worker=gone, quiet_seconds=4)
    queued = make_run(alice, status=Run.QUEUED, worker=gone, quiet_seconds=4)
    counts = cancellation.reap_lost_runs(trust_heartbeats=False)  # as right after a start-up
    assert counts == {"requeued": 0, "failed": 2}
    running.refresh_from_db()
    queued.refresh_from_db()
    assert (running.status, running.error_kind) == ("failed", "worker_lost")
    assert running.error_message == f"the process executing the run ({gone}) ended (attempt 1)"
    assert running.finished_at is not None
    assert (queued.status, queued.error_kind) == ("failed", "worker_lost")
    assert "holding the queued run" in queued.error_message


def test_a_live_sibling_and_fresh_heartbeats_are_left_alone(alice):
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = make_run(alice, worker=f"{HOST}:{sibling.pid}", quiet_seconds=4)
        elsewhere = make_run(alice, worker="other-host:1234", quiet_seconds=4)
        just_dead = make_run(alice, worker=f"{HOST}:{dead_pid()}", quiet_seconds=0.5)  # within 3 beats
        never_held = make_run(alice, status=Run.QUEUED, worker="", quiet_seconds=60)  # distributed
        assert cancellation.reap_lost_runs() == {"requeued": 0, "failed": 0}
        for run in (alive, elsewhere, just_dead, never_held):
            run.refresh_from_db()
        assert [r.status for r in (alive, elsewhere, just_dead, never_held)] == [
            "running",
            "running",
            "running",
            "queued",
        ]
        # a stale heartbeat still decides where the pid says nothing (another host, a live pid)
        Run.objects.filter(pk__in=[alive.pk, elsewhere.pk]).update(
            heartbeat_at=timezone.now() - timedelta(seconds=60)
        )
        assert cancellation.reap_lost_runs(trust_heartbeats=False)["failed"] == 0
        assert cancellation.reap_lost_runs()["failed"] == 2
    finally:
        sibling.kill()
        sibling.wait()


def test_a_run_waiting_in_the_embedded_pool_is_held_and_heartbeats(alice, settings):
    from skills.services import dispatch

    settings.SKILL_HEARTBEAT_SECONDS = 0.2
    threads = dispatch.executor().pool._max_workers
    with OpenAITestServer(delay=4.0) as server:  # every pool thread waits on inference, no CPU
        settings.OPENAI_INFERENCE_URL = server.url
        busy = [
            submit(alice, {"action": "complete", "model": "slow-model", "text": "hi"}) for _ in range(threads)
        ]
        waiting = submit(alice, {"action": "echo"})
        run = Run.objects.get(pk=waiting)
        assert (run.status, run.worker) == ("queued", cancellation.WORKER_NAME)
        first = run.heartbeat_at
        time.sleep(1.0)
        run.refresh_from_db()
        assert run.status == "queued" and run.heartbeat_at > first  # still waiting, and heartbeating
        assert cancellation.reap_lost_runs()["failed"] == 0
        for run_id in [*busy, waiting]:
            deadline = time.monotonic() + 20
            while not Run.objects.get(pk=run_id).is_terminal and time.monotonic() < deadline:
                time.sleep(0.05)
        assert Run.objects.get(pk=waiting).status == "succeeded"


def submit(alice, body) -> str:
    response = alice.client.post(
        "/api/v1/runs", {"namespace": "test", "skill": "sink", "input": body}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


# -- a real gunicorn, killed -------------------------------------------------------------------


@pytest.fixture
def embedded_kernel(skill_wasm):
    """An embedded kernel of its own (SQLite in a temp dir) with the test skills; yields env, token."""
    data = Path(tempfile.mkdtemp(prefix="skill-kernel-crash-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "CELERY_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
        "PYTHONPATH": str(ROOT),
        "SKILL_KERNEL_DATA": str(data),
        "SKILL_TIMEOUT_SECONDS": "60",
        "NAMESPACE_POLLER": "false",
        "SKILL_REAPER_SECONDS": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.distributed.setup_kernel",
            str(skill_wasm["kitchen_sink"]),
            str(skill_wasm["stream_skill"]),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield env, json.loads(done.stdout.strip().splitlines()[-1])["alice"], data


def _kill_all(master: subprocess.Popen) -> None:
    children = [
        int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _ppid(stat) == master.pid
    ]
    for pid in [master.pid, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    master.wait()


def _ppid(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def test_a_run_of_a_killed_gunicorn_ends_worker_lost_after_the_restart(embedded_kernel):
    env, token, data = embedded_kernel
    port = free_port()
    headers = {"Authorization": f"Bearer {token}"}
    web = start_gunicorn(port, env, processes=1, threads=8, log=data / "web-1.log")
    try:
        base = f"http://127.0.0.1:{port}"
        submitted = httpx.post(
            f"{base}/api/v1/runs",
            json={"namespace": "test", "skill": "sink", "input": {"action": "loop", "seconds": 25}},
            headers=headers,
        )
        assert submitted.status_code == 202, submitted.text
        run_id = submitted.json()["id"]
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/api/v1/runs/{run_id}", headers=headers).json()["status"] != "running":
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.1)
    finally:
        _kill_all(web)  # kill -9, master and worker: nothing gets to clean up
    web = start_gunicorn(port, env, processes=2, threads=8, log=data / "web-2.log")
    restarted = time.monotonic()
    try:
        while True:
            run = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/{run_id}", headers=headers).json()
            if run["status"] != "running" or time.monotonic() - restarted > 15:
                break
            time.sleep(0.2)
        assert run["status"] == "failed", run
        assert run["error"]["kind"] == "worker_lost"
        assert "ended" in run["error"]["message"]
    finally:
        web.terminate()
        web.wait(timeout=30)
