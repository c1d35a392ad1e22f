"""Server-rendered pages: browse and search skills, read schemas, try a skill, look back at runs.

Views are thin: reads go through ``skills.selectors``, invocations through the same services
as the API (``skills.services.invocation`` and ``skills.services.streaming``).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalogue import charts, schema
from catalogue.forms import RunFilterForm
from skills import selectors, telemetry
from skills.models import NamespaceGrant, Run, Skill
from skills.services import access, invocation, streaming, validation
from skills.services.errors import KernelError, NotFound, PayloadTooLarge

ERROR_EXPLANATIONS = {
    "invalid_input": "The skill rejected the input; its message says why.",
    "internal": "The skill raised an error while running. The message comes from the skill itself.",
    "csi_error": "A call from the skill to the kernel (inference, documents, tools...) failed.",
    "trap": "The component crashed (a bug in the skill or its toolchain).",
    "timeout": "The run took longer than its time limit and was stopped.",
    "memory_exhausted": "The run used more memory than its limit allows.",
    "output_too_large": "The skill's output (or its stream) was larger than this kernel's limit.",
    "worker_lost": "The worker executing the run disappeared; try again.",
    "cancelled": "The run was cancelled.",
    "unavailable": "The kernel is at capacity; try again in a moment.",
    "not_found": "The skill or its tag does not exist (or you may not see it).",
    "forbidden": "You may view this skill but not invoke it; ask for the invoke role in its namespace.",
    "payload_too_large": "The input is larger than this kernel accepts.",
}


def _skill_or_404(user, namespace: str, name: str) -> Skill:
    try:
        return selectors.skill_for(user, namespace, name)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def index(request):
    query = request.GET.get("q", "").strip()
    namespace = request.GET.get("namespace", "")
    skill_type = request.GET.get("type", "")
    skills = selectors.catalogue_skills(request.user, query=query, namespace=namespace, skill_type=skill_type)
    namespaces = access.namespaces_for(request.user, NamespaceGrant.VIEW)
    return render(
        request,
        "catalogue/index.html",
        {
            "skills": skills,
            "namespaces": namespaces,
            "query": query,
            "namespace": namespace,
            "skill_type": skill_type,
            "filtered": bool(query or namespace or skill_type),
            "chart": charts.runs_per_hour(selectors.runs_per_hour(request.user)),
        },
    )


@login_required
def skill_detail(request, namespace: str, name: str):
    skill = _skill_or_404(request.user, namespace, name)
    versions = selectors.versions_of(skill)
    tagged = {tag: version for version in versions for tag in version.tag_names}
    latest = tagged.get("latest") or next(iter(tagged.values()), None)
    example = schema.example(latest.input_schema) if latest else None
    example_json = json.dumps(example, indent=2, ensure_ascii=False) if example is not None else "{}"
    base_url = request.build_absolute_uri("/").rstrip("/")
    is_stream = latest is not None and latest.skill_type == Skill.CHAT
    endpoint = "message-stream" if is_stream else "run"
    stats = selectors.latency_by_skill([skill.pk], timezone.now() - timedelta(hours=24)).get(skill.pk)
    return render(
        request,
        "catalogue/skill.html",
        {
            "skill": skill,
            "latest": latest,
            "versions": versions,
            "is_stream": is_stream,
            "input_rows": schema.rows(latest.input_schema) if latest else [],
            "output_rows": schema.rows(latest.output_schema) if latest else [],
            "form_root": schema.form_fields(latest.input_schema) if latest else None,
            "example_json": example_json,
            "example_compact": json.dumps(example, ensure_ascii=False) if example is not None else "{}",
            "base_url": base_url,
            "endpoint": endpoint,
            "can_invoke": access.can(request.user, skill.namespace, NamespaceGrant.INVOKE),
            "stats": stats,
            "recent_runs": selectors.runs_for(
                request.user, selectors.RunFilters(skill=skill.qualified_name), limit=5
            ).runs,
            "chart": charts.runs_per_hour(selectors.runs_per_hour(request.user, skill=skill)),
        },
    )


REJECTED_EXPLANATION = "The input does not match the skill's input schema (above); no run was started."


def _error_json(
    kind: str, message: str, status: int, run: Run | None = None, extra: dict | None = None
) -> JsonResponse:
    """The try-it error: like the API's, with an explanation; a skill's own message is trimmed to
    its meaningful line, the full text in ``detail``; rejected input lists its field ``errors``."""
    summary = validation.trim_message(message)
    error = {"kind": kind, "message": summary, "explanation": ERROR_EXPLANATIONS.get(kind, "")}
    if summary != message:
        error["detail"] = message
    if extra:
        error |= extra
        error["explanation"] = REJECTED_EXPLANATION
    body = {"status": "failed", "error": error}
    if run is not None:
        body |= {"run_id": str(run.id), "run_url": reverse("catalogue-run", args=[run.id])}
    return JsonResponse(body, status=status)


def _body(request) -> bytes:
    """The try-it input as the API reads it (``invocation.parse_input``): a body over Django's
    upload limit is the API's 413, not Django's HTML 400 page."""
    try:
        return request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(
            f"the input is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; this kernel accepts "
            f"at most {settings.SKILL_MAX_INPUT_BYTES}"
        ) from None


@login_required
@require_POST
def try_run(request, namespace: str, name: str):
    """Invoke a programmable skill for the logged-in user; answers JSON for the page's script."""
    try:
        submission = invocation.submit_run(request.user, namespace, name, _body(request))
    except KernelError as error:
        return _error_json(error.kind, error.message, error.status, extra=getattr(error, "extra", None))
    finished = submission.wait(settings.SKILL_SYNC_WAIT_SECONDS)
    run = submission.run
    if not finished:
        return JsonResponse(
            {"status": run.status, "run_id": str(run.id), "run_url": reverse("catalogue-run", args=[run.id])},
            status=202,
        )
    if run.status != Run.SUCCEEDED:
        return _error_json(run.error_kind or run.status, run.error_message, 200, run)
    return JsonResponse(
        {
            "status": run.status,
            "output": json.loads(run.output) if run.output else None,
            "duration_ms": run.duration_ms,
            "run_id": str(run.id),
            "run_url": reverse("catalogue-run", args=[run.id]),
        }
    )


@login_required
@require_POST
def try_stream(request, namespace: str, name: str):
    """The message-stream route of the API, authenticated by the session (for the page's script)."""
    try:
        events = streaming.stream_run(request.user, namespace, name, _body(request))
    except KernelError as error:
        failure = {"message": error.message, "kind": error.kind} | getattr(error, "extra", {})
        events = iter([streaming.sse("error", failure)])
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
def run_list(request):
    form = RunFilterForm(request.user, request.GET or None)
    filters = form.filters() if form.is_valid() else selectors.RunFilters()
    page = selectors.runs_for(
        request.user, filters, cursor=request.GET.get("cursor", ""), limit=settings.CATALOGUE_RUNS_PER_PAGE
    )
    params = request.GET.copy()
    params.pop("cursor", None)
    next_query = None
    if page.next_cursor:
        params["cursor"] = page.next_cursor
        next_query = params.urlencode()
    return render(
        request,
        "catalogue/runs.html",
        {
            "form": form,
            "runs": page.runs,
            "next_query": next_query,
            "first_query": _without(request, "cursor"),
            "paged": bool(request.GET.get("cursor")),
            "filtered": any(v for k, v in request.GET.items() if k != "cursor"),
        },
    )


def _without(request, key: str) -> str:
    params = request.GET.copy()
    params.pop(key, None)
    return params.urlencode()


def _waterfall(run: Run, spans: list) -> list[dict]:
    """Each span with its readable name, depth, start (ms into the trace), and left offset and
    width as percentages of the whole trace; its attributes are formatted by the template."""
    if not spans:
        return []
    start = min(s.start_time for s in spans)
    end = max(s.end_time for s in spans)
    total = max((end - start).total_seconds(), 1e-6)
    by_id = {s.span_id: s for s in spans}

    def depth(span, limit=20):
        level = 0
        while span.parent_span_id in by_id and level < limit:
            span = by_id[span.parent_span_id]
            level += 1
        return level

    rows = []
    for span in spans:
        offset = (span.start_time - start).total_seconds() / total * 100
        width = max((span.end_time - span.start_time).total_seconds() / total * 100, 0.4)
        rows.append(
            {
                "span": span,
                "name": telemetry.readable_span_name(span.name),  # spans stored before the renaming
                "depth": depth(span),
                "offset": round(min(offset, 99.6), 2),
                "width": round(min(width, 100 - min(offset, 99.6)), 2),
                "start_ms": (span.start_time - start).total_seconds() * 1000,
                "attributes": span.attributes if isinstance(span.attributes, dict) else {},
                "failed": span.status == "error",
            }
        )
    return rows


@login_required
def run_detail(request, run_id):
    try:
        run = selectors.run_for(request.user, run_id)
    except NotFound as error:
        raise Http404(error.message) from None
    spans = selectors.spans_of(run)
    return render(
        request,
        "catalogue/run.html",
        {
            "run": run,
            "input_pretty": _pretty(run.input),
            "output_pretty": _pretty(run.output),
            "message": "".join(i.get("text", "") for i in run.items if i.get("type") == "append"),
            "payload": next((i.get("payload") for i in run.items if i.get("type") == "end"), None),
            **_run_error(run),
            "waterfall": _waterfall(run, spans),
            "queue_ms": _ms(run.queued_at, run.started_at),
            "total_ms": _ms(run.queued_at, run.finished_at),
        },
    )


def _run_error(run: Run) -> dict:
    """The run page's error block: the skill's message trimmed to its meaningful line (the full
    text behind a toggle), and for rejected input the schema of the version that ran."""
    summary = validation.trim_message(run.error_message)
    context = {
        "error_summary": summary,
        "error_detail": run.error_message if summary != run.error_message else "",
        "explanation": ERROR_EXPLANATIONS.get(run.error_kind, ""),
        "error_schema_rows": [],
    }
    if run.error_kind == "invalid_input":
        if run.version.input_schema:
            context["explanation"] = (
                "The skill rejected the input. Compare it with this version's input schema below."
            )
            context["error_schema_rows"] = schema.rows(run.version.input_schema)
        else:
            context["explanation"] = (
                "The skill rejected the input. This version declares no input schema; "
                "the message is all it says."
            )
    return context


def _ms(start, end) -> float | None:
    return (end - start).total_seconds() * 1000 if start and end else None


def _pretty(text: str) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@login_required
def activity(request):
    skills = selectors.catalogue_skills(request.user)
    return render(
        request,
        "catalogue/activity.html",
        {
            "runs_chart": charts.runs_per_hour(selectors.runs_per_hour(request.user)),
            "latency_chart": charts.latency_bars(skills),
            "skills": [s for s in skills if s.runs_24h],
        },
    )
