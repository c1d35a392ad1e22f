"""DocumentIndexClient against a loopback stand-in of the Pharia DocumentIndex API."""

import json
import socket
import time

import pytest

from runtime.csi import CsiError, InvalidCsiRequest
from runtime.csi.documents import DocumentIndexClient
from runtime.csi.types import DocumentPath, IndexPath, SearchRequest, TextCursor
from tests.support.document_index_server import COLLECTION, INDEX, NAMESPACE, DocumentIndexTestServer

TOKEN = "secret-token"
INDEX_PATH = IndexPath(NAMESPACE, COLLECTION, INDEX)


def doc(name: str) -> DocumentPath:
    return DocumentPath(NAMESPACE, COLLECTION, name)


@pytest.fixture(scope="module")
def server():
    with DocumentIndexTestServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(server):
    client = DocumentIndexClient(server.url, TOKEN)
    yield client
    client.close()


def test_search_returns_sections_with_scores_and_cursors(client):
    [results] = client.search([SearchRequest(INDEX_PATH, "What is the Pharia Kernel?", max_results=5)])
    first = results[0]
    assert first.document_path == doc("kernel-docs")
    assert first.content == "The Pharia Kernel runs skills as WebAssembly components."
    assert first.score == pytest.approx(3 / 5)  # "the", "pharia", "kernel" of five words
    assert first.start == TextCursor(item=0, position=0)
    assert first.end == TextCursor(item=0, position=len(first.content) - 1)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_search_sends_the_document_index_request_shape(client, server):
    filters = [{"with": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]
    client.search([SearchRequest(INDEX_PATH, "kernel tools", max_results=3, min_score=0.4, filters=filters)])
    sent = server.requests[-1]
    assert sent["method"] == "POST"
    assert sent["path"] == f"/collections/{NAMESPACE}/{COLLECTION}/indexes/{INDEX}/search"
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert sent["body"] == {
        "query": [{"modality": "text", "text": "kernel tools"}],
        "max_results": 3,
        "min_score": 0.4,
        "filters": [*filters, {"with": [{"modality": "text"}]}],
    }


def test_search_honours_max_results_min_score_and_filters(client):
    request = SearchRequest(INDEX_PATH, "skill kernel tools", max_results=1)
    assert len(client.search([request])[0]) == 1
    half = SearchRequest(INDEX_PATH, "pharia homer", max_results=10, min_score=0.5)
    assert {r.document_path.name for r in client.search([half])[0]} == {"kernel-docs", "homer"}
    strict = SearchRequest(INDEX_PATH, "pharia homer", max_results=10, min_score=0.6)
    assert client.search([strict]) == [[]]
    english = [{"with": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]
    filtered = SearchRequest(INDEX_PATH, "kernel", max_results=10, filters=english)
    assert {r.document_path.name for r in client.search([filtered])[0]} == {"kernel/faq"}


def test_search_batches_keep_their_order(client):
    queries = ["Homer", "WebAssembly", "nothing matches this", "MCP tools"]
    results = client.search([SearchRequest(INDEX_PATH, q, max_results=1) for q in queries])
    assert [r[0].document_path.name if r else None for r in results] == [
        "homer",
        "kernel-docs",
        None,
        "kernel/faq",
    ]


def test_documents_with_text_and_image_contents(client):
    docs = client.documents([doc("kernel-docs"), doc("kernel/faq")])
    assert docs[0].path == doc("kernel-docs")
    assert docs[0].contents == [
        ("text", "The Pharia Kernel runs skills as WebAssembly components."),
        ("text", "Skills reach models and documents through the CSI."),
    ]
    assert json.loads(docs[0].metadata) == [{"url": "https://pharia-kernel.product.pharia.com/"}]
    assert docs[1].contents == [
        ("text", "Can a skill call tools? Yes, the kernel offers MCP tools."),
        ("image", None),
    ]


def test_document_names_are_url_encoded(client, server):
    client.documents([doc("kernel/faq")])
    assert server.requests[-1]["path"] == f"/collections/{NAMESPACE}/{COLLECTION}/docs/kernel%2Ffaq"


def test_document_metadata_is_json_bytes_or_none(client):
    metadata = client.document_metadata([doc("kernel/faq"), doc("homer"), doc("kernel-docs")])
    assert json.loads(metadata[0]) == {"lang": "en"}
    assert metadata[1] is None
    assert json.loads(metadata[2])[0]["url"].startswith("https://")


def test_empty_batches(client):
    assert client.search([]) == []
    assert client.documents([]) == []
    assert client.document_metadata([]) == []


def test_missing_document_is_a_clear_error(client):
    with pytest.raises(CsiError, match="document Kernel/test/nope not found"):
        client.documents([doc("homer"), doc("nope")])
    with pytest.raises(CsiError, match="not found"):
        client.document_metadata([doc("nope")])


def test_missing_index_is_a_clear_error(client):
    with pytest.raises(CsiError, match="index Kernel/test/no-index not found"):
        client.search([SearchRequest(IndexPath(NAMESPACE, COLLECTION, "no-index"), "x", max_results=1)])


def test_rejected_request_is_invalid(client):
    with pytest.raises(InvalidCsiRequest, match="must be greater than 0"):
        client.search([SearchRequest(INDEX_PATH, "kernel", max_results=0)])


@pytest.mark.parametrize("token", ["wrong", None])
def test_bad_or_missing_token_is_refused(server, token):
    client = DocumentIndexClient(server.url, token)
    with pytest.raises(CsiError, match="refused access to document Kernel/test/homer: HTTP 401") as error:
        client.documents([doc("homer")])
    assert "invalid or missing token" in str(error.value)
    assert ("no token was given" in str(error.value)) == (token is None)
    assert ("Authorization" in server.requests[-1]["headers"]) == (token is not None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_document_index():
    url = f"http://127.0.0.1:{free_port()}"
    client = DocumentIndexClient(url, TOKEN, timeout=2)
    with pytest.raises(CsiError, match=f"document index {url} unreachable"):
        client.search([SearchRequest(INDEX_PATH, "kernel", max_results=1)])


def test_silent_document_index_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = DocumentIndexClient(f"http://127.0.0.1:{silent.getsockname()[1]}", TOKEN, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(CsiError, match="did not answer within 0.3 s"):
            client.documents([doc("homer")])
        assert time.monotonic() - started < 5
