"""Pointing OTEL_EXPORTER/OTEL_ENDPOINT at a collector sends it the same spans: a real OTLP/HTTP
receiver on loopback decodes what the kernel exports."""

from __future__ import annotations

import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from skills import telemetry
from skills.models import Run, Span


class OtlpReceiver:
    """A minimal OTLP/HTTP (protobuf) trace receiver: ``spans`` and ``headers`` of every export."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, str], object]] = []  # (resource attributes, span)
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                receiver.paths.append(self.path)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                for resource_spans in request.resource_spans:
                    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans.extend((resource, span) for span in scope_spans.spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    receiver = OtlpReceiver()
    configured = settings.OTEL_EXPORTER, settings.OTEL_ENDPOINT, settings.OTEL_HEADERS
    settings.OTEL_EXPORTER = "otlp-http"
    settings.OTEL_ENDPOINT = receiver.url
    settings.OTEL_HEADERS = "x-api-key=s3cret,x-team=skills%20team"
    telemetry.configure()
    yield receiver
    settings.OTEL_EXPORTER, settings.OTEL_ENDPOINT, settings.OTEL_HEADERS = configured
    telemetry.configure()
    receiver.close()


def test_the_collector_receives_the_same_spans_that_are_stored_with_the_run(alice, receiver):
    answer = alice.run("test/sink", {"action": "select_language", "text": "Das ist ein deutscher Satz"})
    assert answer.status_code == 200
    telemetry.flush()
    run = Run.objects.get(pk=answer["X-Run-Id"])
    received = {
        span.name: (resource, span)
        for resource, span in receiver.spans
        if span.trace_id.hex() == run.trace_id
    }
    stored = {span.name: span for span in Span.objects.filter(run=run)}
    assert (
        set(received)
        == set(stored)
        == {
            "POST /v1/skills/{namespace}/{name}/run",
            "skill.execute",
            "csi select_language",
        }
    )
    for name, (resource, span) in received.items():
        assert resource["service.name"] == "skill-kernel"
        assert span.span_id.hex() == stored[name].span_id
        assert span.parent_span_id.hex() == stored[name].parent_span_id
    execute = {a.key: a.value for a in received["skill.execute"][1].attributes}
    assert execute["skill.name"].string_value == "sink"
    assert execute[telemetry.RUN_ID].string_value == str(run.pk)
    assert set(receiver.paths) == {"/v1/traces"}
    assert receiver.headers[0]["x-api-key"] == "s3cret" and receiver.headers[0]["x-team"] == "skills team"


def test_unsampled_traces_do_not_reach_the_collector(alice, receiver, settings):
    ratio, settings.OTEL_SAMPLING_RATIO = settings.OTEL_SAMPLING_RATIO, 0.0
    telemetry.configure()
    try:
        assert alice.run("test/sink", {"action": "echo"}).status_code == 200
        telemetry.flush()
    finally:
        settings.OTEL_SAMPLING_RATIO = ratio  # the receiver fixture's teardown reconfigures
    assert receiver.spans == []


@pytest.mark.parametrize(
    ("kind", "endpoint", "message"),
    [
        ("otlp-http", "", "needs OTEL_ENDPOINT"),
        ("zipkin", "http://x", "use none, otlp-http, otlp-grpc or console"),
    ],
)
def test_a_wrong_exporter_setting_is_refused_with_a_clear_message(kind, endpoint, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        telemetry.build_exporter(kind, endpoint)


def test_exporters_are_built_from_the_settings():
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    assert telemetry.build_exporter("none", "http://x") is None
    http = telemetry.build_exporter("otlp-http", "http://collector:4318/", "a=b")
    assert isinstance(http, Http) and http._endpoint == "http://collector:4318/v1/traces"
    grpc = telemetry.build_exporter("otlp-grpc", "http://collector:4317", "a=b")
    assert isinstance(grpc, Grpc)
    grpc.shutdown()
    assert telemetry.parse_headers("Authorization=Bearer%20x, k=v=w") == {
        "authorization": "Bearer x",
        "k": "v=w",
    }
