"""Async runs, cancel, stored streams and the namespace limit on the embedded default."""

from __future__ import annotations

import time

from skills.models import Namespace, Run
from skills.services import cancellation
from tests.support.openai_server import OpenAITestServer
from tests.support.sse import events


def submit(caller, body, skill="sink", **extra):
    payload = {"namespace": "test", "skill": skill, "input": body}
    return caller.client.post("/api/v1/runs", payload, format="json", **extra)


def wait_for(run_id, statuses, timeout=20) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run = Run.objects.get(pk=run_id)
        if run.status in statuses or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def test_async_run_answers_202_with_id_and_url_then_succeeds(alice):
    response = submit(alice, {"action": "echo", "payload": 3})
    assert response.status_code == 202
    body = response.json()
    assert body["url"] == f"http://testserver/api/v1/runs/{body['id']}" == response["Location"]
    assert wait_for(body["id"], Run.TERMINAL).status == "succeeded"
    detail = alice.client.get(f"/api/v1/runs/{body['id']}").json()
    assert detail["output"] == {"action": "echo", "result": 3} and detail["duration_ms"] > 0
    assert Run.objects.get(pk=body["id"]).mode == "async"


def test_async_submit_validates_its_body(alice):
    response = alice.client.post("/api/v1/runs", {"skill": "sink"}, format="json")
    assert response.status_code == 400
    assert "namespace" in response.json()["error"]["message"]
    assert submit(alice, {"action": "echo"}, skill="nope").status_code == 404


def test_viewer_may_not_submit_or_cancel(kernel):
    viewer, alice = kernel["viewer"], kernel["alice"]
    assert submit(viewer, {"action": "echo"}).status_code == 403
    run_id = submit(alice, {"action": "echo"}).json()["id"]
    wait_for(run_id, Run.TERMINAL)
    assert viewer.client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 403
    assert kernel["stranger"].client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 404


def test_cancel_stops_a_run_at_its_next_csi_call(alice, settings):
    with OpenAITestServer(delay=1.0) as server:
        settings.OPENAI_INFERENCE_URL = server.url
        run_id = submit(alice, {"action": "complete", "model": "slow-model", "text": "hi"}).json()["id"]
        assert wait_for(run_id, {"running"}).status == "running"
        time.sleep(0.2)  # inside the 1 s inference call
        response = alice.client.post(f"/api/v1/runs/{run_id}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert response.json()["error"] == {"kind": "cancelled", "message": "the run was cancelled"}
        deadline = time.monotonic() + 5
        while run_id_in_watch(run_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not run_id_in_watch(run_id)  # the executing thread is free again
        run = Run.objects.get(pk=run_id)
        assert (run.status, run.error_kind) == ("cancelled", "cancelled")
        assert alice.client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200


def run_id_in_watch(run_id) -> bool:
    return any(str(key) == str(run_id) for key in cancellation.watch()._runs)


def test_cancelling_a_finished_run_is_409(alice):
    run_id = submit(alice, {"action": "echo"}).json()["id"]
    wait_for(run_id, Run.TERMINAL)
    response = alice.client.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 409 and "already ended succeeded" in response.json()["error"]["message"]


def test_the_stream_of_a_finished_run_can_be_read_again(alice):
    live = alice.client.post("/v1/skills/test/stream/message-stream", {"text": "a b"}, format="json")
    first = events(live)
    run = Run.objects.get(mode="stream")
    replayed = alice.client.get(f"/api/v1/runs/{run.id}/stream")
    assert replayed["Content-Type"] == "text/event-stream"
    assert events(replayed) == first and len(first) == 4


def test_namespace_limit_answers_429_with_retry_after(alice, settings):
    Namespace.objects.filter(name="test").update(max_concurrent_runs=1)
    busy = submit(alice, {"action": "loop", "seconds": 1})
    assert busy.status_code == 202
    refused = alice.run("test/sink", {"action": "echo"})
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    assert refused.json()["error"]["kind"] == "too_many_requests"
    assert Run.objects.count() == 1
    wait_for(busy.json()["id"], Run.TERMINAL)
    assert alice.run("test/sink", {"action": "echo"}).status_code == 200


def test_kernel_default_namespace_limit_applies_when_the_namespace_sets_none(alice, settings):
    settings.SKILL_NAMESPACE_MAX_RUNS = 1
    busy = submit(alice, {"action": "loop", "seconds": 1}).json()["id"]
    assert submit(alice, {"action": "echo"}).status_code == 429
    wait_for(busy, Run.TERMINAL)


def test_replayed_idempotent_async_submission_returns_the_same_run(alice):
    first = submit(alice, {"action": "echo"}, HTTP_IDEMPOTENCY_KEY="abc").json()["id"]
    again = submit(alice, {"action": "echo"}, HTTP_IDEMPOTENCY_KEY="abc").json()["id"]
    assert first == again and Run.objects.count() == 1


def test_cancel_stops_a_streaming_skill_at_its_next_write(alice):
    words = " ".join(f"w{n}" for n in range(40))
    response = alice.client.post(
        "/v1/skills/test/stream/message-stream", {"text": words, "delay_spins": 300_000}, format="json"
    )
    stream = iter(response.streaming_content)
    assert b"begin" in next(stream) and b"w0" in next(stream)
    run = Run.objects.get(mode="stream")
    cancelled_at = time.monotonic()
    assert alice.client.post(f"/api/v1/runs/{run.id}/cancel").status_code == 200
    rest = b"".join(stream).decode()
    latency = time.monotonic() - cancelled_at
    assert rest.count('"append"') < 38  # the skill did not get to write its 40 words
    assert rest.endswith('event: error\ndata: {"message": "the run was cancelled"}\n\n')
    assert latency < 2.0, latency
    assert Run.objects.get(pk=run.id).status == "cancelled"


def test_reap_runs_fails_a_running_run_whose_heartbeat_stopped(alice, settings):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    run_id = submit(alice, {"action": "echo"}).json()["id"]
    wait_for(run_id, Run.TERMINAL)
    stale = timezone.now() - timedelta(seconds=settings.SKILL_LOST_AFTER_SECONDS + 1)
    Run.objects.filter(pk=run_id).update(status=Run.RUNNING, heartbeat_at=stale, attempts=1)
    fresh = submit(alice, {"action": "loop", "seconds": 1}).json()["id"]
    assert wait_for(fresh, {"running"}).status == "running"
    call_command("reap_runs")
    lost = Run.objects.get(pk=run_id)
    assert (lost.status, lost.error_kind) == ("failed", "worker_lost")
    assert Run.objects.get(pk=fresh).status in ("running", "succeeded")  # alive: left alone
    wait_for(fresh, Run.TERMINAL)
