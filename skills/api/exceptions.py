"""Every API error is ``{"error": {"kind": ..., "message": ...}}`` with the right status."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from skills.services.errors import KernelError

_KINDS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_body(kind: str, message: str) -> dict:
    return {"error": {"kind": kind, "message": message}}


def handler(exc, context):
    if isinstance(exc, KernelError):
        response = Response(error_body(exc.kind, exc.message), status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
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
