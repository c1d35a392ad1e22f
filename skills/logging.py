"""Log records that carry the trace and run they belong to; plain or JSON lines (``LOG_FORMAT``).

:class:`TraceContextFilter` (installed on the console handler by ``settings.LOGGING``) puts
``trace_id``, ``span_id`` and ``run_id`` on every record, so a log line of a run can be found from
the run page and the other way round. Imports no Django models: it is loaded while logging is
configured, before the apps are ready.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

# The run executing on this thread (set by skills.telemetry.run_span), "" outside of a run.
current_run_id: ContextVar[str] = ContextVar("skill_kernel_run_id", default="")

_IDS = ("trace_id", "span_id", "run_id")
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept in JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", *_IDS}


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id``/``span_id`` (of the current OpenTelemetry span) and ``run_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        else:
            record.trace_id = record.span_id = ""
        record.run_id = current_run_id.get()
        return True


class PlainFormatter(logging.Formatter):
    """The usual one-line format, followed by ``run=... trace=...`` when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [
            f"{key[:-3]}={getattr(record, key)}" for key in ("run_id", "trace_id") if getattr(record, key, "")
        ]
        if not ids:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{' '.join(ids)}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _IDS:
            value = getattr(record, key, "")
            if value:
                data[key] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, default=str, ensure_ascii=False)
