"""The REST API of the built-in document index, in the Pharia DocumentIndex's shapes under ``/v1``.

* ``GET /v1/collections`` (every collection you may view), ``GET /v1/collections/{namespace}``
* ``PUT | GET | DELETE /v1/collections/{namespace}/{collection}`` (PUT creates it with its default index)
* ``GET /v1/collections/{namespace}/{collection}/docs``: ``[{"path": ..., "version": ...}]``
* ``PUT | GET | DELETE /v1/collections/{namespace}/{collection}/docs/{name}`` (name URL-encoded):
  PUT takes ``{"contents": [{"modality": "text", "text": ...}], "metadata": ...}``
* ``GET .../indexes``, ``PUT .../indexes/{index}`` with ``{"kind", "chunk_size", "chunk_overlap"}``
* ``POST .../indexes/{index}/search`` with ``{"query": [{"modality": "text", "text": ...}],
  "max_results", "min_score", "filters"}``: ``[{"document_path", "section", "score", "start", "end"}]``

Reading needs the view role in the namespace, writing the deploy role; an invisible namespace is a 404.
"""

from __future__ import annotations

from contextlib import contextmanager

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from runtime.csi.types import CsiError
from skills.documents import selectors, services
from skills.documents.serializers import (
    collection_json,
    document_json,
    document_summary_json,
    index_json,
    search_query,
    search_result_json,
)
from skills.models import NamespaceGrant
from skills.services import access
from skills.services.errors import BackendFailed, InvalidInput


@contextmanager
def _backend_errors():
    """A failing embeddings endpoint is a 502 naming it, like other CSI backends."""
    try:
        yield
    except CsiError as error:
        raise BackendFailed(str(error)) from error


def _body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("the body must be a JSON object")
    return request.data


@api_view(["GET"])
def list_collections(request: Request, namespace: str | None = None) -> Response:
    return Response([collection_json(c) for c in selectors.collections_for(request.user, namespace)])


@api_view(["PUT", "GET", "DELETE"])
def collection(request: Request, namespace: str, collection: str) -> Response:
    if request.method == "PUT":
        space = access.namespace_for(request.user, namespace, NamespaceGrant.DEPLOY)
        created = not space.collections.filter(name=collection).exists()
        found = services.ensure_collection(space, collection)
        return Response(collection_json(found), status=201 if created else 200)
    role = NamespaceGrant.DEPLOY if request.method == "DELETE" else NamespaceGrant.VIEW
    found = selectors.collection_for(request.user, namespace, collection, role)
    if request.method == "DELETE":
        services.delete_collection(found)
        return Response(status=204)
    return Response(collection_json(found))


@api_view(["GET"])
def list_documents(request: Request, namespace: str, collection: str) -> Response:
    found = selectors.collection_for(request.user, namespace, collection, NamespaceGrant.VIEW)
    return Response([document_summary_json(d) for d in found.documents.order_by("name")])


@api_view(["PUT", "GET", "DELETE"])
def document(request: Request, namespace: str, collection: str, name: str) -> Response:
    if request.method == "PUT":
        space = access.namespace_for(request.user, namespace, NamespaceGrant.DEPLOY)
        body = _body(request)
        found = services.ensure_collection(space, collection)
        created = not found.documents.filter(name=name).exists()
        with _backend_errors():
            put = services.put_document(found, name, body.get("contents"), body.get("metadata"))
        return Response(document_json(put), status=201 if created else 200)
    role = NamespaceGrant.DEPLOY if request.method == "DELETE" else NamespaceGrant.VIEW
    found = selectors.document_for(request.user, namespace, collection, name, role)
    if request.method == "DELETE":
        services.delete_document(found)
        return Response(status=204)
    return Response(document_json(found))


@api_view(["GET"])
def list_indexes(request: Request, namespace: str, collection: str) -> Response:
    found = selectors.collection_for(request.user, namespace, collection, NamespaceGrant.VIEW)
    return Response([index_json(i) for i in found.indexes.all()])


@api_view(["PUT"])
def put_index(request: Request, namespace: str, collection: str, index: str) -> Response:
    found = selectors.collection_for(request.user, namespace, collection, NamespaceGrant.DEPLOY)
    body = _body(request)
    sizes = {key: body.get(key) for key in ("chunk_size", "chunk_overlap")}
    for key, value in sizes.items():
        least = 1 if key == "chunk_size" else 0
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not least <= value <= 8192
        ):
            raise InvalidInput(f"{key} must be an integer from {least} to 8192")
    kind = body.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise InvalidInput("kind must be a string")
    with _backend_errors():
        put = services.put_index(found, index, kind, sizes["chunk_size"], sizes["chunk_overlap"])
    return Response(index_json(put))


@api_view(["POST"])
def search(request: Request, namespace: str, collection: str, index: str) -> Response:
    found = selectors.index_for(request.user, namespace, collection, index)
    query = search_query(_body(request))
    with _backend_errors():
        results = services.search(found, query)
    return Response([search_result_json(result) for result in results])
