"""Prometheus metrics of the kernel, served at ``GET /metrics`` (public or protected by setting).

Counters and histograms are updated where runs and CSI calls end (``skills.telemetry``); the
component cache, compile durations, queue depth and in-flight runs are read when scraped (the
last three from the database, so they are cluster-wide). Counters are per process: in
distributed mode each worker serves its own (:func:`serve_worker_metrics`), and a multi-process
web server sets ``PROMETHEUS_MULTIPROC_DIR`` as prometheus_client documents.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

REGISTRY = CollectorRegistry(auto_describe=True)
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_COMPILE_SECONDS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

RUNS = Counter(
    "skill_kernel_runs",
    "Runs that ended, by namespace, skill and outcome (succeeded or the error kind)",
    ["namespace", "skill", "outcome"],
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "skill_kernel_run_duration_seconds",
    "Time spent inside the skill per run",
    ["namespace", "skill"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
CSI_CALLS = Counter(
    "skill_kernel_csi_calls",
    "CSI calls made by skills, by function, model and outcome (ok or error)",
    ["function", "model", "outcome"],
    registry=REGISTRY,
)
CSI_SECONDS = Histogram(
    "skill_kernel_csi_call_duration_seconds",
    "Duration of CSI calls, by function and model",
    ["function", "model"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "skill_kernel_tokens",
    "Inference tokens used by skills, by model and type (input or output)",
    ["model", "type"],
    registry=REGISTRY,
)
CSI_SHELL_CALLS = Counter(
    "skill_kernel_csi_shell_calls",
    "CSI shell requests (the SDK's DevCsi), by caller, function and HTTP status",
    ["caller", "function", "status"],
    registry=REGISTRY,
)


def observe_csi_shell(user, function: str, status: int) -> None:
    caller = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    CSI_SHELL_CALLS.labels(caller, function, str(status)).inc()


def observe_run(namespace: str, skill: str, outcome: str, seconds: float) -> None:
    RUNS.labels(namespace, skill, outcome).inc()
    RUN_SECONDS.labels(namespace, skill).observe(seconds)


def observe_csi(
    function: str, model: str, outcome: str, seconds: float, input_tokens: int = 0, output_tokens: int = 0
) -> None:
    CSI_CALLS.labels(function, model, outcome).inc()
    CSI_SECONDS.labels(function, model).observe(seconds)
    if input_tokens:
        TOKENS.labels(model, "input").inc(input_tokens)
    if output_tokens:
        TOKENS.labels(model, "output").inc(output_tokens)


class KernelCollector:
    """Values read at scrape time: the component cache, compile durations, queue and in-flight runs."""

    def collect(self) -> Iterator[Metric]:
        yield from self._cache()
        yield from self._database()
        yield from self._sources()

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only (the database may not be ready at registration)

    def _cache(self) -> Iterator[Metric]:
        from skills.services import execution

        if not execution.component_cache.is_built():  # not created in this process yet
            stats = None
        else:
            stats = execution.component_cache().stats
        values = {
            "hits": stats.hits if stats else 0,
            "misses": stats.misses if stats else 0,
            "evictions": stats.evictions if stats else 0,
        }
        for name, value in values.items():
            yield CounterMetricFamily(
                f"skill_kernel_component_cache_{name}", f"Component cache {name} in this process", value
            )
        yield GaugeMetricFamily(
            "skill_kernel_component_cache_bytes",
            "Artifact bytes held by the component cache",
            stats.bytes if stats else 0,
        )
        yield GaugeMetricFamily(
            "skill_kernel_component_cache_entries",
            "Components held by the component cache",
            stats.entries if stats else 0,
        )

    def _database(self) -> Iterator[Metric]:
        from django.db import DatabaseError
        from django.db.models import Count

        from skills.models import Run, SkillVersion

        try:
            counts = dict(
                Run.objects.filter(status__in=[Run.QUEUED, Run.RUNNING])
                .order_by()
                .values_list("status")
                .annotate(n=Count("pk"))
            )
            durations = list(
                SkillVersion.objects.filter(compile_seconds__gt=0).values_list("compile_seconds", flat=True)
            )
        except DatabaseError:
            return
        yield GaugeMetricFamily(
            "skill_kernel_runs_queued", "Runs waiting for an executor", counts.get("queued", 0)
        )
        yield GaugeMetricFamily("skill_kernel_runs_in_flight", "Runs executing now", counts.get("running", 0))
        buckets, total = [], 0
        for bound in _COMPILE_SECONDS:
            buckets.append((str(float(bound)), sum(1 for d in durations if d <= bound)))
        buckets.append(("+Inf", len(durations)))
        total = sum(durations)
        yield HistogramMetricFamily(
            "skill_kernel_compile_duration_seconds",
            "Compile time of skill versions (Cranelift), from the registry",
            buckets=buckets,
            sum_value=total,
        )

    def _sources(self) -> Iterator[Metric]:
        """Each namespace source's health: failing sources keep serving their last good state."""
        from django.db import DatabaseError

        from skills.models import NamespaceSource
        from skills.sources import poller

        try:
            sources = list(
                NamespaceSource.objects.filter(enabled=True).values_list(
                    "namespace__name", "last_error", "consecutive_failures", "last_success_at"
                )
            )
        except DatabaseError:
            return
        up = GaugeMetricFamily(
            "skill_kernel_namespace_source_up",
            "1 when the namespace source's last sync applied without error, else 0",
            labels=["namespace"],
        )
        failures = GaugeMetricFamily(
            "skill_kernel_namespace_source_consecutive_failures",
            "Syncs of the namespace source that failed in a row",
            labels=["namespace"],
        )
        success = GaugeMetricFamily(
            "skill_kernel_namespace_source_last_success_timestamp_seconds",
            "When the namespace source last applied (Unix time; 0 if never)",
            labels=["namespace"],
        )
        for name, error, failed, last_success in sources:
            up.add_metric([name], 0 if error else 1)
            failures.add_metric([name], failed)
            success.add_metric([name], last_success.timestamp() if last_success else 0)
        yield from (up, failures, success)
        yield GaugeMetricFamily(
            "skill_kernel_namespaces_config_error",
            "1 when NAMESPACES_CONFIG failed to apply in this process's last poll",
            1 if poller.config_error() else 0,
        )


REGISTRY.register(KernelCollector())


def exposition() -> bytes:
    """The metrics in the Prometheus text format (all processes' files in multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(KernelCollector())
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def serve_worker_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Serve this process's metrics on ``port`` (a Celery worker has no web server of its own)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=REGISTRY)


def _allowed(request: HttpRequest) -> tuple[bool, int]:
    """(allowed, status if not): public by setting, the METRICS_TOKEN, or a staff user."""
    if settings.METRICS_PUBLIC:
        return True, 200
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        if settings.METRICS_TOKEN and hmac.compare_digest(credentials.strip(), settings.METRICS_TOKEN):
            return True, 200
        from rest_framework.exceptions import AuthenticationFailed

        from skills.api.authentication import BearerTokenAuthentication

        try:
            found = BearerTokenAuthentication().authenticate(request)
        except AuthenticationFailed:
            return False, 401
        if found is None:
            return False, 401
        return (True, 200) if found[0].is_staff else (False, 403)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return (True, 200) if user.is_staff else (False, 403)
    return False, 401


def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed, status = _allowed(request)
    if not allowed:
        response = HttpResponse(
            "metrics need METRICS_TOKEN or a staff user's token\n", status=status, content_type="text/plain"
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="skill-kernel"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
