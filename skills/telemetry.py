"""OpenTelemetry for runs: one trace per run, exported where the settings say and stored with the run.

The trace of a run: the request span (Django instrumentation; it continues an incoming W3C
``traceparent``; named ``POST /v1/skills/{namespace}/{name}/run`` by :func:`name_request_span`),
``skill.execute`` (:func:`run_span`, on the executing thread) and one span per
CSI call (:func:`observe_csi`, the runtime's ``Csi.observe`` hook; inference spans follow the
OpenTelemetry GenAI semantic conventions).

Sampling decides what is *exported*; the sampler records every span, so :class:`RunSpanStore`
sees all of them and keeps the spans of sampled runs and of every failed run in the database
(``TRACE_DB_STORE``), written in batches by a background thread. Exporters are chosen by
``OTEL_EXPORTER``/``OTEL_ENDPOINT``/``OTEL_HEADERS``; :func:`configure` applies the settings.

Across a process hop (Celery), :func:`inject_context` gives headers for the message and
:func:`attached` makes the caller's context current on the other side; the Celery
instrumentation (when installed) does both automatically.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from skills import metrics
from skills.logging import current_run_id

log = logging.getLogger(__name__)

RUN_ID = "skill_kernel.run_id"  # attribute of the skill.execute span: which run the trace belongs to
EXECUTE_SPAN = "skill.execute"
_MAX_PENDING = 4096  # runs remembered between their creation and their execution, per process


# -- helpers for callers (web -> worker hop, headers, ids) ------------------------------------


def inject_context(context: otel_context.Context | None = None) -> dict[str, str]:
    """W3C ``traceparent``/``tracestate`` headers of the current (or given) context, for a message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def extract_context(headers: Mapping[str, Any] | None) -> otel_context.Context:
    """The context a message's headers carry (an empty context without them)."""
    carrier = {key: value for key, value in (headers or {}).items() if isinstance(value, str)}
    return propagate.extract(carrier)


@contextmanager
def attached(headers: Mapping[str, Any] | None) -> Iterator[None]:
    """Make the context carried by ``headers`` current while the block runs (e.g. a Celery task)."""
    token = otel_context.attach(extract_context(headers))
    try:
        yield
    finally:
        otel_context.detach(token)


def current_trace_id() -> str:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def _hex_trace(value: int) -> str:
    return format(value, "032x")


def _hex_span(value: int) -> str:
    return format(value, "016x")


# -- sampling and export ------------------------------------------------------------------------


class KernelSampler(Sampler):
    """Parent-based ratio sampling that still *records* unsampled spans, with their attributes.

    (The SDK's AlwaysRecordSampler would keep the dropped decision's empty attributes, and the
    database copy needs them to know which run a span belongs to.)
    """

    def __init__(self, ratio: float) -> None:
        self.set_ratio(ratio)

    def set_ratio(self, ratio: float) -> None:
        self.ratio = min(1.0, max(0.0, ratio))
        self._inner = ParentBased(TraceIdRatioBased(self.ratio))

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        result = self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"KernelSampler{{{self._inner.get_description()}}}"


class ExportSwitch(SpanProcessor):
    """Hands sampled spans to the configured exporter; :func:`configure` swaps it at run time."""

    def __init__(self) -> None:
        self.processor: SpanProcessor | None = None
        self.description = "none"

    def replace(self, processor: SpanProcessor | None, description: str) -> None:
        old, self.processor, self.description = self.processor, processor, description
        if old is not None:
            old.shutdown()

    def on_end(self, span: ReadableSpan) -> None:
        processor = self.processor
        if processor is not None:
            processor.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        processor = self.processor
        return processor.force_flush(timeout_millis) if processor is not None else True

    def shutdown(self) -> None:
        self.replace(None, "none")


def parse_headers(value: str) -> dict[str, str]:
    """``key=value,key2=value2`` (values may be percent-encoded, as in OTEL_EXPORTER_OTLP_HEADERS)."""
    headers = {}
    for item in value.split(","):
        key, sep, raw = item.partition("=")
        if sep and key.strip():
            headers[key.strip().lower()] = unquote(raw.strip())
    return headers


def build_exporter(kind: str, endpoint: str, headers: str = "") -> SpanExporter | None:
    """The exporter for ``OTEL_EXPORTER``: none, otlp-http, otlp-grpc or console."""
    kind = (kind or "none").strip().lower()
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter()
    if kind not in ("otlp-http", "otlp-grpc"):
        raise ImproperlyConfigured(f"OTEL_EXPORTER is {kind!r}; use none, otlp-http, otlp-grpc or console")
    if not endpoint:
        raise ImproperlyConfigured(f"OTEL_EXPORTER={kind} needs OTEL_ENDPOINT")
    if kind == "otlp-http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        url = endpoint.rstrip("/")
        if not url.endswith("/v1/traces"):
            url += "/v1/traces"
        return OTLPSpanExporter(endpoint=url, headers=parse_headers(headers), timeout=10)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

    return GrpcExporter(endpoint=endpoint, headers=parse_headers(headers), timeout=10)


# -- the database copy --------------------------------------------------------------------------


@dataclass
class _RunTrace:
    """The spans of one run seen by this process, held until the run's outcome decides."""

    run_id: str
    keep: bool | None = None
    held: list[ReadableSpan] = field(default_factory=list)


def _keep(mode: str, sampled: bool, failed: bool) -> bool:
    return {"all": True, "sampled": sampled or failed, "failed": failed}.get(mode, False)


class RunSpanStore(SpanProcessor):
    """Stores the spans of each run in the database, in batches, following ``TRACE_DB_STORE``.

    A run's spans are the ``skill.execute`` span (attribute :data:`RUN_ID`), its descendants,
    the span in which the run was created or whose child the execution is (the request), and
    that span's other children (the Celery publish span in distributed mode).
    Descendants end before ``skill.execute``, so they are held until it ends and the outcome
    (failed runs are always kept) and the sampling flag decide. A request span that ends with
    its run still undecided here (asynchronous runs, or runs executed by a worker) is written
    if sampled, else once the database shows the run failed.
    """

    RETRY_SECONDS = 300.0  # how long an undecided request span waits for its run to fail

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[int, _RunTrace] = {}  # open span id -> its run
        self._roots: OrderedDict[int, _RunTrace] = OrderedDict()  # request span id -> its run
        self._queue: list[tuple[str, ReadableSpan, float]] = []  # (run id, span, deadline or 0)
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread_pid: int | None = None

    # span lifecycle (called by the SDK on the span's thread)

    def register_root(self, span_id: int, run_id: str) -> None:
        with self._lock:
            self._roots[span_id] = _RunTrace(run_id)
            while len(self._roots) > _MAX_PENDING:
                self._roots.popitem(last=False)

    def on_start(self, span, parent_context: otel_context.Context | None = None) -> None:
        parent_id = span.parent.span_id if span.parent is not None else None
        run_id = span.attributes.get(RUN_ID) if span.attributes else None
        with self._lock:
            if run_id:
                run = self._roots.get(parent_id) if parent_id is not None else None
                if run is None or run.run_id != run_id:
                    run = _RunTrace(str(run_id))
                    if parent_id is not None and span.parent is not None and not span.parent.is_remote:
                        self._roots[parent_id] = run
                self._members[span.context.span_id] = run
            elif parent_id is not None and parent_id in self._members:
                self._members[span.context.span_id] = self._members[parent_id]
            elif parent_id is not None and parent_id in self._roots:  # e.g. the Celery publish span
                self._roots[span.context.span_id] = self._roots[parent_id]

    def on_end(self, span: ReadableSpan) -> None:
        span_id = span.context.span_id
        mode = settings.TRACE_DB_STORE
        sampled = span.context.trace_flags.sampled
        with self._lock:
            run = self._members.pop(span_id, None)
            if run is not None and span.attributes and span.attributes.get(RUN_ID):
                failed = span.attributes.get("skill.outcome") != "succeeded"
                run.keep = _keep(mode, sampled, failed)
                if run.keep:
                    self._enqueue(run.run_id, [*run.held, span])
                run.held.clear()
            elif run is not None:
                if run.keep is None:
                    run.held.append(span)
                elif run.keep:
                    self._enqueue(run.run_id, [span])
            else:
                run = self._roots.pop(span_id, None)
                if run is None:
                    return
                if run.keep is not None:
                    if run.keep:
                        self._enqueue(run.run_id, [span])
                elif _keep(mode, sampled, failed=False):
                    self._enqueue(run.run_id, [span])
                elif mode in ("sampled", "failed"):
                    self._enqueue(run.run_id, [span], deadline=time.monotonic() + self.RETRY_SECONDS)

    def _enqueue(self, run_id: str, spans: list[ReadableSpan], deadline: float = 0.0) -> None:
        self._queue.extend((run_id, span, deadline) for span in spans)
        if self._thread_pid != os.getpid():  # lazily, and again in a forked child
            self._thread_pid = os.getpid()
            threading.Thread(target=self._loop, name="span-store", daemon=True).start()

    # writing

    def _loop(self) -> None:
        from django.db import connections

        while True:
            time.sleep(max(0.05, settings.TRACE_DB_FLUSH_SECONDS))
            try:
                self.write_pending()
            except Exception:  # noqa: BLE001 - never let the writer die
                log.exception("storing spans failed")
            finally:
                connections.close_all()  # this thread's connections only: no idle connection stays open

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.write_pending()
        return True

    def write_pending(self) -> int:
        """Write the queued spans now; returns how many rows were written."""
        from django.db import DatabaseError

        from skills.models import Run, Span

        with self._write_lock:
            with self._lock:
                items, self._queue = self._queue, []
            if not items:
                return 0
            statuses = {
                str(pk): status
                for pk, status in Run.objects.filter(pk__in={run_id for run_id, _, _ in items}).values_list(
                    "pk", "status"
                )
            }
            rows, retry, now = [], [], time.monotonic()
            for run_id, span, deadline in items:
                status = statuses.get(run_id)
                if status is None:  # the run is gone (deleted, or another test's database)
                    continue
                if deadline and status != Run.FAILED:
                    if status in (Run.QUEUED, Run.RUNNING) and now < deadline:
                        retry.append((run_id, span, deadline))
                    continue
                rows.append(span_row(Span, run_id, span))
            try:
                Span.objects.bulk_create(rows, batch_size=500)
            except DatabaseError:
                log.exception("storing %d spans failed; they are dropped", len(rows))
                rows = []
            if retry:
                with self._lock:
                    self._queue.extend(retry)
            return len(rows)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def span_row(model: type, run_id: str, span: ReadableSpan):
    """A ``Span`` row for an SDK span (exception events become ``exception.*`` attributes)."""
    attributes = {key: _plain(value) for key, value in (span.attributes or {}).items()}
    for event in span.events:
        if event.name == "exception":
            for key in ("exception.type", "exception.message"):
                if key in event.attributes:
                    attributes.setdefault(key, event.attributes[key])
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    return model(
        run_id=run_id,
        trace_id=_hex_trace(span.context.trace_id),
        span_id=_hex_span(span.context.span_id),
        parent_span_id=_hex_span(span.parent.span_id) if span.parent is not None else "",
        name=span.name[:200],
        kind=span.kind.name.lower(),
        start_time=datetime.fromtimestamp(start / 1e9, UTC),
        end_time=datetime.fromtimestamp(end / 1e9, UTC),
        duration_ms=(end - start) / 1e6,
        status=span.status.status_code.name.lower(),
        status_message=span.status.description or "",
        attributes=attributes,
    )


def cleanup_spans(days: int | None = None, batch: int = 10_000) -> int:
    """Delete stored spans that ended more than ``days`` (default TRACE_RETENTION_DAYS) ago."""
    from skills.models import Span

    days = settings.TRACE_RETENTION_DAYS if days is None else days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(Span.objects.filter(end_time__lt=cutoff).values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += Span.objects.filter(pk__in=ids).delete()[0]


# -- process setup ------------------------------------------------------------------------------

STORE = RunSpanStore()
EXPORT = ExportSwitch()
_provider: TracerProvider | None = None
_sampler: KernelSampler | None = None
_tracer: trace.Tracer | None = None
_setup_lock = threading.Lock()
_contexts: OrderedDict[str, otel_context.Context] = OrderedDict()  # run id -> context it was created in


def provider() -> TracerProvider | None:
    return _provider


def enabled() -> bool:
    return _tracer is not None and settings.TRACE_ENABLED


def setup() -> None:
    """Create the tracer provider from settings and instrument Django (and Celery). Once per process."""
    global _provider, _sampler, _tracer
    with _setup_lock:
        if _provider is not None or not settings.TRACE_ENABLED:
            return
        _sampler = KernelSampler(settings.OTEL_SAMPLING_RATIO)
        _provider = TracerProvider(
            sampler=_sampler, resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
        )
        _provider.add_span_processor(STORE)
        _provider.add_span_processor(EXPORT)
        trace.set_tracer_provider(_provider)
        _tracer = _provider.get_tracer("skill_kernel")
        configure()
        _instrument(_provider)
        _connect_signals()


def configure() -> None:
    """Apply the sampling and exporter settings (at start-up; tests call it after changing them)."""
    if _provider is None or _sampler is None:
        return
    _sampler.set_ratio(settings.OTEL_SAMPLING_RATIO)
    exporter = build_exporter(settings.OTEL_EXPORTER, settings.OTEL_ENDPOINT, settings.OTEL_HEADERS)
    processor = BatchSpanProcessor(exporter, schedule_delay_millis=1000) if exporter is not None else None
    EXPORT.replace(processor, f"{settings.OTEL_EXPORTER} {settings.OTEL_ENDPOINT}".strip())


def flush(timeout_millis: int = 10_000) -> None:
    """Write queued spans to the database and push sampled ones to the exporter now."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)


def _instrument(tracer_provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator,
        set_global_response_propagator,
    )

    set_global_response_propagator(TraceResponsePropagator())  # W3C traceresponse header
    DjangoInstrumentor().instrument(
        tracer_provider=tracer_provider,
        excluded_urls="/health$,/metrics$,/static/,/favicon.ico",
        response_hook=name_request_span,
    )
    try:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
    except ImportError:  # optional: without it, tasks carry inject_context() headers themselves
        return
    CeleryInstrumentor().instrument(tracer_provider=tracer_provider)


_PATH_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")  # <str:namespace>, <name>
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")  # re_path's (?P<app_label>...)


def route_template(route: str) -> str:
    """A Django route as the HTTP semantic conventions' ``http.route``: ``/v1/skills/{namespace}/{name}/run``.

    Django's instrumentation uses the raw pattern (``v1/skills/<str:namespace>/<str:name>/run``);
    the conventions, and every trace viewer, expect a path from the root with ``{param}`` holes.
    """
    template = _PATH_CONVERTER.sub(r"{\1}", _REGEX_GROUP.sub(r"{\1}", route))
    return "/" + template.strip("^$").lstrip("/")


_RAW_ROUTE_NAME = re.compile(r"^([A-Z]+) ([^/ ][^ ]*)$")  # "POST v1/skills/<str:namespace>/..."


def readable_span_name(name: str) -> str:
    """A stored span name as :func:`name_request_span` names spans now (older rows hold the raw route)."""
    match = _RAW_ROUTE_NAME.match(name)
    return f"{match[1]} {route_template(match[2])}" if match else name


def name_request_span(span: trace.Span, request, response) -> None:
    """The Django instrumentation's response hook: name the request span ``{method} {http.route}``."""
    route = getattr(getattr(request, "resolver_match", None), "route", None)
    if not route or not span.is_recording():
        return
    template = route_template(route)
    span.update_name(f"{request.method} {template}")
    span.set_attribute("http.route", template)


def _connect_signals() -> None:
    from django.db.models.signals import pre_save

    from skills.models import Run

    pre_save.connect(_run_created, sender=Run, dispatch_uid="skills.telemetry.run_created")


def _run_created(sender, instance, raw: bool = False, **kwargs: Any) -> None:
    """A new run remembers the trace it was created in (the request), so its execution continues it."""
    if raw or not instance._state.adding:
        return
    span = trace.get_current_span()
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return
    run_id = str(instance.pk)
    if not instance.trace_id:
        instance.trace_id = _hex_trace(span_context.trace_id)
    if span.is_recording():
        STORE.register_root(span_context.span_id, run_id)
    with _setup_lock:
        _contexts[run_id] = otel_context.get_current()
        while len(_contexts) > _MAX_PENDING:
            _contexts.popitem(last=False)


class TraceIdMiddleware:
    """Answers carry ``X-Trace-Id``: the id of the request's trace, which its run continues."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        trace_id = current_trace_id()
        if trace_id:
            response["X-Trace-Id"] = trace_id
        return response


# -- the execution span -------------------------------------------------------------------------


class RunTelemetry:
    """Handle of :func:`run_span`: call :meth:`finish` with the outcome before the block ends."""

    def __init__(self, run, span: trace.Span | None) -> None:
        self.run = run
        self.span = span

    def finish(self, outcome) -> None:
        namespace, skill = self.run.skill.namespace.name, self.run.skill.name
        kind = outcome.error_kind.value if outcome.error_kind else ""
        metrics.observe_run(namespace, skill, kind or "succeeded", outcome.duration)
        if self.span is None:
            return
        self.span.set_attribute("skill.outcome", "failed" if kind else "succeeded")
        self.span.set_attribute("skill.duration_ms", round(outcome.duration * 1000, 3))
        if kind:
            self.span.set_attribute("error.type", kind)
            self.span.set_status(Status(StatusCode.ERROR, (outcome.error_message or kind)[:1000]))
        else:
            self.span.set_status(Status(StatusCode.OK))


@contextmanager
def run_span(run) -> Iterator[RunTelemetry]:
    """The ``skill.execute`` span of ``run``, current on this thread while the skill executes.

    Its parent is the context the run was created in (same process) or the current one (a
    worker that attached the caller's context). Sets ``run.trace_id`` to the trace's id.
    """
    token = current_run_id.set(str(run.pk))
    try:
        if not enabled():
            yield RunTelemetry(run, None)
            return
        with _setup_lock:
            parent = _contexts.pop(str(run.pk), None)
        version = run.version
        attributes = {
            RUN_ID: str(run.pk),
            "skill.namespace": run.skill.namespace.name,
            "skill.name": run.skill.name,
            "skill.version": version.digest,
            "skill.world": version.world,
            "skill.wit_version": version.wit_version,
            "skill.tag": run.tag,
            "skill.run_mode": run.mode,
        }
        assert _tracer is not None
        with _tracer.start_as_current_span(
            EXECUTE_SPAN, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            run.trace_id = _hex_trace(span.get_span_context().trace_id)
            telemetry = RunTelemetry(run, span)
            yield telemetry
            if not span.attributes.get("skill.outcome"):  # the block ended without finish()
                span.set_attribute("skill.outcome", "failed")
    finally:
        current_run_id.reset(token)


# -- CSI call spans -----------------------------------------------------------------------------

_GENAI_OPERATION = {
    "complete": "text_completion",
    "completion_stream": "text_completion",
    "chat": "chat",
    "chat_stream": "chat",
}
_REQUEST_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}


def _requests(attributes: dict[str, Any]) -> list[Any]:
    if "csi.input" in attributes:
        return list(attributes["csi.input"])
    if "csi.request" in attributes:
        return [attributes["csi.request"]]
    return []


def _model_of(request: Any) -> str:
    model = getattr(request, "model", None) or getattr(getattr(request, "params", None), "model", None)
    return str(model) if model else ""


def _message_parts(message: Any) -> list[dict[str, Any]]:
    """GenAI semconv parts: ``reasoning``, ``text``, ``tool_call`` (arguments parsed when JSON) and,
    for a ``tool`` message, ``tool_call_response``; a message with none of them gets an empty text."""
    content = getattr(message, "content", None)
    if getattr(message, "tool_call_id", None) is not None:
        return [{"type": "tool_call_response", "id": message.tool_call_id, "response": content or ""}]
    parts: list[dict[str, Any]] = []
    if getattr(message, "reasoning_content", None):
        parts.append({"type": "reasoning", "content": message.reasoning_content})
    if content:
        parts.append({"type": "text", "content": content})
    for call in getattr(message, "tool_calls", None) or []:
        try:
            arguments: Any = json.loads(call.arguments)
        except ValueError:
            arguments = call.arguments
        parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": arguments})
    return parts or [{"type": "text", "content": content or ""}]


def _input_messages(request: Any) -> list[dict[str, Any]]:
    if hasattr(request, "messages"):
        return [{"role": str(m.role), "parts": _message_parts(m)} for m in request.messages]
    return [{"role": "user", "parts": [{"type": "text", "content": getattr(request, "prompt", "")}]}]


def _output_message(result: Any) -> dict[str, Any]:
    message = getattr(result, "message", None)
    parts = (
        _message_parts(message)
        if message is not None
        else [{"type": "text", "content": getattr(result, "text", "")}]
    )
    return {"role": "assistant", "parts": parts, "finish_reason": _finish_reason(result)}


def _finish_reason(result: Any) -> str:
    reason = getattr(result, "finish_reason", "")
    return str(getattr(reason, "value", reason))


def _start_attributes(function: str, attributes: dict[str, Any], capture: bool) -> tuple[str, dict, str]:
    """Span name, start attributes and the model label for a CSI call."""
    requests = _requests(attributes)
    models = list(dict.fromkeys(model for model in map(_model_of, requests) if model))
    model = ",".join(models)
    span_attributes: dict[str, Any] = {"csi.function": function}
    if "csi.requests" in attributes:
        span_attributes["csi.requests"] = int(attributes["csi.requests"])
    operation = _GENAI_OPERATION.get(function)
    if operation:
        span_attributes["gen_ai.operation.name"] = operation
        span_attributes["gen_ai.provider.name"] = "openai"
        if model:
            span_attributes["gen_ai.request.model"] = model
        params = getattr(requests[0], "params", None) if requests else None
        for name, key in _REQUEST_PARAMS.items():
            value = getattr(params, name, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                span_attributes[key] = value
        stop = getattr(params, "stop", None)
        if stop:
            span_attributes["gen_ai.request.stop_sequences"] = list(stop)
        if capture and requests:
            span_attributes["gen_ai.input.messages"] = json.dumps(
                [message for request in requests for message in _input_messages(request)]
            )
        return f"{operation} {model}".strip(), span_attributes, model
    if function == "invoke_tool":
        names = [str(name) for name in attributes.get("csi.tools", [])]
        span_attributes["gen_ai.operation.name"] = "execute_tool"
        span_attributes["gen_ai.tool.name"] = ",".join(names)
        return f"execute_tool {','.join(names)}".strip(), span_attributes, ""
    if model:
        span_attributes["csi.model"] = model
    return f"csi {function}", span_attributes, model


def _result_attributes(attributes: dict[str, Any], capture: bool) -> tuple[dict[str, Any], int, int]:
    results = attributes.get("csi.results") or []
    usages = [getattr(result, "usage", None) for result in results]
    input_tokens = sum(usage.prompt for usage in usages if usage is not None)
    output_tokens = sum(usage.completion for usage in usages if usage is not None)
    found: dict[str, Any] = {}
    if results:
        found["gen_ai.usage.input_tokens"] = input_tokens
        found["gen_ai.usage.output_tokens"] = output_tokens
        found["gen_ai.response.finish_reasons"] = [_finish_reason(result) for result in results]
        if capture:
            found["gen_ai.output.messages"] = json.dumps([_output_message(result) for result in results])
    return found, input_tokens, output_tokens


@contextmanager
def observe_csi(function: str, attributes: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The ``Csi.observe`` hook: a child span of ``skill.execute`` and the CSI metrics per call."""
    started = time.perf_counter()
    tracing = enabled()
    capture = tracing and settings.TRACE_CAPTURE_CONTENT
    name, span_attributes, model = _start_attributes(function, attributes, capture)
    span_cm = (
        _tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=span_attributes)
        if tracing and _tracer is not None
        else None
    )
    span = span_cm.__enter__() if span_cm is not None else None
    outcome = "ok"
    error: BaseException | None = None
    try:
        yield attributes
    except BaseException as exc:
        outcome, error = "error", exc
        raise
    finally:
        found, input_tokens, output_tokens = _result_attributes(attributes, capture)
        metrics.observe_csi(
            function, model, outcome, time.perf_counter() - started, input_tokens, output_tokens
        )
        if span is not None and span_cm is not None:
            span.set_attributes(found)
            if error is not None:
                span.set_attribute("error.type", type(error).__name__)
                span_cm.__exit__(type(error), error, error.__traceback__)
            else:
                span_cm.__exit__(None, None, None)
