"""Asynchronous runs: submit, cancel, and read the stored stream of a run.

``POST /api/v1/runs`` answers 202 at once; ``GET /api/v1/runs/{id}`` (in views.py) tells the rest.
"""

from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes
from rest_framework.request import Request
from rest_framework.response import Response

from skills import selectors
from skills.api.parsers import JSONParser
from skills.api.serializers import RunSerializer
from skills.models import Run
from skills.services import cancellation, invocation, registry, streaming


class SubmitRunSerializer(serializers.Serializer):
    namespace = serializers.CharField(max_length=63)
    skill = serializers.CharField(max_length=63)
    tag = serializers.CharField(max_length=63, required=False, default=registry.DEFAULT_TAG)
    input = serializers.JSONField(required=False, default=None, allow_null=True)


@api_view(["POST"])
@parser_classes([JSONParser])
def submit(request: Request) -> Response:
    """Queue a run and answer 202 with its id and URL; poll the URL for status and output."""
    data = SubmitRunSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    body = json.dumps(data.validated_data["input"]).encode()
    submission = invocation.submit_run(
        request.user,
        data.validated_data["namespace"],
        data.validated_data["skill"],
        body,
        tag=data.validated_data["tag"],
        mode=Run.ASYNC,
        idempotency_key=request.headers.get("Idempotency-Key", ""),
    )
    submission.detach()
    run = submission.run
    output = RunSerializer(run, context={"request": request}).data
    return Response(output, status=202, headers={"Location": output["url"], "X-Run-Id": str(run.id)})


@api_view(["POST"])
def cancel(request: Request, run_id) -> Response:
    """Cancel a queued or running run: 200 with the cancelled run, 409 if it had already ended."""
    run = cancellation.cancel_run(request.user, run_id)
    return Response(RunSerializer(run, context={"request": request}).data)


@api_view(["GET"])
def stream(request: Request, run_id) -> StreamingHttpResponse:
    """The stored items of a run as server-sent events (waits for a run still going)."""
    run = selectors.run_for(request.user, run_id)
    response = StreamingHttpResponse(streaming.replay(run), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response
