"""The DocumentIndex's JSON shapes of collections, documents, indexes and search results."""

from __future__ import annotations

from typing import Any

from runtime.csi.types import SearchResult
from skills.documents import filters
from skills.documents.models import Collection, Document, Index
from skills.documents.services import Query
from skills.services.errors import InvalidInput


def collection_json(collection: Collection) -> dict[str, Any]:
    return {"namespace": collection.namespace.name, "collection": collection.name}


def _path(document: Document) -> dict[str, str]:
    collection = document.collection
    return {"namespace": collection.namespace.name, "collection": collection.name, "name": document.name}


def document_summary_json(document: Document) -> dict[str, Any]:
    return {
        "path": _path(document),
        "version": document.version,
        "created_timestamp": document.created_at.isoformat(),
        "updated_timestamp": document.updated_at.isoformat(),
    }


def document_json(document: Document) -> dict[str, Any]:
    return {**document_summary_json(document), "contents": document.contents, "metadata": document.metadata}


def index_json(index: Index) -> dict[str, Any]:
    return {
        "name": index.name,
        "kind": index.kind,
        "chunk_size": index.chunk_tokens,
        "chunk_overlap": index.chunk_overlap,
        "embedding_model": index.embedding_model or None,
        "dimensions": index.dimensions,
    }


def search_query(body: dict[str, Any]) -> Query:
    """``{"query": [{"modality": "text", "text": ...}], "max_results", "min_score", "filters"}``."""
    query = body.get("query")
    if isinstance(query, str):
        text = query
    elif isinstance(query, list) and query and all(_text_item(item) for item in query):
        text = " ".join(item["text"] for item in query)
    else:
        raise InvalidInput('query must be [{"modality": "text", "text": "..."}] or a string')
    max_results = body.get("max_results", 10)
    if isinstance(max_results, float) and max_results.is_integer():
        max_results = int(max_results)
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= 1000:
        raise InvalidInput("max_results must be an integer from 1 to 1000")
    min_score = body.get("min_score")
    if min_score is not None and (not isinstance(min_score, (int, float)) or isinstance(min_score, bool)):
        raise InvalidInput("min_score must be a number")
    return Query(text, max_results, min_score, filters.validate(body.get("filters")))


def _text_item(item: Any) -> bool:
    return isinstance(item, dict) and item.get("modality") == "text" and isinstance(item.get("text"), str)


def search_result_json(result: SearchResult) -> dict[str, Any]:
    path = result.document_path
    return {
        "document_path": {"namespace": path.namespace, "collection": path.collection, "name": path.name},
        "section": [{"modality": "text", "text": result.content}],
        "score": result.score,
        "start": {"modality": "text", "item": result.start.item, "position": result.start.position},
        "end": {"modality": "text", "item": result.end.item, "position": result.end.position},
    }
