from django.urls import path

from skills.evaluations import api, views

urlpatterns = [
    # REST API
    path("api/v1/skills/<str:namespace>/<str:name>/datasets", api.skill_datasets, name="api-datasets"),
    path("api/v1/datasets/<int:dataset_id>", api.dataset_detail, name="api-dataset"),
    path("api/v1/evaluations", api.evaluations, name="api-evaluations"),
    path("api/v1/evaluations/<int:evaluation_id>", api.evaluation_detail, name="api-evaluation"),
    path(
        "api/v1/evaluations/<int:evaluation_id>/results",
        api.evaluation_results,
        name="api-evaluation-results",
    ),
    path(
        "api/v1/evaluations/<int:evaluation_id>/cancel", api.cancel_evaluation, name="api-evaluation-cancel"
    ),
    path("api/v1/evaluations/<int:evaluation_id>/promote", api.promote, name="api-evaluation-promote"),
    # catalogue pages
    path("evaluations/", views.index, name="evaluations-index"),
    path("evaluations/<int:evaluation_id>/", views.evaluation_detail, name="evaluations-detail"),
    path("evaluations/<int:evaluation_id>/progress", views.evaluation_progress, name="evaluations-progress"),
    path("evaluations/<int:evaluation_id>/cancel", views.cancel, name="evaluations-cancel"),
    path("evaluations/<int:evaluation_id>/promote", views.promote, name="evaluations-promote"),
    path("evaluations/<int:evaluation_id>/export.<str:fmt>", views.export, name="evaluations-export"),
    path("datasets/<int:dataset_id>/", views.dataset_detail, name="evaluations-dataset"),
    path("skills/<str:namespace>/<str:name>/datasets/", views.skill_datasets, name="evaluations-skill"),
    path("skills/<str:namespace>/<str:name>/evaluations/new", views.new_evaluation, name="evaluations-new"),
]
