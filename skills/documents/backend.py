"""The document index skills reach through the CSI: the built-in one, or an external DocumentIndex.

Which one serves a request is decided by the namespace it names (the index's or the document's):
a namespace with an enabled :class:`~skills.documents.models.ExternalDocumentIndex` goes to that
DocumentIndex; otherwise ``DOCUMENT_INDEX__URL``, when set, serves it (as before the built-in index
existed); otherwise the built-in index does, unless ``DOCUMENTS__BUILTIN`` is off. Skills of any
namespace may read any collection of the kernel, as with one DocumentIndex token for the kernel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.conf import settings

from runtime.csi import DocumentIndexBackend
from runtime.csi.types import (
    CsiNotFound,
    Document,
    DocumentPath,
    InvalidCsiRequest,
    NotConfigured,
    SearchRequest,
    SearchResult,
)
from skills.documents import services
from skills.documents.models import ExternalDocumentIndex
from skills.services.errors import InvalidInput, NotFound

T = TypeVar("T")
R = TypeVar("R")


class BuiltinDocumentIndex:
    """A :class:`~runtime.csi.DocumentIndexBackend` over the kernel's own tables."""

    def search(self, requests: list[SearchRequest]) -> list[list[SearchResult]]:
        return [self._search(request) for request in requests]

    def documents(self, paths: list[DocumentPath]) -> list[Document]:
        return [self._document(path) for path in paths]

    def document_metadata(self, paths: list[DocumentPath]) -> list[bytes | None]:
        return [_metadata(self._row(path).metadata) for path in paths]

    def _search(self, request: SearchRequest) -> list[SearchResult]:
        path = request.index_path
        try:
            index = services.index(path.namespace, path.collection, path.index)
            query = services.Query(request.query, request.max_results, request.min_score, request.filters)
            return services.search(index, query)
        except NotFound:
            raise CsiNotFound(f"index {path.namespace}/{path.collection}/{path.index} not found") from None
        except InvalidInput as error:
            raise InvalidCsiRequest(error.message) from None

    def _row(self, path: DocumentPath):
        try:
            return services.document(path.namespace, path.collection, path.name)
        except NotFound:
            name = f"{path.namespace}/{path.collection}/{path.name}"
            raise CsiNotFound(f"document {name} not found in the document index") from None

    def _document(self, path: DocumentPath) -> Document:
        row = self._row(path)
        contents: list[tuple[str, str | None]] = [
            ("text", item["text"]) if item["modality"] == "text" else ("image", None) for item in row.contents
        ]
        return Document(path=path, contents=contents, metadata=_metadata(row.metadata))


def _metadata(metadata) -> bytes | None:
    return None if metadata is None else json.dumps(metadata).encode()


_builtin = BuiltinDocumentIndex()


def backend_for(namespace: str) -> DocumentIndexBackend:
    """The document index serving ``namespace`` (see the module docstring)."""
    from skills.services import csi as csi_backends

    external = ExternalDocumentIndex.objects.filter(namespace__name=namespace, enabled=True).first()
    if external is not None:
        return csi_backends.external_documents(external.url, external.token)
    if settings.DOCUMENT_INDEX_URL:
        return csi_backends.external_documents(settings.DOCUMENT_INDEX_URL, settings.DOCUMENT_INDEX_TOKEN)
    if settings.DOCUMENTS_BUILTIN:
        return _builtin
    raise NotConfigured("document index")


def _routed(items: Sequence[T], namespace: Callable[[T], str], call: Callable[[object, list[T]], list[R]]):
    """``call(backend, items)`` per backend, answers in the order of ``items``."""
    groups: dict[int, tuple[object, list[int]]] = {}
    backends: dict[str, object] = {}
    for position, item in enumerate(items):
        name = namespace(item)
        if name not in backends:
            backends[name] = backend_for(name)
        backend = backends[name]
        groups.setdefault(id(backend), (backend, []))[1].append(position)
    answers: list = [None] * len(items)
    for backend, positions in groups.values():
        for position, answer in zip(positions, call(backend, [items[p] for p in positions]), strict=True):
            answers[position] = answer
    return answers


class DocumentIndexRouter:
    """The CSI's document index: each request goes to the backend of the namespace it names."""

    def search(self, requests: list[SearchRequest]) -> list[list[SearchResult]]:
        return _routed(requests, lambda r: r.index_path.namespace, lambda b, rs: b.search(rs))

    def documents(self, paths: list[DocumentPath]) -> list[Document]:
        return _routed(paths, lambda p: p.namespace, lambda b, ps: b.documents(ps))

    def document_metadata(self, paths: list[DocumentPath]) -> list[bytes | None]:
        return _routed(paths, lambda p: p.namespace, lambda b, ps: b.document_metadata(ps))


router = DocumentIndexRouter()
