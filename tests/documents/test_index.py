"""The built-in index on the test database (SQLite): FTS5 full-text, sqlite-vec semantic and hybrid
search over the stand-in DocumentIndex's corpus, with filters, cursors and replaced documents."""

from __future__ import annotations

import pytest
from django.db import connection

from skills.documents import services
from skills.documents.models import Chunk, Document, Index
from skills.documents.search import table
from skills.services.errors import InvalidInput
from tests.documents.conftest import load_corpus

pytestmark = pytest.mark.django_db

EN = [{"with": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]


def names(results):
    return [r.document_path.name for r in results]


def test_full_text_search_ranks_chunks_with_cursors(builtin):
    index = load_corpus("ns", "collection", "index")
    results = services.search(index, services.Query("webassembly components", max_results=5))
    top = results[0]
    assert top.content == "The Pharia Kernel runs skills as WebAssembly components."
    assert (top.document_path.namespace, top.document_path.collection) == ("ns", "collection")
    assert (top.start.item, top.start.position, top.end.position) == (0, 0, len(top.content) - 1)
    assert 0 < top.score < 1
    assert names(services.search(index, services.Query("homer"))) == ["homer"]
    assert services.search(index, services.Query("nothing-like-this")) == []
    assert services.search(index, services.Query('"; DROP TABLE x; --')) == []


def test_stemming_finds_other_forms(builtin):
    index = load_corpus("ns", "collection", "index")
    assert "kernel/faq" in names(services.search(index, services.Query("calling tool")))


def test_filters_max_results_and_min_score(builtin):
    index = load_corpus("ns", "collection", "index")
    query = "kernel skills tools"
    assert names(services.search(index, services.Query(query, 5, filters=EN))) == ["kernel/faq"]
    without = [{"without": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]
    assert "kernel/faq" not in names(services.search(index, services.Query(query, 5, filters=without)))
    one_of = [{"with_one_of": [{"metadata": {"field": "lang", "equal_to": "de"}}, {"modality": "text"}]}]
    assert len(services.search(index, services.Query(query, 5, filters=one_of))) == 3
    assert len(services.search(index, services.Query(query, max_results=1))) == 1
    assert services.search(index, services.Query(query, 5, min_score=0.99)) == []
    with pytest.raises(InvalidInput, match="filters\\[0\\]"):
        services.search(index, services.Query(query, 5, filters=[{"maybe": []}]))


def test_metadata_conditions_on_numbers_times_nulls_and_lists(builtin):
    from skills.documents.filters import passes

    meta = {"year": 2024, "at": "2024-05-01T10:00:00Z", "author": {"name": "Ada"}, "gone": None}
    assert passes([{"with": [{"metadata": {"field": "year", "greater_than": 2023}}]}], meta)
    assert not passes([{"with": [{"metadata": {"field": "year", "less_than_or_equal_to": 2023}}]}], meta)
    assert passes([{"with": [{"metadata": {"field": "at", "before": "2025-01-01T00:00:00+00:00"}}]}], meta)
    assert passes([{"with": [{"metadata": {"field": "author.name", "equal_to": "Ada"}}]}], meta)
    assert passes([{"with": [{"metadata": {"field": "gone", "is_null": True}}]}], meta)
    assert passes([{"with": [{"metadata": {"field": "url", "is_null": False}}]}], [{"url": "x"}, {}])


def test_semantic_and_hybrid_search_with_sqlite_vec(embeddings):
    semantic = load_corpus("ns", "collection", "semantic", Index.SEMANTIC)
    assert (semantic.embedding_model, semantic.dimensions) == ("test-embedding", 64)
    results = services.search(semantic, services.Query("Hello Homer", max_results=3))
    assert results[0].document_path.name == "homer" and results[0].score == pytest.approx(1.0, abs=1e-5)
    assert results[1].score < results[0].score
    filtered = services.search(semantic, services.Query("Hello Homer", 3, filters=EN))
    assert names(filtered) == ["kernel/faq"]

    hybrid = load_corpus("ns", "hybrid", "index", Index.HYBRID)
    top = services.search(hybrid, services.Query("WebAssembly components", max_results=2))[0]
    assert top.content.endswith("WebAssembly components.") and 0.5 < top.score <= 1.0


def test_replacing_and_deleting_documents_replace_their_chunks_and_vectors(
    embeddings, django_capture_on_commit_callbacks
):
    index = load_corpus("ns", "collection", "index", Index.HYBRID)
    collection = index.collection
    document = services.put_document(collection, "homer", [{"modality": "text", "text": "Goodbye Marge"}])
    assert document.version == 2
    assert names(services.search(index, services.Query("Marge")))[0] == "homer"
    assert "Hello Homer" not in [r.content for r in services.search(index, services.Query("Homer", 5))]

    def vector_rows() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table(index)}")
            return cursor.fetchone()[0]

    assert vector_rows() == Chunk.objects.filter(index=index).count() == 4
    services.delete_document(Document.objects.get(name="homer"))
    assert vector_rows() == Chunk.objects.filter(index=index).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_collection(collection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [table(index)])
        assert cursor.fetchone()[0] == 0


def test_long_documents_are_chunked_by_tokens_with_positions(builtin):
    index = load_corpus("ns", "collection", "index")
    services.put_index(index.collection, "index", Index.FULLTEXT, chunk_tokens=20)
    text = " ".join(f"Sentence number {n} talks about topic{n}." for n in range(40))
    services.put_document(index.collection, "long", [{"modality": "text", "text": text}])
    chunks = list(Chunk.objects.filter(document__name="long").order_by("start"))
    assert len(chunks) > 5
    assert all(text[c.start : c.end + 1] == c.text for c in chunks)
    hit = services.search(index, services.Query("topic17", max_results=1))[0]
    assert "topic17" in hit.content and text[hit.start.position : hit.end.position + 1] == hit.content


def test_vector_indexes_need_an_embedding_model(builtin):
    index = load_corpus("ns", "collection", "index")
    with pytest.raises(InvalidInput, match="embedding model"):
        services.put_index(index.collection, "semantic", Index.SEMANTIC)
    with pytest.raises(InvalidInput, match="contents"):
        services.put_document(index.collection, "bad", [{"modality": "video"}])
