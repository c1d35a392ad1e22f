from django.urls import path

from skills.documents import api, views

_COLLECTION = "v1/collections/<str:namespace>/<str:collection>"

urlpatterns = [
    path("v1/collections", api.list_collections, name="api-collections"),
    path("v1/collections/<str:namespace>", api.list_collections, name="api-namespace-collections"),
    path(_COLLECTION, api.collection, name="api-collection"),
    path(f"{_COLLECTION}/docs", api.list_documents, name="api-documents"),
    path(f"{_COLLECTION}/docs/<path:name>", api.document, name="api-document"),
    path(f"{_COLLECTION}/indexes", api.list_indexes, name="api-indexes"),
    path(f"{_COLLECTION}/indexes/<str:index>", api.put_index, name="api-index"),
    path(f"{_COLLECTION}/indexes/<str:index>/search", api.search, name="api-search"),
    path("documents/", views.collections, name="documents-collections"),
    path("documents/<str:namespace>/<str:collection>/", views.collection, name="documents-collection"),
    path(
        "documents/<str:namespace>/<str:collection>/docs/<path:name>",
        views.document,
        name="documents-document",
    ),
]
