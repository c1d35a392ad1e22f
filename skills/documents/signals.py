"""Vector rows follow their chunks: SQLite's ``vec0`` tables have no foreign keys, so deleting a
document (also through its collection, in the admin) deletes its vectors first."""

from __future__ import annotations

from django.db import transaction

from skills.documents import search


def document_deleted(sender, instance, **kwargs) -> None:
    vectors = None
    for index in instance.collection.indexes.exclude(dimensions=None):
        vectors = vectors or search.vectors()
        chunk_ids = list(instance.chunks.filter(index=index).values_list("id", flat=True))
        vectors.delete(index, chunk_ids)


def index_deleted(sender, instance, **kwargs) -> None:
    """Drop the vector table once the deletion commits (its documents' pre_delete still use it)."""
    if instance.dimensions:
        vectors, pk = search.vectors(), instance.pk
        transaction.on_commit(lambda: vectors.drop(pk))
