from django.urls import path

from skills.api import runs, sources, tools, views

urlpatterns = [
    path("v1/skills", views.list_skills, name="api-skills"),
    path("v1/skills/<str:namespace>/<str:name>/run", views.run_skill, name="api-run"),
    path("v1/skills/<str:namespace>/<str:name>/message-stream", views.message_stream, name="api-stream"),
    path("v1/skills/<str:namespace>/<str:name>/metadata", views.skill_metadata, name="api-metadata"),
    path("v1/tools/<str:namespace>", tools.list_tools, name="api-tools"),
    path("v1/mcp_servers/<str:namespace>", tools.list_mcp_servers, name="api-mcp-servers"),
    path("v1/namespaces/<str:namespace>/sync", sources.sync_namespace, name="api-namespace-sync"),
    path("api/v1/runs/<uuid:run_id>", views.run_detail, name="api-run-detail"),
    path("api/v1/runs", runs.submit, name="api-run-submit"),
    path("api/v1/runs/<uuid:run_id>/cancel", runs.cancel, name="api-run-cancel"),
    path("api/v1/runs/<uuid:run_id>/stream", runs.stream, name="api-run-stream"),
    path("openapi.json", views.openapi, name="openapi"),
    path("health", views.health, name="health"),
]
