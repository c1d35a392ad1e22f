"""Catalogue pages of the document index: collections, a collection's documents with a search box
that shows scored chunks, and one document. Reads go through ``skills.documents.selectors``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render

from runtime.csi.types import CsiError
from skills.documents import selectors, services
from skills.services.errors import KernelError, NotFound


def _or_404(read, *args):
    try:
        return read(*args)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def collections(request):
    found = (
        selectors.collections_for(request.user)
        .annotate(document_count=Count("documents"))
        .prefetch_related("indexes")
    )
    return render(request, "documents/collections.html", {"collections": found})


@login_required
def collection(request, namespace: str, collection: str):
    found = _or_404(selectors.collection_for, request.user, namespace, collection)
    indexes = list(found.indexes.all())
    query = request.GET.get("q", "").strip()
    chosen = next((i for i in indexes if i.name == request.GET.get("index")), indexes[0] if indexes else None)
    results, error = [], ""
    if query and chosen is not None:
        try:
            results = services.search(chosen, services.Query(query, max_results=10))
        except (KernelError, CsiError) as failure:
            error = getattr(failure, "message", str(failure))
    documents = found.documents.order_by("name").only("name", "version", "updated_at", "metadata")[:500]
    return render(
        request,
        "documents/collection.html",
        {
            "collection": found,
            "indexes": indexes,
            "index": chosen,
            "documents": documents,
            "query": query,
            "results": results,
            "error": error,
        },
    )


@login_required
def document(request, namespace: str, collection: str, name: str):
    found = _or_404(selectors.document_for, request.user, namespace, collection, name)
    chunks = found.chunks.select_related("index").order_by("index__name", "item", "start")[:200]
    return render(request, "documents/document.html", {"document": found, "chunks": chunks})
