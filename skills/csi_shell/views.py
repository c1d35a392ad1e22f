"""The CSI shell (CONTRACTS.md section 3): ``POST /csi/v1/{function}`` serves the kernel's CSI backends.

The official SDK's ``DevCsi`` talks to it: JSON in, JSON out, server-sent events for the ``*_stream``
functions. Errors are ``{"error": {"kind", "message"}}`` like the rest of the API: 400 for bad input
or a model the backend does not know, 401/403 for credentials, 404 for an unknown function or
namespace or document, 413 for a body over ``CSI_SHELL_MAX_BODY_BYTES``, 429 when the backend rate
limits, 501 when the backend cannot do the function at all (``explain``), 503 when the function's
backend is not configured and 502 when the backend fails (unreachable, timeout, HTTP 5xx).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runtime.csi import Csi
from runtime.csi.openai import RateLimited
from runtime.csi.types import CsiError, CsiNotFound, InvalidCsiRequest, NotConfigured, Unsupported
from skills.csi_shell import conversions as c
from skills.models import NamespaceGrant
from skills.services import access, execution
from skills.services import csi as backends
from skills.services.errors import (
    BackendFailed,
    KernelError,
    NotConfiguredError,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    TooManyRequests,
)

log = logging.getLogger(__name__)


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


def domain_error(error: CsiError) -> KernelError:
    """A CSI error as the HTTP error the shell answers with."""
    message = str(error)
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


def _batch() -> int:
    return settings.CSI_SHELL_MAX_BATCH


def _list(read: Callable[[Any, str], Any]) -> Callable[[Any], list[Any]]:
    return lambda body: c.each(body, "", read, _batch())


def _complete(csi: Csi, body: Any) -> Any:
    return [c.completion(r) for r in csi.complete(_list(c.completion_request)(body))]


def _chat(csi: Csi, body: Any) -> Any:
    return [c.chat_response(r) for r in csi.chat(_list(c.chat_request)(body))]


def _explain(csi: Csi, body: Any) -> Any:
    return [[c.text_score(s) for s in per] for per in csi.explain(_list(c.explanation_request)(body))]


def _chunk(csi: Csi, body: Any) -> Any:
    return [[chunk.text for chunk in per] for per in csi.chunk(_list(c.chunk_request)(body))]


def _chunk_with_offsets(csi: Csi, body: Any) -> Any:
    requests = c.each(body, "", lambda v, p: c.chunk_request(v, p, offsets=True), _batch())
    return [[c.chunk(chunk) for chunk in per] for per in csi.chunk(requests)]


def _select_language(csi: Csi, body: Any) -> Any:
    return csi.select_language(_list(c.select_language_request)(body))


def _search(csi: Csi, body: Any) -> Any:
    return [[c.search_result(r) for r in per] for per in csi.search(_list(c.search_request)(body))]


def _documents(csi: Csi, body: Any) -> Any:
    return [c.document(d) for d in csi.documents(_list(c.document_path)(body))]


def _document_metadata(csi: Csi, body: Any) -> Any:
    return [c.metadata(m) for m in csi.document_metadata(_list(c.document_path)(body))]


FUNCTIONS: dict[str, Callable[[Csi, Any], Any]] = {
    "complete": _complete,
    "chat": _chat,
    "explain": _explain,
    "chunk": _chunk,
    "chunk_with_offsets": _chunk_with_offsets,
    "select_language": _select_language,
    "search": _search,
    "documents": _documents,
    "document_metadata": _document_metadata,
}
STREAMS = ("completion_stream", "chat_stream")
TOOL_FUNCTIONS = ("invoke_tool", "list_tools")
ALL_FUNCTIONS = (*FUNCTIONS, *STREAMS, *TOOL_FUNCTIONS)


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _events(stream: Iterator[Any], convert: Callable[[Any], tuple[str, Any]]) -> Iterator[bytes]:
    """Server-sent events of an open backend stream; a failure mid-stream is an ``error`` event."""
    try:
        for event in stream:
            yield _sse(*convert(event))
    except CsiError as error:
        yield _sse("error", {"message": str(error)})
    except Exception as error:  # noqa: BLE001 - the status line is sent: report in the stream
        log.exception("CSI shell stream failed")
        yield _sse("error", {"message": f"the stream failed: {type(error).__name__}"})
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()


class CsiShellView(APIView):
    """``POST /csi/v1/{function}``: authenticated by the API's bearer tokens."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The SDK sends ``Accept: text/event-stream`` to the stream functions; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    def post(self, request: Request, function: str) -> Any:
        if function not in ALL_FUNCTIONS:
            raise NotFound(
                f"unknown CSI function '{function}'; the CSI shell offers {', '.join(ALL_FUNCTIONS)}"
            )
        body = self._body(request)
        try:
            if function in STREAMS:
                return self._stream(function, body)
            if function in TOOL_FUNCTIONS:
                return Response(self._tools(request, function, body))
            return Response(FUNCTIONS[function](kernel_csi(), body))
        except CsiError as error:
            raise domain_error(error) from error

    def _body(self, request: Request) -> Any:
        limit = settings.CSI_SHELL_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge(
                f"the request body has {length} bytes; the CSI shell accepts at most {limit}"
            )
        try:
            raw = request.body
        except RequestDataTooBig as error:
            raise PayloadTooLarge(f"the request body is too large: {error}") from error
        if len(raw) > limit:
            raise PayloadTooLarge(
                f"the request body has {len(raw)} bytes; the CSI shell accepts at most {limit}"
            )
        if not raw.strip():
            raise c.BadRequest("", "the request body is empty; expected JSON")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as error:
            raise c.BadRequest("", f"the request body is not valid JSON: {error}") from error

    def _stream(self, function: str, body: Any) -> StreamingHttpResponse:
        csi = kernel_csi()
        if function == "completion_stream":
            stream = csi.completion_stream(c.completion_request(body, ""))
            convert: Callable[[Any], tuple[str, Any]] = c.completion_event
        else:
            stream = csi.chat_stream(c.chat_request(body, ""))
            convert = c.chat_event
        response = StreamingHttpResponse(_events(stream, convert), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

    def _tools(self, request: Request, function: str, body: Any) -> Any:
        o = c.obj(body, "")
        name = c.string(o, "namespace", "")
        namespace = access.namespace_for(request.user, name, NamespaceGrant.INVOKE)
        csi = execution.csi_for(namespace)
        if function == "list_tools":
            return [c.tool(tool) for tool in csi.list_tools()]
        if "requests" not in o:
            raise c.BadRequest("requests", "this field is required")
        requests = c.each(o["requests"], "requests", c.invoke_request, _batch())
        return [c.tool_result(result) for result in csi.invoke_tool(requests)]


csi_shell = CsiShellView.as_view()
