"""What every CSI shell version shares: the kernel's CSI, the request body, errors and event streams.

Errors are ``{"error": {"kind", "message"}}`` like the rest of the API (the legacy ``POST /csi``
answers PhariaEngine's JSON string instead, see ``legacy``): 400 for bad input or a model the backend
does not know, 401/403 for credentials, 404 for an unknown function or namespace or document, 413 for
a body over ``CSI_SHELL_MAX_BODY_BYTES``, 429 when the backend rate limits, 501 when the backend
cannot do the function at all (``explain``), 503 when the function's backend is not configured and
502 when the backend fails (unreachable, timeout, HTTP 5xx).

A ``*_stream`` function whose body is well-formed answers 200 with ``text/event-stream``, as
PhariaEngine does: a failure, whether the backend raises it while opening the stream (an unknown
model: PhariaEngine's ``MODEL_NOT_FOUND_MESSAGE``) or in the middle of it, is an ``error`` event
``{"message": ...}`` and ends the stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.request import Request

from runtime.csi import Csi
from runtime.csi.openai import RateLimited
from runtime.csi.types import (
    CsiError,
    CsiNotFound,
    InvalidCsiRequest,
    ModelNotFound,
    NotConfigured,
    Unsupported,
)
from skills.csi_shell import conversions as c
from skills.models import NamespaceGrant
from skills.services import access, execution, invocation
from skills.services import csi as backends
from skills.services.errors import (
    BackendFailed,
    Forbidden,
    InvalidInput,
    KernelError,
    NotConfiguredError,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    TooManyRequests,
)

log = logging.getLogger(__name__)

#: A CSI shell function: the caller and the parsed JSON body in; JSON data or a response out.
Handler = Callable[[Any, Any], Any]


def authorise(user: Any) -> None:
    """The CSI shell spends the kernel's backends (inference, search): only for callers who may
    invoke skills somewhere. The tool functions check the namespace they name on top of this."""
    if not access.namespaces_for(user, NamespaceGrant.INVOKE).exists():
        raise Forbidden("the CSI shell needs the invoke role in a namespace; ask an admin for a grant")


def kernel_csi() -> Csi:
    """The kernel's CSI without a namespace: everything but tools; observed like a run's calls."""
    from skills import telemetry

    return Csi(
        observe=telemetry.observe_csi,
        language=execution._language(),
        chunking=execution._chunking(),
        inference=backends.inference_for(None),
        document_index=backends.documents(),
    )


def namespace_csi(user: Any, name: str) -> Csi:
    """The CSI of namespace ``name`` for a tool function: the caller must be allowed to invoke there."""
    return execution.csi_for(access.namespace_for(user, name, NamespaceGrant.INVOKE))


def domain_error(error: CsiError) -> KernelError:
    """A CSI error as the HTTP error the shell answers with."""
    message = str(error)
    if isinstance(error, ModelNotFound) and error.detail:
        log.info("CSI shell: %s (%s)", message, error.detail)
    if isinstance(error, RateLimited):
        retry = error.retry_after
        return TooManyRequests(message, retry_after=int(retry) if retry and retry.isdigit() else None)
    if isinstance(error, InvalidCsiRequest):
        return c.BadRequest("", message)
    if isinstance(error, CsiNotFound):
        return NotFound(message)
    if isinstance(error, Unsupported):
        return NotSupported(message)
    if isinstance(error, NotConfigured):
        return NotConfiguredError(message)
    return BackendFailed(message)


def max_batch() -> int:
    return settings.CSI_SHELL_MAX_BATCH


def batch(body: Any, read: Callable[[Any, str], Any], path: str = "") -> list[Any]:
    """A list of requests, at most ``CSI_SHELL_MAX_BATCH``."""
    return c.each(body, path, read, max_batch())


def read_body(request: Request) -> Any:
    """The JSON body: 413 over ``CSI_SHELL_MAX_BODY_BYTES``, 400 when empty or not JSON."""
    limit = settings.CSI_SHELL_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"the request body has {length} bytes; the CSI shell accepts at most {limit}")
    try:
        raw = request.body
    except RequestDataTooBig as error:
        raise PayloadTooLarge(f"the request body is too large: {error}") from error
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body has {len(raw)} bytes; the CSI shell accepts at most {limit}")
    if not raw.strip():
        raise c.BadRequest("", "the request body is empty; expected JSON")
    try:
        return invocation.parse_json(raw, "the request body")  # strict: no NaN, bounded depth
    except InvalidInput as error:
        raise c.BadRequest("", error.message) from None


def json_response(value: Any) -> HttpResponse:
    """A JSON answer, ``null`` included (a 0.2 ``select_language`` may answer it; DRF's ``Response``
    would send an empty body), written compactly as PhariaEngine's serde does."""
    payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return HttpResponse(payload.encode(), content_type="application/json")


# -- server-sent events -------------------------------------------------------------------------


def sse(event: str, data: Any) -> bytes:
    """One event as PhariaEngine (axum) writes it: compact JSON on one ``data:`` line."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def error_event(error: BaseException) -> bytes:
    if isinstance(error, CsiError):
        if isinstance(error, ModelNotFound) and error.detail:
            log.info("CSI shell stream: %s (%s)", error, error.detail)
        return sse("error", {"message": str(error)})
    log.error("CSI shell stream failed", exc_info=error)
    return sse("error", {"message": f"the stream failed: {type(error).__name__}"})


def _events(stream: Iterator[Any], render: Callable[[Any], Iterable[tuple[str, Any]]]) -> Iterator[bytes]:
    """Server-sent events of an open backend stream; a failure mid-stream is an ``error`` event."""
    try:
        for event in stream:
            for name, data in render(event):
                yield sse(name, data)
    except Exception as error:  # noqa: BLE001 - the status line is sent: report in the stream
        yield error_event(error)
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()


def event_stream(
    open_stream: Callable[[], Iterator[Any]], render: Callable[[Any], Iterable[tuple[str, Any]]]
) -> StreamingHttpResponse:
    """200 with the events of ``open_stream()``; ``render`` maps a backend event to zero or more
    ``(event, data)`` pairs. A :class:`CsiError` while opening the stream is the only event."""
    try:
        stream = open_stream()
    except CsiError as error:
        body: Iterator[bytes] = iter([error_event(error)])
    else:
        body = _events(stream, render)
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
