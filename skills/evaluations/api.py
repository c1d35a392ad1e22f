"""REST API of datasets and evaluations (bearer token, namespace roles, the API's JSON errors).

``POST /api/v1/skills/{ns}/{skill}/datasets?name=...`` takes the JSONL or CSV file as the body
(``Content-Type: text/csv`` or ``?type=csv`` for CSV); a wrong line answers 400 with every
line's error in ``error.errors``.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes
from rest_framework.request import Request
from rest_framework.response import Response

from skills.api.parsers import JSONParser
from skills.evaluations import datasets, promotion, results, runner
from skills.evaluations.models import Dataset
from skills.services import registry
from skills.services.errors import InvalidInput


def dataset_json(dataset: Dataset, request: Request) -> dict:
    count = getattr(dataset, "example_count", None)
    return {
        "id": dataset.pk,
        "skill": dataset.skill.qualified_name,
        "name": dataset.name,
        "description": dataset.description,
        "examples": count if count is not None else dataset.examples.count(),
        "created_by": dataset.created_by.username if dataset.created_by else None,
        "created_at": dataset.created_at.isoformat(),
        "url": request.build_absolute_uri(f"/api/v1/datasets/{dataset.pk}"),
    }


@api_view(["GET", "POST"])
def skill_datasets(request: Request, namespace: str, name: str) -> Response:
    """List the skill's datasets, or upload one (the body is the file)."""
    if request.method == "GET":
        skill = datasets.skill_for(request.user, namespace, name)
        return Response([dataset_json(d, request) for d in datasets.datasets_for(request.user, skill)])
    dataset_name = request.query_params.get("name", "")
    if not dataset_name:
        raise InvalidInput("name the dataset: ?name=...")
    fmt = datasets.format_of(
        content_type=request.content_type or "", declared=request.query_params.get("type", "")
    )
    dataset = datasets.create_dataset(
        request.user,
        namespace,
        name,
        dataset_name,
        request.body,
        fmt=fmt,
        description=request.query_params.get("description", ""),
        replace=request.query_params.get("replace", "") in ("1", "true", "yes"),
    )
    return Response(dataset_json(dataset, request), status=201)


@api_view(["GET"])
def dataset_detail(request: Request, dataset_id: int) -> Response:
    dataset = datasets.dataset_for(request.user, dataset_id)
    body = dataset_json(dataset, request)
    body["examples_list"] = list(dataset.examples.values("position", "input", "expected", "metadata")[:1000])
    return Response(body)


class CreateEvaluationSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    versions = serializers.ListField(
        child=serializers.CharField(max_length=71), min_length=1, help_text="tags or digest prefixes"
    )
    evaluators = serializers.ListField(child=serializers.JSONField(), min_length=1)
    concurrency = serializers.IntegerField(required=False, default=4)


def evaluation_json(evaluation, request: Request) -> dict:
    return {
        **results.summary(evaluation),
        "progress": runner.progress(evaluation),
        "url": request.build_absolute_uri(f"/api/v1/evaluations/{evaluation.pk}"),
        "results_url": request.build_absolute_uri(f"/api/v1/evaluations/{evaluation.pk}/results"),
    }


@api_view(["GET", "POST"])
@parser_classes([JSONParser])
def evaluations(request: Request) -> Response:
    """List the evaluations the caller may see, or create one (it starts at once)."""
    if request.method == "GET":
        found = runner.evaluations_for(request.user)[:100]
        return Response([evaluation_json(e, request) for e in found])
    data = CreateEvaluationSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    dataset = datasets.dataset_for(request.user, data.validated_data["dataset"])
    version_ids = [
        registry.resolve(dataset.skill.namespace, dataset.skill.name, reference)[1].pk
        for reference in data.validated_data["versions"]
    ]
    evaluation = runner.create_evaluation(
        request.user,
        dataset,
        version_ids,
        data.validated_data["evaluators"],
        concurrency=data.validated_data["concurrency"],
    )
    return Response(evaluation_json(evaluation, request), status=201)


@api_view(["GET"])
def evaluation_detail(request: Request, evaluation_id: int) -> Response:
    return Response(evaluation_json(runner.evaluation_for(request.user, evaluation_id), request))


@api_view(["GET"])
def evaluation_results(request: Request, evaluation_id: int):
    """Aggregates and every result as JSON, or ``?type=csv`` for one row per example and version."""
    evaluation = runner.evaluation_for(request.user, evaluation_id)
    if request.query_params.get("type") == "csv":
        response = HttpResponse(results.export_csv(evaluation), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="evaluation-{evaluation.pk}.csv"'
        return response
    return Response(results.export_json(evaluation))


@api_view(["POST"])
def cancel_evaluation(request: Request, evaluation_id: int) -> Response:
    return Response(evaluation_json(runner.cancel_evaluation(request.user, evaluation_id), request))


class PromoteSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=71, help_text="a digest prefix of an evaluated version")
    tag = serializers.CharField(max_length=63, required=False, default=registry.DEFAULT_TAG)


@api_view(["POST"])
@parser_classes([JSONParser])
def promote(request: Request, evaluation_id: int) -> Response:
    """Move a tag to an evaluated version (deploy role), recorded with this evaluation."""
    evaluation = runner.evaluation_for(request.user, evaluation_id)
    data = PromoteSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    prefix = data.validated_data["version"].removeprefix("sha256:")
    version = evaluation.versions.filter(digest__startswith=prefix).first() if len(prefix) >= 12 else None
    if version is None:
        raise InvalidInput("version must be a digest prefix (12+ characters) of an evaluated version")
    done = promotion.promote(request.user, evaluation, version.pk, data.validated_data["tag"])
    return Response(
        {
            "skill": done.skill.qualified_name,
            "tag": done.tag,
            "version": done.version.digest,
            "previous_version": done.previous_version.digest if done.previous_version else None,
            "evaluation": evaluation.pk,
            "promoted_by": request.user.username,
            "promoted_at": done.promoted_at.isoformat(),
        },
        status=201,
    )
