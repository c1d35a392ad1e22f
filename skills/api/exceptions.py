"""Every API error is ``{"error": {"kind": ..., "message": ...}}`` with the right status.

``handler`` is DRF's exception handler; ``not_found``, ``bad_request``, ``forbidden`` and
``server_error`` are Django's ``handler404/400/403/500`` (``kernel_site/urls.py``), which answer the
same JSON under the API's paths (``/v1``, ``/api``, ``/csi``, ``/health``, ``/openapi.json``) and
Django's pages elsewhere.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from skills.services.errors import KernelError

_KINDS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}
_API_PATH = re.compile(r"^/(?:v1|api|csi)(?:/|$)|^/(?:health|openapi\.json)$")


def error_body(kind: str, message: str) -> dict:
    return {"error": {"kind": kind, "message": message}}


def too_large_message() -> str:
    return f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes"


def handler(exc, context):
    if isinstance(exc, KernelError):
        body = error_body(exc.kind, exc.message)
        body["error"] |= getattr(exc, "extra", {})  # e.g. the field errors of rejected input
        response = Response(body, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, read by request.body
        return Response(error_body("payload_too_large", too_large_message()), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", str(exc) or "bad request"), status=400)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    message = detail if isinstance(detail, str) else _flatten(detail)
    kind = _KINDS.get(response.status_code, "bad_request")
    response.data = error_body(kind, str(message))
    return response


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(item) for item in detail)
    return str(detail)


def is_api_path(request: HttpRequest) -> bool:
    return bool(_API_PATH.match(request.path_info))


def not_found(request: HttpRequest, exception: Exception | None = None):
    if not is_api_path(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body("not_found", f"no API route matches {request.path_info}"), status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None):
    if not is_api_path(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body("payload_too_large", too_large_message()), status=413)
    return JsonResponse(error_body("bad_request", "the request is malformed"), status=400)


def forbidden(request: HttpRequest, exception: Exception | None = None):
    if not is_api_path(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(error_body("forbidden", str(exception or "") or "forbidden"), status=403)


def server_error(request: HttpRequest):
    if not is_api_path(request):
        return defaults.server_error(request)
    return JsonResponse(
        error_body("server_error", "the kernel failed to answer; its log says why"), status=500
    )
