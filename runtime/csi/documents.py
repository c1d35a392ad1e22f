"""The CSI document index backed by the Pharia DocumentIndex HTTP API, as the Pharia kernel uses it.

* search: ``POST {url}/collections/{namespace}/{collection}/indexes/{index}/search`` with
  ``{"query": [{"modality": "text", "text": ...}], "max_results": n, "min_score": s, "filters": [...]}``;
  like the kernel, a ``{"with": [{"modality": "text"}]}`` filter is added so only text sections come
  back. Each result is ``{"document_path": {...}, "section": [{"modality": "text", "text": ...}],
  "score": ..., "start": {"modality": "text", "item": i, "position": p}, "end": {...}}``.
* document and metadata: ``GET {url}/collections/{namespace}/{collection}/docs/{name}`` (the name is
  URL-encoded, it may contain ``/``) answering ``{"contents": [...], "metadata": ...}``.

Requests of a batch run concurrently. Failures raise :class:`CsiError` with a message naming what
failed (unreachable, timeout, 401/403, other HTTP errors, an unexpected body); a 404 raises
:class:`CsiNotFound`, a 400 or 422 :class:`InvalidCsiRequest`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from runtime.csi.types import (
    CsiError,
    CsiNotFound,
    Document,
    DocumentPath,
    InvalidCsiRequest,
    SearchRequest,
    SearchResult,
    TextCursor,
)

__all__ = ["DocumentIndexClient"]

T = TypeVar("T")
R = TypeVar("R")

TEXT_ONLY = {"with": [{"modality": "text"}]}


def _segment(value: str) -> str:
    return quote(value, safe="")


def _map_concurrently(fn: Callable[[T], R], items: Sequence[T], max_workers: int) -> list[R]:
    """``[fn(item) for item in items]``, on a short-lived (fork-safe) thread pool for several items."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(fn, items))


class DocumentIndexClient:
    """A :class:`~runtime.csi.DocumentIndexBackend` talking to the DocumentIndex at ``url``.

    ``token`` is sent as a bearer token (no ``Authorization`` header when ``None``). The underlying
    ``httpx.Client`` pools connections and is safe to share between threads.
    """

    def __init__(self, url: str, token: str | None, timeout: float = 30.0, max_workers: int = 8) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._max_workers = max_workers
        self._has_token = token is not None
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def search(self, requests: list[SearchRequest]) -> list[list[SearchResult]]:
        return _map_concurrently(self._search, requests, self._max_workers)

    def documents(self, paths: list[DocumentPath]) -> list[Document]:
        return _map_concurrently(self._document, paths, self._max_workers)

    def document_metadata(self, paths: list[DocumentPath]) -> list[bytes | None]:
        return _map_concurrently(lambda path: _metadata(self._get_document(path)), paths, self._max_workers)

    # -- one request each -----------------------------------------------------------------------

    def _search(self, request: SearchRequest) -> list[SearchResult]:
        index = request.index_path
        what = f"index {index.namespace}/{index.collection}/{index.index}"
        path = (
            f"/collections/{_segment(index.namespace)}/{_segment(index.collection)}"
            f"/indexes/{_segment(index.index)}/search"
        )
        body = {
            "query": [{"modality": "text", "text": request.query}],
            "max_results": request.max_results,
            "min_score": request.min_score,
            "filters": [*request.filters, TEXT_ONLY],
        }
        answer = self._request("POST", path, what, json=body)
        try:
            return [_search_result(item) for item in answer]
        except (KeyError, TypeError, ValueError, IndexError) as error:
            message = f"document index answered a search in {what} with an unexpected body: {error!r}"
            raise CsiError(message) from None

    def _document(self, path: DocumentPath) -> Document:
        answer = self._get_document(path)
        contents: list[tuple[str, str | None]] = []
        try:
            for item in answer["contents"]:
                if item["modality"] == "text":
                    contents.append(("text", str(item["text"])))
                else:
                    contents.append(("image", None))
        except (KeyError, TypeError) as error:
            message = f"document index answered document {_name(path)} with an unexpected body: {error!r}"
            raise CsiError(message) from None
        return Document(path=path, contents=contents, metadata=_metadata(answer))

    def _get_document(self, path: DocumentPath) -> dict[str, Any]:
        url = (
            f"/collections/{_segment(path.namespace)}/{_segment(path.collection)}/docs/{_segment(path.name)}"
        )
        answer = self._request("GET", url, f"document {_name(path)}")
        if not isinstance(answer, dict):
            raise CsiError(f"document index answered document {_name(path)} with an unexpected body")
        return answer

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """Send one request; map every failure to a :class:`CsiError` naming ``what``."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise CsiError(f"document index {self.url} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise CsiError(
                f"document index {self.url} unreachable: {error or type(error).__name__}"
            ) from None
        status = response.status_code
        if status in (401, 403):
            hint = "" if self._has_token else " (no token was given)"
            raise CsiError(
                f"document index refused access to {what}: HTTP {status}{hint}: {_detail(response)}"
            )
        if status == 404:
            raise CsiNotFound(f"{what} not found in the document index")
        if status in (400, 422):
            raise InvalidCsiRequest(f"document index rejected the request for {what}: {_detail(response)}")
        if status >= 300:
            raise CsiError(f"document index answered HTTP {status} for {what}: {_detail(response)}")
        try:
            return response.json()
        except ValueError:
            raise CsiError(f"document index answered {what} with a body that is not JSON") from None


def _name(path: DocumentPath) -> str:
    return f"{path.namespace}/{path.collection}/{path.name}"


def _detail(response: httpx.Response, limit: int = 300) -> str:
    """The error detail of an HTTP answer: its JSON ``detail``/``message`` or its text, shortened."""
    try:
        body = response.json()
        if isinstance(body, dict):
            body = body.get("detail", body.get("message", body))
        text = body if isinstance(body, str) else json.dumps(body)
    except ValueError:
        text = response.text
    text = " ".join(text.split()) or response.reason_phrase
    return text if len(text) <= limit else text[:limit] + "..."


def _metadata(document: dict[str, Any]) -> bytes | None:
    metadata = document.get("metadata")
    return None if metadata is None else json.dumps(metadata).encode()


def _cursor(value: dict[str, Any]) -> TextCursor:
    return TextCursor(item=int(value["item"]), position=int(value["position"]))


def _search_result(item: dict[str, Any]) -> SearchResult:
    document = item["document_path"]
    texts = [str(part["text"]) for part in item["section"] if part.get("modality", "text") == "text"]
    if not texts:
        raise ValueError("a search result has no text section")
    return SearchResult(
        document_path=DocumentPath(document["namespace"], document["collection"], document["name"]),
        content="".join(texts),
        score=float(item["score"]),
        start=_cursor(item["start"]),
        end=_cursor(item["end"]),
    )
