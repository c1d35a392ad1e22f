"""The document CSI functions inside wasm (the SDK-built ``test/sink`` skill, through the kernel API)
against the built-in index on SQLite: FTS5 full-text and sqlite-vec semantic search; and a namespace
whose documents live in an external DocumentIndex (the loopback stand-in)."""

from __future__ import annotations

import json

from skills.documents.models import ExternalDocumentIndex, Index
from skills.models import Namespace
from tests.documents.conftest import load_corpus


def sink(caller, action, text):
    response = caller.run("test/sink", {"action": action, "text": text})
    return response.status_code, response.json()


def test_search_documents_and_metadata_inside_wasm_full_text(kernel, builtin):
    load_corpus("ns", "collection", "index")
    alice = kernel["alice"]
    status, body = sink(alice, "search", "webassembly components")
    assert (status, body["result"]) == (200, ["The Pharia Kernel runs skills as WebAssembly components."])
    assert sink(alice, "documents", "homer")[1]["result"] == "[Text(text='Hello Homer', modality='text')]"
    assert sink(alice, "document_metadata", "kernel/faq")[1]["result"] == {"lang": "en"}
    assert sink(alice, "document_metadata", "homer")[1]["result"] is None
    status, body = sink(alice, "documents", "missing")
    assert status in (400, 502) and "document ns/collection/missing not found" in json.dumps(body)


def test_semantic_search_inside_wasm_with_sqlite_vec(kernel, embeddings):
    load_corpus("ns", "collection", "index", Index.SEMANTIC)
    status, body = sink(kernel["alice"], "search", "hello homer")
    assert (status, body["result"]) == (200, ["Hello Homer"])


def test_a_namespace_can_keep_its_documents_in_an_external_index(kernel, builtin, document_index):
    load_corpus("ns", "collection", "index")
    ExternalDocumentIndex.objects.create(namespace=Namespace.objects.get(name="ns"), url=document_index.url)
    _, body = sink(kernel["alice"], "search", "homer")
    assert body["result"] == ["Hello Homer"]
    assert document_index.requests and document_index.requests[-1]["method"] == "POST"
    ExternalDocumentIndex.objects.update(enabled=False)
    before = len(document_index.requests)
    assert sink(kernel["alice"], "search", "homer")[1]["result"] == ["Hello Homer"]
    assert len(document_index.requests) == before  # served by the built-in index again


def test_the_global_document_index_setting_still_wins_over_the_builtin_one(kernel, builtin, document_index):
    builtin.DOCUMENT_INDEX_URL = document_index.url
    assert sink(kernel["alice"], "document_metadata", "kernel/faq")[1]["result"] == {"lang": "en"}
    assert document_index.requests[-1]["method"] == "GET"


def test_with_the_builtin_index_off_and_no_external_one_the_run_says_so(kernel, builtin):
    builtin.DOCUMENTS_BUILTIN = False
    _, body = sink(kernel["alice"], "search", "x")
    assert "document index is not configured on this kernel" in json.dumps(body)
