"""Reads of the document index with the caller's grants: what they may see, 404 for the rest."""

from __future__ import annotations

from django.db.models import QuerySet

from skills.documents.models import Collection, Document, Index
from skills.models import NamespaceGrant
from skills.services import access
from skills.services.errors import NotFound


def collections_for(user, namespace: str | None = None) -> QuerySet[Collection]:
    visible = access.namespaces_for(user, NamespaceGrant.VIEW)
    if namespace is not None:
        access.namespace_for(user, namespace, NamespaceGrant.VIEW)  # 404 for an invisible namespace
        visible = visible.filter(name=namespace)
    return (
        Collection.objects.filter(namespace__in=visible)
        .select_related("namespace")
        .order_by("namespace__name", "name")
    )


def collection_for(user, namespace: str, name: str, role: str = NamespaceGrant.VIEW) -> Collection:
    space = access.namespace_for(user, namespace, role)
    found = Collection.objects.filter(namespace=space, name=name).select_related("namespace").first()
    if found is None:
        raise NotFound(f"collection {namespace}/{name} not found")
    return found


def document_for(
    user, namespace: str, collection: str, name: str, role: str = NamespaceGrant.VIEW
) -> Document:
    found = collection_for(user, namespace, collection, role).documents.filter(name=name).first()
    if found is None:
        raise NotFound(f"document {namespace}/{collection}/{name} not found")
    return found


def index_for(user, namespace: str, collection: str, name: str) -> Index:
    found = collection_for(user, namespace, collection).indexes.filter(name=name).first()
    if found is None:
        raise NotFound(f"index {namespace}/{collection}/{name} not found")
    return found
