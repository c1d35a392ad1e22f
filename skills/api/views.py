"""The invocation API of CONTRACTS.md section 2. Views parse, call one service, render."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from runtime import ErrorKind
from skills import selectors
from skills.api.exceptions import error_body
from skills.api.openapi import openapi_document
from skills.api.serializers import MetadataSerializer, RunSerializer
from skills.models import Run, Skill
from skills.services import invocation, registry, streaming, validation
from skills.services.errors import KernelError

# Skill errors that are the caller's or the skill's doing answer 400; limits and traps 500-range.
_STATUS_FOR_ERROR = {
    ErrorKind.INVALID_INPUT.value: 400,
    ErrorKind.INTERNAL.value: 400,
    ErrorKind.CSI_ERROR.value: 502,
    ErrorKind.TRAP.value: 500,
    ErrorKind.TIMEOUT.value: 504,
    ErrorKind.MEMORY_EXHAUSTED.value: 500,
    ErrorKind.WORKER_LOST.value: 500,
    ErrorKind.OUTPUT_TOO_LARGE.value: 500,
    ErrorKind.UNAVAILABLE.value: 503,
    ErrorKind.CANCELLED.value: 409,
}


def _tag(request: Request) -> str:
    return request.query_params.get("tag") or registry.DEFAULT_TAG


def _run_response(run: Run, request: Request) -> Response:
    headers = {"X-Run-Id": str(run.id)}
    if run.status == Run.SUCCEEDED:
        return Response(json.loads(run.output) if run.output else None, headers=headers)
    if run.status in (Run.FAILED, Run.CANCELLED):
        status = _STATUS_FOR_ERROR.get(run.error_kind, 500)
        message = validation.trim_message(run.error_message)  # a traceback's last meaningful line
        body = {"error": {"kind": run.error_kind or run.status, "message": message, "run_id": str(run.id)}}
        if message != run.error_message:
            body["error"]["detail"] = run.error_message  # the skill's full text
        return Response(body, status=status, headers=headers)
    return Response(RunSerializer(run, context={"request": request}).data, status=202, headers=headers)


@api_view(["POST"])
def run_skill(request: Request, namespace: str, name: str) -> Response:
    submission = invocation.submit_run(
        request.user,
        namespace,
        name,
        request.body,
        tag=_tag(request),
        idempotency_key=request.headers.get("Idempotency-Key", ""),
    )
    submission.wait(settings.SKILL_SYNC_WAIT_SECONDS)
    return _run_response(submission.run, request)


@api_view(["POST"])
def message_stream(request: Request, namespace: str, name: str) -> StreamingHttpResponse:
    events = streaming.stream_run(request.user, namespace, name, request.body, tag=_tag(request))
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@api_view(["GET"])
def list_skills(request: Request) -> Response:
    skill_type = request.query_params.get("type")
    if skill_type is not None and skill_type not in (Skill.CHAT, Skill.PROGRAMMABLE):
        raise KernelError(f"type must be '{Skill.CHAT}' or '{Skill.PROGRAMMABLE}', not '{skill_type}'")
    return Response([skill.qualified_name for skill in selectors.invocable_skills(request.user, skill_type)])


@api_view(["GET"])
def skill_metadata(request: Request, namespace: str, name: str) -> Response:
    version = selectors.version_for(request.user, namespace, name, _tag(request))
    return Response(MetadataSerializer(version).data)


@api_view(["GET"])
def run_detail(request: Request, run_id) -> Response:
    run = selectors.run_for(request.user, run_id)
    return Response(RunSerializer(run, context={"request": request}).data)


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def openapi(request: Request) -> JsonResponse:
    return JsonResponse(openapi_document(request.build_absolute_uri("/").rstrip("/")))


@csrf_exempt
def health(request) -> HttpResponse:
    """``ok`` to GET and HEAD, unauthenticated; a load balancer's probe needs no more."""
    if request.method not in ("GET", "HEAD"):
        message = f"method {request.method} not allowed; GET /health"
        response = JsonResponse(error_body("method_not_allowed", message), status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse("ok", content_type="text/plain")
