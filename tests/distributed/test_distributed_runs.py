"""Distributed mode end to end: gunicorn + a Celery worker on PostgreSQL and Redis, over HTTP.

The tests run in file order: the last ones stop the worker and then the broker.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.distributed


def sse_events(text: str) -> list[tuple[str, object]]:
    parsed = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def wait_for_status(client, run_id: str, statuses: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        if run["status"] in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def row(cluster, run_id: str) -> dict:
    (values,) = cluster.postgres.query(
        "SELECT status, error_kind, worker, attempts, mode FROM skills_run WHERE id = %s", (run_id,)
    )
    return dict(zip(("status", "error_kind", "worker", "attempts", "mode"), values, strict=True))


def submit(client, body: dict, **headers) -> object:
    return client.post(
        "/api/v1/runs", json={"namespace": "test", "skill": "sink", "input": body}, headers=headers
    )


def test_sync_run_executes_on_a_worker_and_is_stored_in_postgres(cluster):
    with cluster.client() as client:
        response = client.post("/v1/skills/test/sink/run", json={"action": "echo", "payload": {"x": "ü"}})
    assert response.status_code == 200
    assert response.json() == {"action": "echo", "result": {"x": "ü"}}
    stored = row(cluster, response.headers["X-Run-Id"])
    assert (stored["status"], stored["attempts"], stored["mode"]) == ("succeeded", 1, "sync")
    assert stored["worker"] and not stored["worker"].endswith(f":{cluster.web.pid}")


def test_a_web_process_is_warm_before_its_first_request(cluster):
    """It subscribes to run notices and opens its broker and database connections on start, so a
    burst of first requests does not pay for that (and for the imports) all at once."""
    from pathlib import Path

    import httpx
    import redis

    from tests.distributed.cluster import free_port

    port = free_port()
    web = cluster.start_web(port)  # returns once /health answers, which touches no run machinery
    try:
        (process,) = [
            pid
            for task in Path(f"/proc/{web.pid}/task").iterdir()
            for pid in (task / "children").read_text().split()
        ]
        subscribed = [
            client
            for client in redis.Redis.from_url(cluster.redis.url).client_list()
            if client["name"].endswith(f":{process}") and int(client["psub"]) > 0
        ]
        assert len(subscribed) == 1, "the new web process is not subscribed to run notices"
        headers = {"Authorization": f"Bearer {cluster.tokens['alice']}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            assert client.post("/v1/skills/test/sink/run", json={"action": "echo"}).status_code == 200
    finally:
        web.terminate()
        web.wait(10)


def test_skill_errors_come_back_from_the_worker(cluster):
    with cluster.client() as client:
        response = client.post("/v1/skills/test/sink/run", json={"action": "raise", "text": "out of cheese"})
    assert response.status_code == 400
    assert response.json()["error"]["kind"] == "internal"
    assert "out of cheese" in response.json()["error"]["message"]


def test_sync_run_longer_than_the_wait_limit_answers_202_and_finishes(cluster):
    with cluster.client() as client:
        started = time.monotonic()
        response = client.post("/v1/skills/test/sink/run", json={"action": "loop", "seconds": 5})
        waited = time.monotonic() - started
        assert response.status_code == 202 and 3.5 < waited < 6
        body = response.json()
        assert body["status"] == "running" and body["url"].endswith(f"/api/v1/runs/{body['id']}")
        run = wait_for_status(client, body["id"], {"succeeded", "failed"})
    assert run["status"] == "succeeded" and run["output"]["action"] == "loop"


def test_async_run_answers_202_then_the_run_has_output_and_timings(cluster):
    with cluster.client() as client:
        response = submit(client, {"action": "echo", "payload": [1, 2]})
        assert response.status_code == 202
        body = response.json()
        assert body["status"] in ("queued", "running", "succeeded")
        assert response.headers["Location"] == body["url"]
        run = wait_for_status(client, body["id"], {"succeeded", "failed"})
    assert run["output"] == {"action": "echo", "result": [1, 2]}
    assert run["started_at"] and run["finished_at"] and run["duration_ms"] > 0
    assert row(cluster, body["id"])["mode"] == "async"


def test_async_run_of_an_unknown_skill_is_404_and_stores_nothing(cluster):
    with cluster.client() as client:
        response = client.post("/api/v1/runs", json={"namespace": "test", "skill": "nope", "input": {}})
    assert response.status_code == 404
    assert response.json()["error"]["kind"] == "not_found"


def test_stream_is_relayed_live_and_can_be_read_again_after_the_run(cluster):
    expected = [
        ("message", {"type": "begin"}),
        ("message", {"type": "append", "text": "one "}),
        ("message", {"type": "append", "text": "two "}),
        ("message", {"type": "end", "payload": {"words": 2}}),
    ]
    with cluster.client() as client:
        with client.stream(
            "POST", "/v1/skills/test/stream/message-stream", json={"text": "one two"}
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            text = "".join(response.iter_text())
        assert sse_events(text) == expected
        (run_id,) = cluster.postgres.query(
            "SELECT id FROM skills_run WHERE mode = 'stream' ORDER BY queued_at DESC"
        )[0]
        replayed = client.get(f"/api/v1/runs/{run_id}/stream")
    assert replayed.status_code == 200
    assert sse_events(replayed.text) == expected


def test_failing_stream_ends_with_an_error_event(cluster):
    with cluster.client() as client:
        response = client.post(
            "/v1/skills/test/stream/message-stream", json={"text": "a b c", "fail_after": 1}
        )
    received = sse_events(response.text)
    assert [name for name, _ in received] == ["message", "message", "error"]
    assert "failed after 1 words" in received[-1][1]["message"]


def test_idempotency_key_returns_the_same_run(cluster):
    with cluster.client() as client:
        first = client.post(
            "/v1/skills/test/sink/run",
            json={"action": "echo", "payload": 7},
            headers={"Idempotency-Key": "k-1"},
        )
        again = client.post(
            "/v1/skills/test/sink/run",
            json={"action": "echo", "payload": 8},
            headers={"Idempotency-Key": "k-1"},
        )
        queued = submit(client, {"action": "echo"}, **{"Idempotency-Key": "k-2"})
        queued_again = submit(client, {"action": "echo"}, **{"Idempotency-Key": "k-2"})
    assert first.headers["X-Run-Id"] == again.headers["X-Run-Id"]
    assert again.json() == {"action": "echo", "result": 7}
    assert queued.json()["id"] == queued_again.json()["id"]
    count = cluster.postgres.query("SELECT count(*) FROM skills_run WHERE idempotency_key IN ('k-1', 'k-2')")
    assert count == [(2,)]


def test_cancelling_a_running_run_ends_it_cancelled_and_it_stays_so(cluster):
    with cluster.client() as client:
        run_id = submit(client, {"action": "loop", "seconds": 2}).json()["id"]
        assert wait_for_status(client, run_id, {"running"})["status"] == "running"
        cancelled = client.post(f"/api/v1/runs/{run_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        time.sleep(2.5)  # the skill ran to its end meanwhile: its outcome must not overwrite the cancel
        run = client.get(f"/api/v1/runs/{run_id}").json()
        assert run["status"] == "cancelled" and run["error"]["kind"] == "cancelled"
        again = client.post(f"/api/v1/runs/{run_id}/cancel")
        assert again.status_code == 200
        finished = submit(client, {"action": "echo"}).json()["id"]
        wait_for_status(client, finished, {"succeeded"})
        assert client.post(f"/api/v1/runs/{finished}/cancel").status_code == 409
    with cluster.client("bob") as other:  # may invoke in the namespace: may cancel
        assert other.post(f"/api/v1/runs/{finished}/cancel").status_code == 409


def test_namespace_limit_answers_429_with_retry_after(cluster):
    cluster.postgres.query("UPDATE skills_namespace SET max_concurrent_runs = 1 WHERE name = 'test'")
    try:
        with cluster.client() as client:
            busy = submit(client, {"action": "loop", "seconds": 1.5}).json()["id"]
            refused = client.post("/v1/skills/test/sink/run", json={"action": "echo"})
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["kind"] == "too_many_requests"
            wait_for_status(client, busy, {"succeeded"})
            assert client.post("/v1/skills/test/sink/run", json={"action": "echo"}).status_code == 200
    finally:
        cluster.postgres.query("UPDATE skills_namespace SET max_concurrent_runs = NULL WHERE name = 'test'")


def test_without_workers_runs_queue_up_to_the_depth_limit_then_503(cluster):
    cluster.stop_worker(cluster.worker)
    with cluster.client() as client:
        queued = [submit(client, {"action": "echo", "payload": n}).json()["id"] for n in range(3)]
        assert {row(cluster, run_id)["status"] for run_id in queued} == {"queued"}
        refused = submit(client, {"action": "echo"})
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        # a queued run can be cancelled; the worker that comes later does not run it
        assert client.post(f"/api/v1/runs/{queued[0]}/cancel").json()["status"] == "cancelled"
        cluster.worker = cluster.start_worker()
        runs = [wait_for_status(client, run_id, {"succeeded", "failed"}) for run_id in queued[1:]]
        assert [run["output"]["result"] for run in runs] == [1, 2]
        assert client.get(f"/api/v1/runs/{queued[0]}").json()["status"] == "cancelled"
        assert row(cluster, queued[0])["attempts"] == 0


def test_a_run_whose_worker_is_killed_is_retried_once_on_another_worker(cluster):
    with cluster.client() as client:
        run_id = submit(client, {"action": "loop", "seconds": 2}).json()["id"]
        assert wait_for_status(client, run_id, {"running"})["status"] == "running"
        lost_worker = row(cluster, run_id)["worker"]
        cluster.kill_worker(cluster.worker)
        killed_at = time.monotonic()
        cluster.worker = cluster.start_worker()
        run = wait_for_status(client, run_id, {"succeeded", "failed"}, timeout=30)
        elapsed = time.monotonic() - killed_at
    stored = row(cluster, run_id)
    assert run["status"] == "succeeded", run
    assert stored["attempts"] == 2 and stored["worker"] != lost_worker
    assert elapsed < 15  # heartbeat lost after 3 s, reaper every 0.5 s, a 2 s run


def test_a_run_lost_twice_fails_with_worker_lost(cluster):
    with cluster.client() as client:
        run_id = submit(client, {"action": "loop", "seconds": 8}).json()["id"]
        for attempt in (1, 2):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                stored = row(cluster, run_id)
                if (stored["status"], stored["attempts"]) == ("running", attempt):
                    break
                time.sleep(0.1)
            assert (stored["status"], stored["attempts"]) == ("running", attempt)
            cluster.kill_worker(cluster.worker)
            cluster.worker = cluster.start_worker()
        run = wait_for_status(client, run_id, {"succeeded", "failed"}, timeout=30)
    assert run["status"] == "failed" and run["error"]["kind"] == "worker_lost"
    assert row(cluster, run_id)["attempts"] == 2


def test_a_database_restart_during_a_run_loses_no_finished_run(cluster):
    with cluster.client() as client:
        run_id = submit(client, {"action": "loop", "seconds": 2}).json()["id"]
        assert wait_for_status(client, run_id, {"running"})["status"] == "running"
    cluster.postgres.stop()  # the run ends while the database is down: its final write waits
    time.sleep(3)
    cluster.postgres.start()
    deadline = time.monotonic() + 30
    while row(cluster, run_id)["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = cluster.postgres.query("SELECT status, error_message FROM skills_run WHERE id = %s", (run_id,))
    assert stored[0][0] == "succeeded", stored
    with cluster.client() as client:  # and the kernel serves on
        assert client.post("/v1/skills/test/sink/run", json={"action": "echo"}).status_code == 200


def test_broker_down_at_submit_is_503_and_leaves_no_queued_run(cluster):
    cluster.redis.stop()
    try:
        with cluster.client() as client:
            response = client.post("/v1/skills/test/sink/run", json={"action": "echo"})
            assert response.status_code == 503
            assert response.json()["error"]["kind"] == "unavailable"
            assert response.headers["Retry-After"] == "1"
            refused = submit(client, {"action": "echo"})
            assert refused.status_code == 503
    finally:
        cluster.redis.start()
    assert cluster.postgres.query(
        "SELECT count(*) FROM skills_run WHERE status IN ('queued', 'running')"
    ) == [(0,)]
    failed = cluster.postgres.query("SELECT error_kind FROM skills_run WHERE error_kind = 'unavailable'")
    assert len(failed) == 2
