"""POST /v1/skills/{ns}/{name}/run: every outcome answers right and is stored as a Run."""

from __future__ import annotations

import threading

import pytest

from skills.models import Run
from skills.services import dispatch


def only_run() -> Run:
    (run,) = Run.objects.all()
    return run


def test_success_returns_the_output_and_stores_the_run(alice):
    response = alice.run("test/sink", {"action": "echo", "payload": {"x": "ü"}})
    assert response.status_code == 200
    assert response.json() == {"action": "echo", "result": {"x": "ü"}}
    run = only_run()
    assert str(run.id) == response["X-Run-Id"]
    assert (run.status, run.caller, run.tag, run.mode) == ("succeeded", alice.user, "latest", "sync")
    assert run.started_at and run.finished_at and run.duration_ms > 0
    assert run.version.digest and '"payload"' in run.input


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ({"action": "raise", "text": "out of cheese"}, 400, "internal", "out of cheese"),
        ({"action": "nope"}, 400, "internal", "unknown action 'nope'"),  # schema-invalid input: no run
        ({"action": "loop"}, 504, "timeout", "time limit of 1 s"),
        ({"action": "alloc"}, 500, "memory_exhausted", "memory limit of 64 MiB"),
        ({"action": "complete"}, 502, "csi_error", "inference is not configured on this kernel"),
    ],
)
def test_failures_answer_with_kind_and_message_and_are_stored(alice, settings, body, status, kind, message):
    settings.SKILL_TIMEOUT_SECONDS = 1
    settings.SKILL_MEMORY_MB = 64
    response = alice.run("test/sink", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["kind"] == kind and message in error["message"]
    run = only_run()
    assert (run.status, run.error_kind) == ("failed", kind)
    assert message in run.error_message and run.finished_at is not None


def test_kernel_keeps_serving_after_a_timeout(alice, settings):
    settings.SKILL_TIMEOUT_SECONDS = 0.5
    assert alice.run("test/sink", {"action": "loop"}).status_code == 504
    assert alice.run("test/sink", {"action": "echo", "payload": 1}).json()["result"] == 1


def test_skill_overrides_the_kernels_limits(alice, settings):
    from skills.models import Skill

    settings.SKILL_TIMEOUT_SECONDS = 30
    Skill.objects.filter(name="sink").update(timeout_seconds=0.3)
    response = alice.run("test/sink", {"action": "loop"})
    assert response.json()["error"]["message"] == "the skill exceeded its time limit of 0.3 s"


@pytest.mark.parametrize(
    ("skill", "message"),
    [
        ("nope/sink", "namespace 'nope' does not exist"),
        ("test/nope", "skill 'test/nope' does not exist"),
    ],
)
def test_unknown_namespace_or_skill_is_404(alice, skill, message):
    response = alice.run(skill, {})
    assert response.status_code == 404
    assert response.json() == {"error": {"kind": "not_found", "message": message}}
    assert not Run.objects.exists()


def test_unknown_tag_is_404_and_a_digest_prefix_works(alice):
    assert alice.client.post("/v1/skills/test/sink/run?tag=v9", {}, format="json").status_code == 404
    digest = Run._meta.get_field("version").related_model.objects.get(skill__name="sink").digest
    response = alice.client.post(
        f"/v1/skills/test/sink/run?tag={digest[:12]}", {"action": "echo"}, format="json"
    )
    assert response.status_code == 200


def test_body_that_is_not_json_is_400(alice):
    response = alice.run("test/sink", b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["kind"] == "invalid_input"
    assert not Run.objects.exists()


def test_body_over_the_limit_is_413(alice, settings):
    settings.SKILL_MAX_INPUT_BYTES = 100
    response = alice.run("test/sink", {"action": "echo", "payload": "x" * 200})
    assert response.status_code == 413
    assert response.json()["error"]["kind"] == "payload_too_large"
    assert not Run.objects.exists()


def test_exhausted_capacity_is_503_with_retry_after_and_no_orphan_run(alice, monkeypatch):
    tiny = dispatch.EmbeddedExecutor(threads=1, queue=0)
    monkeypatch.setattr(dispatch, "_executor", tiny)
    blocker = threading.Thread(target=alice.run, args=("test/sink", {"action": "loop", "seconds": 1.5}))
    blocker.start()
    try:
        for _ in range(100):
            if Run.objects.filter(status="running").exists():
                break
            threading.Event().wait(0.02)
        response = alice.run("test/sink", {"action": "echo"})
        assert response.status_code == 503
        assert response["Retry-After"] == "1"
        assert Run.objects.count() == 1
    finally:
        blocker.join()
    assert alice.run("test/sink", {"action": "echo"}).status_code == 200


def test_idempotency_key_returns_the_same_run(alice):
    first = alice.run("test/sink", {"action": "echo", "payload": 1}, HTTP_IDEMPOTENCY_KEY="k-1")
    second = alice.run("test/sink", {"action": "echo", "payload": 1}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first["X-Run-Id"] == second["X-Run-Id"]
    assert second.json() == first.json()
    assert Run.objects.count() == 1


def test_run_detail_shows_status_output_and_timings(alice, kernel):
    run_id = alice.run("test/sink", {"action": "echo", "payload": 7})["X-Run-Id"]
    detail = alice.client.get(f"/api/v1/runs/{run_id}").json()
    assert detail["status"] == "succeeded" and detail["output"]["result"] == 7
    assert detail["skill"] == "test/sink" and detail["duration_ms"] > 0
    assert kernel["stranger"].client.get(f"/api/v1/runs/{run_id}").status_code == 404
