"""Catalogue pages of datasets and evaluations. Thin: services do the work, templates the rest."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from skills.evaluations import charts, datasets, promotion, results, runner
from skills.evaluations.forms import DatasetUploadForm, EvaluationForm
from skills.models import NamespaceGrant
from skills.services import access
from skills.services.errors import KernelError, NotFound

ROWS_PER_PAGE = 50


def _or_404(function, *args):
    try:
        return function(*args)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def index(request):
    """Every evaluation and dataset the user may see."""
    return render(
        request,
        "evaluations/index.html",
        {
            "evaluations": runner.evaluations_for(request.user)[:100],
            "datasets": datasets.datasets_for(request.user)[:100],
        },
    )


@login_required
def skill_datasets(request, namespace: str, name: str):
    """The skill's datasets and evaluations, and the upload form (errors listed per line)."""
    skill = _or_404(datasets.skill_for, request.user, namespace, name)
    can_invoke = access.can(request.user, skill.namespace, NamespaceGrant.INVOKE)
    form = DatasetUploadForm(request.POST or None, request.FILES or None)
    line_errors, upload_error = [], ""
    if request.method == "POST" and can_invoke and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            dataset = datasets.create_dataset(
                request.user,
                namespace,
                name,
                form.cleaned_data["name"],
                upload.read(settings.EVALUATION_MAX_UPLOAD_BYTES + 1),
                fmt=datasets.format_of(upload.name, upload.content_type or ""),
                description=form.cleaned_data["description"],
                replace=form.cleaned_data["replace"],
            )
        except datasets.DatasetRejected as error:
            line_errors, upload_error = error.errors[: datasets.MAX_REPORTED], error.message
        except KernelError as error:
            upload_error = error.message
        else:
            messages.success(
                request, f"Dataset {dataset.name} stored with {dataset.examples.count()} examples."
            )
            return redirect("evaluations-dataset", dataset_id=dataset.pk)
    return render(
        request,
        "evaluations/skill_datasets.html",
        {
            "skill": skill,
            "datasets": datasets.datasets_for(request.user, skill),
            "evaluations": runner.evaluations_for(request.user, skill)[:50],
            "form": form,
            "can_invoke": can_invoke,
            "line_errors": line_errors,
            "more_errors": max(0, len(line_errors) - datasets.MAX_REPORTED),
            "upload_error": upload_error,
            "schema_version": datasets.schema_version(skill),
        },
        status=400 if upload_error else 200,
    )


@login_required
def dataset_detail(request, dataset_id: int):
    dataset = _or_404(datasets.dataset_for, request.user, dataset_id)
    return render(
        request,
        "evaluations/dataset.html",
        {
            "dataset": dataset,
            "skill": dataset.skill,
            "examples": dataset.examples.all()[:200],
            "evaluations": dataset.evaluations.select_related("created_by")[:50],
            "can_invoke": access.can(request.user, dataset.skill.namespace, NamespaceGrant.INVOKE),
        },
    )


@login_required
def new_evaluation(request, namespace: str, name: str):
    skill = _or_404(datasets.skill_for, request.user, namespace, name)
    if not access.can(request.user, skill.namespace, NamespaceGrant.INVOKE):
        raise Http404("you may not evaluate this skill")
    initial = {"dataset": request.GET.get("dataset")}
    form = EvaluationForm(
        skill, request.POST or None, initial=initial, max_concurrency=settings.EVALUATION_MAX_CONCURRENCY
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = runner.create_evaluation(
                request.user,
                form.cleaned_data["dataset"],
                [v.pk for v in form.cleaned_data["versions"]],
                form.evaluator_configs(),
                concurrency=form.cleaned_data["concurrency"],
            )
        except KernelError as failure:
            error = failure.message
        else:
            return redirect("evaluations-detail", evaluation_id=evaluation.pk)
    return render(request, "evaluations/new.html", {"skill": skill, "form": form, "error": error})


@login_required
def evaluation_detail(request, evaluation_id: int):
    evaluation = _or_404(runner.evaluation_for, request.user, evaluation_id)
    versions = results.versions_of(evaluation)
    names = {v.pk: f"v{index} {v.digest[:8]}" for index, v in enumerate(versions, start=1)}
    for version in versions:
        version.short_name = names[version.pk]
    aggregates = results.aggregates(evaluation)
    page = max(0, int(request.GET.get("page", "1") or 1) - 1) if request.GET.get("page", "1").isdigit() else 0
    only_differences = request.GET.get("differences") == "1"
    rows = results.table(
        evaluation, offset=page * ROWS_PER_PAGE, limit=ROWS_PER_PAGE, only_differences=only_differences
    )
    examples = evaluation.dataset.examples.count()
    return render(
        request,
        "evaluations/evaluation.html",
        {
            "evaluation": evaluation,
            "skill": evaluation.skill,
            "versions": versions,
            "progress": runner.progress(evaluation),
            "aggregate_rows": _aggregate_rows(aggregates, versions),
            "pass_chart": charts.pass_rates(aggregates, names),
            "mean_chart": charts.means(aggregates, names),
            "rows": rows,
            "page": page + 1,
            "has_next": (page + 1) * ROWS_PER_PAGE < examples,
            "only_differences": only_differences,
            "promotions": results.promotions(evaluation),
            "can_invoke": access.can(request.user, evaluation.skill.namespace, NamespaceGrant.INVOKE),
            "can_deploy": access.can(request.user, evaluation.skill.namespace, NamespaceGrant.DEPLOY),
        },
    )


def _aggregate_rows(aggregates, versions):
    """(label, [aggregate per version]) in evaluator order, for the scores table."""
    order = {v.pk: i for i, v in enumerate(versions)}
    rows: dict[str, tuple[str, list]] = {}
    for aggregate in aggregates:
        rows.setdefault(aggregate.key, (aggregate.label, [None] * len(versions)))[1][
            order[aggregate.version_id]
        ] = aggregate
    return list(rows.values())


@login_required
def evaluation_progress(request, evaluation_id: int):
    """What the page polls: counts and status."""
    evaluation = _or_404(runner.evaluation_for, request.user, evaluation_id)
    return JsonResponse(runner.progress(evaluation))


@login_required
@require_POST
def cancel(request, evaluation_id: int):
    try:
        runner.cancel_evaluation(request.user, evaluation_id)
        messages.success(request, "The evaluation was cancelled.")
    except NotFound as error:
        raise Http404(error.message) from None
    except KernelError as error:
        messages.error(request, error.message)
    return redirect("evaluations-detail", evaluation_id=evaluation_id)


@login_required
@require_POST
def promote(request, evaluation_id: int):
    evaluation = _or_404(runner.evaluation_for, request.user, evaluation_id)
    try:
        done = promotion.promote(
            request.user,
            evaluation,
            int(request.POST.get("version") or 0),
            request.POST.get("tag") or "latest",
        )
        messages.success(request, f"Tag {done.tag} now points at {done.version.digest[:12]}.")
    except (KernelError, ValueError) as error:
        messages.error(request, getattr(error, "message", str(error)))
    return redirect(reverse("evaluations-detail", args=[evaluation_id]) + "#promote")


@login_required
def export(request, evaluation_id: int, fmt: str):
    if fmt not in ("csv", "json"):
        raise Http404("export as csv or json")
    evaluation = _or_404(runner.evaluation_for, request.user, evaluation_id)
    if fmt == "csv":
        response = HttpResponse(results.export_csv(evaluation), content_type="text/csv; charset=utf-8")
    else:
        response = JsonResponse(results.export_json(evaluation), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="evaluation-{evaluation.pk}.{fmt}"'
    return response
