"""Settings of the telemetry area, read from the environment; imported by kernel_site.settings.

Traces: every run is one OpenTelemetry trace (request, ``skill.execute``, one span per CSI call).
The names ``OTEL_ENDPOINT`` and ``OTEL_SAMPLING_RATIO`` are the Pharia Kernel's.
"""

from kernel_site.env import envbool, envfloat, envint, envstr

# Master switch for tracing (spans, X-Trace-Id, the database copy). Default true.
TRACE_ENABLED = envbool("TRACE_ENABLED", True)
# The OTLP collector: http(s)://host:4318 for otlp-http (/v1/traces is appended), host:4317 for gRPC.
# Default "" (no export).
OTEL_ENDPOINT = envstr("OTEL_ENDPOINT", "")
# Where spans are exported: none, otlp-http, otlp-grpc or console. Default: otlp-http when
# OTEL_ENDPOINT is set, else none.
OTEL_EXPORTER = envstr("OTEL_EXPORTER", "otlp-http" if OTEL_ENDPOINT else "none")
# Headers sent to the collector, "key=value,key2=value2" (e.g. an API key). Default "".
OTEL_HEADERS = envstr("OTEL_HEADERS", "")
# Fraction of new traces exported, 0.0 to 1.0; an incoming traceparent's decision wins. Default 1.0.
OTEL_SAMPLING_RATIO = envfloat("OTEL_SAMPLING_RATIO", 1.0)
# The service.name resource attribute of every span. Default "skill-kernel".
OTEL_SERVICE_NAME = envstr("OTEL_SERVICE_NAME", "skill-kernel")
# Record prompts and completions on inference spans (gen_ai.input/output.messages). Default false.
TRACE_CAPTURE_CONTENT = envbool("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", False)
# Which runs keep their spans in the database: all, sampled (sampled runs and every failed run),
# failed, none. Default "sampled".
TRACE_DB_STORE = envstr("TRACE_DB_STORE", "sampled")
# Spans are written in batches by a background thread at most this many seconds apart. Default 1.0.
TRACE_DB_FLUSH_SECONDS = envfloat("TRACE_DB_FLUSH_SECONDS", 1.0)
# Stored spans older than this many days are deleted by `manage.py cleanup_spans`. Default 14.
TRACE_RETENTION_DAYS = envint("TRACE_RETENTION_DAYS", 14)

# Serve GET /metrics without authentication (else METRICS_TOKEN or a staff user). Default false.
METRICS_PUBLIC = envbool("METRICS_PUBLIC", False)
# A bearer token that Prometheus sends to read /metrics ("Authorization: Bearer ..."). Default "".
METRICS_TOKEN = envstr("METRICS_TOKEN", "")
