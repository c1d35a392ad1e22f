"""GET /metrics: Prometheus text that prometheus_client's own parser reads, protected by default."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from skills.models import Run, SkillVersion
from tests.support.openai_server import OpenAITestServer


def scrape(client) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_metrics_token_or_a_staff_user_unless_public(kernel, settings):
    anonymous = APIClient()
    assert anonymous.get("/metrics").status_code == 401
    assert anonymous.get("/metrics")["WWW-Authenticate"].startswith("Bearer")
    assert kernel["alice"].client.get("/metrics").status_code == 403
    assert kernel["admin"].client.get("/metrics").status_code == 200
    settings.METRICS_TOKEN = "scrape-me"
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert anonymous.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    settings.METRICS_PUBLIC = True
    assert anonymous.get("/metrics").status_code == 200


def test_metrics_count_runs_csi_calls_tokens_and_the_component_cache(kernel, settings):
    admin, alice = kernel["admin"].client, kernel["alice"]
    SkillVersion.objects.update(compile_seconds=3.0)  # the test storage skips compiling cached artifacts
    before = scrape(admin)
    with OpenAITestServer() as server:
        settings.OPENAI_INFERENCE_URL = server.url
        assert alice.run("test/sink", {"action": "echo"}).status_code == 200
        assert alice.run("test/sink", {"action": "raise"}).status_code == 400
        completion = alice.run("test/sink", {"action": "complete", "text": "count these tokens"})
        assert completion.status_code == 200
    skill = {"namespace": "test", "skill": "sink"}
    Run.objects.create(
        skill_id=Run.objects.first().skill_id, version_id=Run.objects.first().version_id, input="{}"
    )
    after = scrape(admin)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("skill_kernel_runs_total", outcome="succeeded", **skill) == 2
    assert delta("skill_kernel_runs_total", outcome="internal", **skill) == 1
    assert delta("skill_kernel_run_duration_seconds_count", **skill) == 3
    assert delta("skill_kernel_run_duration_seconds_sum", **skill) > 0
    complete = {"function": "complete", "model": "test-model"}
    assert delta("skill_kernel_csi_calls_total", outcome="ok", **complete) == 1
    assert delta("skill_kernel_csi_call_duration_seconds_count", **complete) == 1
    prompt, output = completion.json()["result"]["usage"]
    assert delta("skill_kernel_tokens_total", model="test-model", type="input") == prompt == 3
    assert delta("skill_kernel_tokens_total", model="test-model", type="output") == output > 0
    assert delta("skill_kernel_component_cache_hits_total") >= 3
    assert value(after, "skill_kernel_component_cache_entries") >= 1
    assert value(after, "skill_kernel_component_cache_bytes") > 1_000_000
    assert "skill_kernel_component_cache_misses_total" in {name for name, _ in after}
    assert value(after, "skill_kernel_compile_duration_seconds_count") == 2
    assert value(after, "skill_kernel_compile_duration_seconds_sum") == pytest.approx(6.0)
    assert value(after, "skill_kernel_compile_duration_seconds_bucket", le="2.0") == 0
    assert value(after, "skill_kernel_compile_duration_seconds_bucket", le="5.0") == 2
    assert value(after, "skill_kernel_runs_queued") == 1
    assert value(after, "skill_kernel_runs_in_flight") == 0
