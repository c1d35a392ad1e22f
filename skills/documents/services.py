"""Services of the built-in document index: put and delete documents, keep indexes, search.

Putting a document chunks its text items once per index of its collection (the kernel's chunking,
``runtime.csi.chunking``, counting cl100k tokens), embeds the chunks of semantic and hybrid indexes
(before the transaction: the endpoint may be slow) and replaces the document's chunks atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from runtime.csi.chunking import TextChunking
from runtime.csi.types import (
    ChunkParams,
    ChunkRequest,
    DocumentPath,
    InvalidCsiRequest,
    SearchResult,
    TextCursor,
)
from skills.documents import filters as metadata_filters
from skills.documents import search as backends
from skills.documents.embeddings import EmbeddingsClient, EmbeddingsConfig, EmbeddingsUnavailable, dimensions
from skills.documents.models import Chunk, Collection, Document, Index
from skills.models import Namespace
from skills.services.errors import InvalidInput, NotFound

CHUNKING_MODEL = "gpt-4"  # cl100k_base: the encoding of most current models (runtime/csi/chunking.py)
_MODALITIES = ("text", "image")

_chunking = TextChunking()
_embeddings: dict[EmbeddingsConfig, EmbeddingsClient] = {}
_lock = threading.Lock()


def embeddings() -> EmbeddingsClient | None:
    """The client of ``EMBEDDINGS__URL`` (one per configuration), ``None`` when none is configured."""
    if not (settings.EMBEDDINGS_URL and settings.EMBEDDINGS_MODEL):
        return None
    config = EmbeddingsConfig(
        url=settings.EMBEDDINGS_URL,
        model=settings.EMBEDDINGS_MODEL,
        token=settings.EMBEDDINGS_TOKEN or None,
        batch=settings.EMBEDDINGS_BATCH,
        timeout=settings.EMBEDDINGS_TIMEOUT,
        dimensions=settings.EMBEDDINGS_DIMENSIONS,
    )
    with _lock:
        if config not in _embeddings:
            _embeddings[config] = EmbeddingsClient(config)
        return _embeddings[config]


def _require_embeddings(index: Index) -> EmbeddingsClient:
    client = embeddings()
    if client is None:
        raise EmbeddingsUnavailable(
            f"index {index} searches by vectors, but no embedding model is configured "
            "(EMBEDDINGS__URL, EMBEDDINGS__MODEL)"
        )
    return client


# -- collections and indexes ---------------------------------------------------------------------


def default_kind() -> str:
    return Index.HYBRID if embeddings() is not None else Index.FULLTEXT


def ensure_collection(namespace: Namespace, name: str) -> Collection:
    """The collection, created with the default index (hybrid when embeddings are configured)."""
    collection, created = Collection.objects.get_or_create(namespace=namespace, name=_valid_name(name))
    if created:
        put_index(collection, settings.DOCUMENTS_DEFAULT_INDEX)
    return collection


def put_index(
    collection: Collection,
    name: str,
    kind: str | None = None,
    chunk_tokens: int | None = None,
    chunk_overlap: int | None = None,
) -> Index:
    """Create the index or change it; either way the collection's documents are chunked for it."""
    kind = kind or default_kind()
    tokens = chunk_tokens or settings.DOCUMENTS_CHUNK_TOKENS
    overlap = settings.DOCUMENTS_CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
    if kind not in dict(Index.KINDS):
        raise InvalidInput(f"kind must be one of {', '.join(dict(Index.KINDS))}")
    if not 0 <= overlap < tokens:
        raise InvalidInput("chunk_overlap must be at least 0 and smaller than chunk_tokens")
    if kind != Index.FULLTEXT and embeddings() is None:
        raise InvalidInput(f"a {kind} index needs an embedding model (EMBEDDINGS__URL, EMBEDDINGS__MODEL)")
    index = Index.objects.filter(collection=collection, name=_valid_name(name)).first()
    if index is None:
        index = Index.objects.create(
            collection=collection, name=name, kind=kind, chunk_tokens=tokens, chunk_overlap=overlap
        )
        if collection.documents.exists():
            reindex(index)
        return index
    if (index.kind, index.chunk_tokens, index.chunk_overlap) != (kind, tokens, overlap):
        index.kind, index.chunk_tokens, index.chunk_overlap = kind, tokens, overlap
        index.save()
        reindex(index)
    return index


def reindex(index: Index) -> None:
    """Chunk (and embed) every document of the index's collection again."""
    with transaction.atomic():
        _drop_vectors(index)
        index.chunks.all().delete()
    for document in index.collection.documents.all():
        _replace_chunks(document, [index])


def _drop_vectors(index: Index) -> None:
    if index.dimensions:
        backends.vectors().drop(index)
        index.dimensions = None
        index.embedding_model = ""
        index.save(update_fields=["dimensions", "embedding_model"])


# -- documents ---------------------------------------------------------------------------------


def _valid_name(name: str) -> str:
    from skills.documents.models import collection_name

    try:
        collection_name(name)
    except Exception:  # noqa: BLE001 - Django's ValidationError
        raise InvalidInput(f"'{name}' is not a valid name: {collection_name.message}") from None
    return name


def validate_contents(contents: Any) -> list[dict[str, Any]]:
    """The DocumentIndex's contents: a non-empty list of ``text`` / ``image`` modality items."""
    if not isinstance(contents, list) or not contents:
        raise InvalidInput("contents must be a non-empty list of modality items")
    for position, item in enumerate(contents):
        where = f"contents[{position}]"
        if not isinstance(item, dict) or item.get("modality") not in _MODALITIES:
            raise InvalidInput(f"{where} must be an object with modality 'text' or 'image'")
        if item["modality"] == "text" and not isinstance(item.get("text"), str):
            raise InvalidInput(f"{where}.text must be a string")
        if item["modality"] == "image" and not isinstance(item.get("bytes"), str):
            raise InvalidInput(f"{where}.bytes must be a base64 string")
    return contents


def put_document(collection: Collection, name: str, contents: Any, metadata: Any = None) -> Document:
    """Create or replace the document and its chunks in every index of the collection."""
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise InvalidInput("a document name must be 1 to 500 characters")
    contents = validate_contents(contents)
    document = Document(collection=collection, name=name, contents=contents, metadata=metadata)
    return _replace_chunks(document, list(collection.indexes.all()))


def _chunks_of(document: Document, index: Index) -> list[Chunk]:
    params = ChunkParams(CHUNKING_MODEL, index.chunk_tokens, index.chunk_overlap)
    texts = [
        (item, content["text"])
        for item, content in enumerate(document.contents)
        if content["modality"] == "text"
    ]
    pieces = _chunking.chunk([ChunkRequest(text, params, character_offsets=True) for _, text in texts])
    return [
        Chunk(
            index=index,
            item=item,
            start=piece.character_offset or 0,
            end=(piece.character_offset or 0) + max(len(piece.text) - 1, 0),
            text=piece.text,
        )
        for (item, _), per_item in zip(texts, pieces, strict=True)
        for piece in per_item
    ]


def _replace_chunks(document: Document, indexes: Iterable[Index]) -> Document:
    planned = []
    for index in indexes:
        chunks = _chunks_of(document, index)
        if index.uses_vectors and chunks:
            client = _require_embeddings(index)
            for chunk, vector in zip(chunks, client.embed([chunk.text for chunk in chunks]), strict=True):
                chunk.embedding = vector
        planned.append((index, chunks))
    with transaction.atomic():
        existing = (
            Document.objects.select_for_update()
            .filter(collection=document.collection, name=document.name)
            .first()
        )
        if existing is not None and document.pk is None:
            existing.contents, existing.metadata = document.contents, document.metadata
            existing.version += 1
            document = existing
        document.save()
        for index, chunks in planned:
            _delete_chunks(document, index)
            for chunk in chunks:
                chunk.document = document
            created = Chunk.objects.bulk_create(chunks, batch_size=500)
            if index.uses_vectors and created:
                index.dimensions, index.embedding_model = _add_vectors(index, created)
    return document


def _add_vectors(index: Index, chunks: list[Chunk]) -> tuple[int, str]:
    """Store the chunks' vectors (creating the index's vector table first); its dimensions and model."""
    size = dimensions(bytes(chunks[0].embedding))
    index = Index.objects.select_for_update().get(pk=index.pk)
    if index.dimensions is None:
        index.dimensions, index.embedding_model = size, settings.EMBEDDINGS_MODEL
        index.save(update_fields=["dimensions", "embedding_model"])
        backends.vectors().create(index)
    elif index.dimensions != size:
        raise EmbeddingsUnavailable(
            f"index {index} holds {index.dimensions}-dimensional vectors of {index.embedding_model}, "
            f"the embedding model now answers {size}: reindex it"
        )
    backends.vectors().add(index, [(c.pk, c.document_id, bytes(c.embedding)) for c in chunks])
    return index.dimensions, index.embedding_model


def _delete_chunks(document: Document, index: Index) -> None:
    chunks = document.chunks.filter(index=index)
    if index.dimensions:
        backends.vectors().delete(index, list(chunks.values_list("id", flat=True)))
    chunks.delete()


def delete_document(document: Document) -> None:
    with transaction.atomic():
        document.delete()  # its vectors go first (skills.documents.signals)


# -- reading -----------------------------------------------------------------------------------


def collection(namespace: str, name: str) -> Collection:
    found = (
        Collection.objects.select_related("namespace").filter(namespace__name=namespace, name=name).first()
    )
    if found is None:
        raise NotFound(f"collection {namespace}/{name} not found")
    return found


def document(namespace: str, collection_name: str, name: str) -> Document:
    found = Document.objects.filter(
        collection__namespace__name=namespace, collection__name=collection_name, name=name
    ).first()
    if found is None:
        raise NotFound(f"document {namespace}/{collection_name}/{name} not found")
    return found


def index(namespace: str, collection_name: str, name: str) -> Index:
    found = (
        Index.objects.select_related("collection__namespace")
        .filter(collection__namespace__name=namespace, collection__name=collection_name, name=name)
        .first()
    )
    if found is None:
        raise NotFound(f"index {namespace}/{collection_name}/{name} not found")
    return found


@dataclass
class Query:
    text: str
    max_results: int = 10
    min_score: float | None = None
    filters: list[dict[str, Any]] | None = None


def search(index: Index, query: Query) -> list[SearchResult]:
    """The best chunks of ``index`` for ``query``, best first (ties: document name, position)."""
    if query.max_results < 1:
        raise InvalidCsiRequest("max_results must be greater than 0")
    documents = None
    if query.filters:
        documents = metadata_filters.matching_documents(index.collection, query.filters)
    pool = query.max_results if index.kind != Index.HYBRID else max(query.max_results * 4, 20)
    scores: dict[int, float] = {}
    if index.uses_fulltext:
        for chunk, score in backends.fulltext().search(index, query.text, pool, documents):
            scores[chunk] = score if index.kind == Index.FULLTEXT else score / 2
    if index.uses_vectors and index.dimensions:
        vector = _require_embeddings(index).embed([query.text])[0]
        for chunk, score in backends.vectors().search(index, vector, pool, documents):
            scores[chunk] = scores.get(chunk, 0.0) + (score if index.kind == Index.SEMANTIC else score / 2)
    if query.min_score is not None:
        scores = {chunk: score for chunk, score in scores.items() if score >= query.min_score}
    chunks = (
        Chunk.objects.filter(pk__in=scores)
        .select_related("document")
        .only("id", "item", "start", "end", "text", "document__name")
    )
    ranked = sorted(chunks, key=lambda c: (-scores[c.pk], c.document.name, c.item, c.start))
    path = index.collection
    return [
        SearchResult(
            document_path=DocumentPath(path.namespace.name, path.name, chunk.document.name),
            content=chunk.text,
            score=scores[chunk.pk],
            start=TextCursor(chunk.item, chunk.start),
            end=TextCursor(chunk.item, chunk.end),
        )
        for chunk in ranked[: query.max_results]
    ]


def delete_collection(collection: Collection) -> None:
    with transaction.atomic():
        collection.delete()  # documents, chunks and vector tables go with it (skills.documents.signals)
