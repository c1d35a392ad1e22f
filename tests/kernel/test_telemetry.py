"""Every run is one trace: request span, skill.execute, a span per CSI call; stored with the run."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from skills import telemetry
from skills.logging import JsonFormatter, PlainFormatter, TraceContextFilter, current_run_id
from skills.models import Run, Span
from tests.support.openai_server import OpenAITestServer

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def exported(settings):
    """Spans that reach the exporter (sampled ones), cleared per test; sampling restored after."""
    provider = telemetry.provider()
    assert provider is not None, "telemetry.setup() runs in SkillsConfig.ready()"
    if not getattr(_EXPORTER, "installed", False):
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        _EXPORTER.installed = True
    _EXPORTER.clear()
    ratio = settings.OTEL_SAMPLING_RATIO
    yield _EXPORTER
    settings.OTEL_SAMPLING_RATIO = ratio
    telemetry.configure()
    _EXPORTER.clear()


@pytest.fixture
def inference(settings):
    with OpenAITestServer() as server:
        settings.OPENAI_INFERENCE_URL = server.url
        yield server


def trace_of(exporter, trace_id: str) -> dict[str, object]:
    """name -> span of one trace, as exported."""
    return {
        span.name: span
        for span in exporter.get_finished_spans()
        if f"{span.context.trace_id:032x}" == trace_id
    }


def test_a_run_that_calls_inference_chunking_and_a_tool_is_one_trace_per_run(alice, exported, inference):
    answers = {
        "complete": alice.run("test/sink", {"action": "complete", "text": "hello there world"}),
        "chunk": alice.run("test/sink", {"action": "chunk", "text": "one two three four", "model": "gpt-4o"}),
        "tool": alice.run(
            "test/sink", {"action": "invoke_tool", "tool": "add", "arguments": {"a": 1, "b": 2}}
        ),
    }
    assert [answer.status_code for answer in answers.values()] == [200, 200, 200]
    telemetry.flush()
    csi_span_names = {
        "complete": "text_completion test-model",
        "chunk": "csi chunk",
        "tool": "execute_tool add",
    }
    trace_ids = set()
    for action, answer in answers.items():
        run = Run.objects.get(pk=answer["X-Run-Id"])
        assert run.trace_id and answer["X-Trace-Id"] == run.trace_id
        trace_ids.add(run.trace_id)
        spans = trace_of(exported, run.trace_id)
        root = spans["POST /v1/skills/{namespace}/{name}/run"]
        execute = spans["skill.execute"]
        csi = spans[csi_span_names[action]]
        assert len(spans) == 3, sorted(spans)
        assert root.parent is None and root.kind.name == "SERVER"
        assert root.attributes["http.route"] == "/v1/skills/{namespace}/{name}/run"  # semconv, not Django's
        assert execute.parent.span_id == root.context.span_id
        assert csi.parent.span_id == execute.context.span_id and csi.kind.name == "CLIENT"
        assert root.start_time <= execute.start_time <= csi.start_time <= csi.end_time <= execute.end_time
        assert execute.attributes["skill.namespace"] == "test"
        assert execute.attributes["skill.name"] == "sink"
        assert execute.attributes["skill.version"] == run.version.digest
        assert execute.attributes["skill.world"] == "skill"
        assert execute.attributes["skill.outcome"] == "succeeded"
        assert execute.attributes["skill.duration_ms"] == pytest.approx(run.duration_ms, abs=0.01)
        assert execute.attributes[telemetry.RUN_ID] == str(run.pk)

        stored = {span.name: span for span in Span.objects.filter(run=run)}
        assert set(stored) == set(spans)
        for name, span in spans.items():
            row = stored[name]
            assert row.trace_id == run.trace_id and row.span_id == f"{span.context.span_id:016x}"
            assert row.parent_span_id == (f"{span.parent.span_id:016x}" if span.parent else "")
            assert row.duration_ms == pytest.approx((span.end_time - span.start_time) / 1e6)
        assert stored["skill.execute"].status == "ok"
    assert len(trace_ids) == 3

    run = Run.objects.get(pk=answers["complete"]["X-Run-Id"])
    completion = trace_of(exported, run.trace_id)["text_completion test-model"].attributes
    prompt_tokens, completion_tokens = answers["complete"].json()["result"]["usage"]
    assert completion["gen_ai.operation.name"] == "text_completion"
    assert completion["gen_ai.request.model"] == "test-model"
    assert completion["gen_ai.request.max_tokens"] == 16
    assert (completion["gen_ai.usage.input_tokens"], completion["gen_ai.usage.output_tokens"]) == (
        prompt_tokens,
        completion_tokens,
    )
    assert prompt_tokens == 3 and completion_tokens > 0
    assert completion["gen_ai.response.finish_reasons"] == ("stop",)
    assert "gen_ai.input.messages" not in completion and "gen_ai.output.messages" not in completion
    stored = Span.objects.get(run=run, name="text_completion test-model")
    assert stored.attributes["gen_ai.response.finish_reasons"] == ["stop"]

    run = Run.objects.get(pk=answers["tool"]["X-Run-Id"])
    tool = trace_of(exported, run.trace_id)["execute_tool add"].attributes
    assert (tool["gen_ai.operation.name"], tool["gen_ai.tool.name"]) == ("execute_tool", "add")
    run = Run.objects.get(pk=answers["chunk"]["X-Run-Id"])
    assert trace_of(exported, run.trace_id)["csi chunk"].attributes["csi.model"] == "gpt-4o"


def test_prompt_and_completion_are_recorded_only_when_allowed(alice, exported, inference, settings):
    settings.TRACE_CAPTURE_CONTENT = True
    answer = alice.run("test/sink", {"action": "complete", "text": "secret words"})
    run = Run.objects.get(pk=answer["X-Run-Id"])
    attributes = trace_of(exported, run.trace_id)["text_completion test-model"].attributes
    assert json.loads(attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "secret words"}]}
    ]
    (output,) = json.loads(attributes["gen_ai.output.messages"])
    assert output["parts"][0]["content"] == answer.json()["result"]["text"] == "echo: secret words"


def test_a_failed_csi_call_marks_its_span_and_the_run_as_errors(alice, exported):
    answer = alice.run("test/sink", {"action": "complete", "text": "hi"})  # no inference configured
    assert answer.status_code == 502
    run = Run.objects.get(pk=answer["X-Run-Id"])
    spans = trace_of(exported, run.trace_id)
    execute, call = spans["skill.execute"], spans["text_completion test-model"]
    assert execute.status.status_code.name == "ERROR"
    assert (execute.attributes["skill.outcome"], execute.attributes["error.type"]) == ("failed", "csi_error")
    assert call.status.status_code.name == "ERROR" and call.attributes["error.type"] == "NotConfigured"
    telemetry.flush()
    row = Span.objects.get(run=run, name="text_completion test-model")
    assert row.status == "error" and "not configured" in row.attributes["exception.message"]


def test_an_incoming_traceparent_continues_the_callers_trace(alice, exported):
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    answer = alice.run(
        "test/sink", {"action": "echo", "payload": 1}, HTTP_TRACEPARENT=f"00-{trace_id}-{parent}-01"
    )
    assert answer.status_code == 200
    assert answer["X-Trace-Id"] == trace_id and answer["traceresponse"].startswith(f"00-{trace_id}-")
    run = Run.objects.get(pk=answer["X-Run-Id"])
    assert run.trace_id == trace_id
    spans = trace_of(exported, trace_id)
    root = spans["POST /v1/skills/{namespace}/{name}/run"]
    assert root.parent.span_id == int(parent, 16) and root.parent.is_remote
    assert spans["skill.execute"].parent.span_id == root.context.span_id


def test_unsampled_runs_are_not_exported_but_failed_ones_keep_their_trace(alice, exported, settings):
    settings.OTEL_SAMPLING_RATIO = 0.0
    telemetry.configure()
    ok = alice.run("test/sink", {"action": "echo", "payload": 1})
    failed = alice.run("test/sink", {"action": "raise", "text": "boom"})
    assert (ok.status_code, failed.status_code) == (200, 400)
    assert ok["X-Trace-Id"] and failed["X-Trace-Id"]  # the trace id is known even when not sampled
    telemetry.flush()
    assert exported.get_finished_spans() == ()
    assert not Span.objects.filter(run_id=ok["X-Run-Id"]).exists()
    stored = {span.name: span for span in Span.objects.filter(run_id=failed["X-Run-Id"])}
    assert set(stored) == {"POST /v1/skills/{namespace}/{name}/run", "skill.execute"}
    assert stored["skill.execute"].status == "error" and "boom" in stored["skill.execute"].status_message
    assert stored["skill.execute"].attributes["error.type"] == "internal"


@pytest.mark.parametrize(
    ("mode", "kept"), [("all", {"ok", "failed"}), ("failed", {"failed"}), ("none", set())]
)
def test_the_database_copy_follows_trace_db_store(alice, exported, settings, mode, kept):
    settings.TRACE_DB_STORE = mode
    answers = {
        "ok": alice.run("test/sink", {"action": "echo", "payload": 1}),
        "failed": alice.run("test/sink", {"action": "raise"}),
    }
    telemetry.flush()
    stored = {
        name for name, answer in answers.items() if Span.objects.filter(run_id=answer["X-Run-Id"]).exists()
    }
    assert stored == kept


def test_runs_submitted_outside_a_request_start_their_own_trace(kernel, exported):
    from skills.services import invocation

    submission = invocation.submit_run(kernel["alice"].user, "test", "sink", b'{"action": "echo"}')
    assert submission.wait(30)
    telemetry.flush()
    run = submission.run
    assert len(run.trace_id) == 32
    (row,) = Span.objects.filter(run=run)
    assert (row.name, row.parent_span_id, row.trace_id) == ("skill.execute", "", run.trace_id)


def test_log_records_carry_the_trace_and_run_ids(exported):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(TraceContextFilter())
    logger = logging.getLogger("tests.telemetry")
    logger.addHandler(handler)
    try:
        logger.warning("outside")
        token = current_run_id.set("run-1")
        with telemetry._tracer.start_as_current_span("work") as span:
            logger.warning("inside %s", "a run", extra={"skill": "test/sink"})
        current_run_id.reset(token)
    finally:
        logger.removeHandler(handler)
    outside, inside = records
    assert (outside.trace_id, outside.run_id) == ("", "")
    trace_id = f"{span.get_span_context().trace_id:032x}"
    line = json.loads(JsonFormatter().format(inside))
    assert line["message"] == "inside a run" and line["level"] == "WARNING"
    assert (line["trace_id"], line["run_id"], line["skill"]) == (trace_id, "run-1", "test/sink")
    assert line["span_id"] == f"{span.get_span_context().span_id:016x}"
    plain = PlainFormatter("%(levelname)s %(message)s").format(inside)
    assert plain == f"WARNING inside a run [run=run-1 trace={trace_id}]"
    assert PlainFormatter("%(message)s").format(outside) == "outside"


def test_cleanup_spans_deletes_what_is_older_than_the_retention(alice, exported, settings):
    settings.TRACE_RETENTION_DAYS = 7
    alice.run("test/sink", {"action": "echo"})
    alice.run("test/sink", {"action": "echo"})
    telemetry.flush()
    old_run, new_run = Run.objects.order_by("queued_at")
    old = timezone.now() - timezone.timedelta(days=8)
    Span.objects.filter(run=old_run).update(start_time=old, end_time=old)
    assert Span.objects.filter(run=old_run).count() == 2
    out = io.StringIO()
    call_command("cleanup_spans", stdout=out)
    assert "deleted 2 spans older than 7 days" in out.getvalue()
    assert not Span.objects.filter(run=old_run).exists()
    assert Span.objects.filter(run=new_run).count() == 2
    call_command("cleanup_spans", "--days", "0", stdout=out)
    assert not Span.objects.exists()


def test_context_crosses_a_process_hop_in_message_headers(exported):
    """What a Celery task carries: headers from inject_context, made current again with attached."""
    with telemetry._tracer.start_as_current_span("web") as web:
        headers = telemetry.inject_context()
    trace_id, span_id = web.get_span_context().trace_id, web.get_span_context().span_id
    assert headers["traceparent"].startswith(f"00-{trace_id:032x}-{span_id:016x}-")
    assert telemetry.current_trace_id() == ""
    with telemetry.attached({**headers, "retries": 0}):
        assert telemetry.current_trace_id() == f"{web.get_span_context().trace_id:032x}"
        with telemetry._tracer.start_as_current_span("worker") as worker:
            pass
    assert worker.parent.span_id == web.get_span_context().span_id and worker.parent.is_remote
    assert telemetry.current_trace_id() == ""
