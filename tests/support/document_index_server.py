"""A tiny stand-in for the Pharia DocumentIndex HTTP API on loopback, for tests.

Routes (as the kernel uses them):

* ``POST /collections/{namespace}/{collection}/indexes/{index}/search``
* ``GET /collections/{namespace}/{collection}/docs/{name}`` (name URL-encoded)

Search is deterministic: every text item of every document in the collection is a section, scored by
the share of query words (lower case) it contains; sections scoring 0 or below ``min_score`` are
dropped, the rest sorted by score, then document name, then item. ``with``/``without`` filters support
``{"modality": "text"}`` and ``{"metadata": {"field": f, "equal_to": v}}``; ``max_results`` below 1 gets
422. When ``token`` is set, a request without ``Authorization: Bearer <token>`` gets 401. Requests are
recorded in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

NAMESPACE, COLLECTION, INDEX = "Kernel", "test", "asym-64"

CORPUS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    (NAMESPACE, COLLECTION): {
        "kernel-docs": {
            "contents": [
                {"modality": "text", "text": "The Pharia Kernel runs skills as WebAssembly components."},
                {"modality": "text", "text": "Skills reach models and documents through the CSI."},
            ],
            "metadata": [{"url": "https://pharia-kernel.product.pharia.com/"}],
        },
        "kernel/faq": {
            "contents": [
                {"modality": "text", "text": "Can a skill call tools? Yes, the kernel offers MCP tools."},
                {"modality": "image", "bytes": "iVBORw0KGgo="},
            ],
            "metadata": {"lang": "en"},
        },
        "homer": {"contents": [{"modality": "text", "text": "Hello Homer"}], "metadata": None},
    }
}
INDEXES: dict[tuple[str, str], set[str]] = {(NAMESPACE, COLLECTION): {INDEX}}

_SEARCH = re.compile(r"^/collections/([^/]+)/([^/]+)/indexes/([^/]+)/search$")
_DOC = re.compile(r"^/collections/([^/]+)/([^/]+)/docs/([^/]+)$")


def _matches(condition: dict[str, Any], document: dict[str, Any]) -> bool:
    if "modality" in condition:
        return True  # every section this server returns is text
    metadata = condition["metadata"]
    values = document.get("metadata")
    return isinstance(values, dict) and values.get(metadata["field"]) == metadata["equal_to"]


def _passes(filters: list[dict[str, Any]], document: dict[str, Any]) -> bool:
    for filter_ in filters:
        for kind, conditions in filter_.items():
            hits = [_matches(condition, document) for condition in conditions]
            if kind == "with" and not all(hits):
                return False
            if kind == "with_one_of" and not any(hits):
                return False
            if kind == "without" and any(hits):
                return False
    return True


def search(namespace: str, collection: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The deterministic search described in the module docstring."""
    words = re.findall(r"\w+", body["query"][0]["text"].lower())
    min_score = body.get("min_score")
    results = []
    for name, document in CORPUS[(namespace, collection)].items():
        if not _passes(body.get("filters", []), document):
            continue
        for item, content in enumerate(document["contents"]):
            if content["modality"] != "text" or not words:
                continue
            text = content["text"]
            found = set(re.findall(r"\w+", text.lower()))
            score = sum(word in found for word in words) / len(words)
            if score <= 0 or (min_score is not None and score < min_score):
                continue
            results.append(
                {
                    "document_path": {"namespace": namespace, "collection": collection, "name": name},
                    "section": [{"modality": "text", "text": text}],
                    "score": score,
                    "start": {"modality": "text", "item": item, "position": 0},
                    "end": {"modality": "text", "item": item, "position": len(text) - 1},
                }
            )
    results.sort(key=lambda r: (-r["score"], r["document_path"]["name"], r["start"]["item"]))
    return results[: body["max_results"]]


class DocumentIndexTestServer:
    """``with DocumentIndexTestServer(token="secret") as server: server.url``."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if owner.token is None or self.headers.get("Authorization") == f"Bearer {owner.token}":
                    return True
                self._answer(401, {"detail": "invalid or missing token"})
                return False

            def _record(self, body: Any = None) -> None:
                owner.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    body = None
                self._record(body)
                if not self._authorized():
                    return
                match = _SEARCH.match(self.path)
                if match is None:
                    return self._answer(404, {"detail": "Not Found"})
                namespace, collection, index = (unquote(part) for part in match.groups())
                if index not in INDEXES.get((namespace, collection), set()):
                    return self._answer(404, {"detail": f"index {index} not found"})
                if not isinstance(body, dict) or not isinstance(body.get("max_results"), int):
                    return self._answer(422, {"detail": "max_results: field required"})
                if body["max_results"] < 1:
                    return self._answer(422, {"detail": "max_results: must be greater than 0"})
                self._answer(200, search(namespace, collection, body))

            def do_GET(self) -> None:
                self._record()
                if not self._authorized():
                    return
                match = _DOC.match(self.path)
                if match is None:
                    return self._answer(404, {"detail": "Not Found"})
                namespace, collection, name = (unquote(part) for part in match.groups())
                document = CORPUS.get((namespace, collection), {}).get(name)
                if document is None:
                    return self._answer(404, {"detail": f"document {name} not found"})
                path = {"namespace": namespace, "collection": collection, "name": name}
                self._answer(200, {"path": path, **document})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> DocumentIndexTestServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
