"""The REST API of the built-in index under the API's auth model, and the kernel's own DocumentIndex
client (``runtime/csi/documents.py``) speaking to it: the wire shapes are the DocumentIndex's."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runtime.csi.documents import DocumentIndexClient
from runtime.csi.types import CsiNotFound, DocumentPath, IndexPath, InvalidCsiRequest, SearchRequest
from skills.models import Namespace, NamespaceGrant

pytestmark = pytest.mark.django_db

BASE = "/v1/collections/docs/handbook"
DOC = {
    "contents": [{"modality": "text", "text": "Skills run as WebAssembly components."}],
    "metadata": {"lang": "en"},
}


def client_for(role: str | None, superuser: bool = False, name: str | None = None) -> APIClient:
    name = name or (role or ("admin" if superuser else "stranger"))
    user = User.objects.create_user(name, is_superuser=superuser)
    if role:
        group = Group.objects.create(name=f"{name}-group")
        user.groups.add(group)
        NamespaceGrant.objects.create(namespace=Namespace.objects.get(name="docs"), group=group, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def clients(builtin):
    Namespace.objects.create(name="docs")
    return {role: client_for(role) for role in ("view", "invoke", "deploy")} | {"stranger": client_for(None)}


def test_put_get_list_and_delete_documents_with_slashes_in_names(clients):
    deployer, viewer = clients["deploy"], clients["view"]
    name = quote("guides/setup v1.md", safe="")
    created = deployer.put(f"{BASE}/docs/{name}", DOC, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["path"] == {
        "namespace": "docs",
        "collection": "handbook",
        "name": "guides/setup v1.md",
    }
    assert deployer.put(f"{BASE}/docs/{name}", DOC, format="json").json()["version"] == 2

    got = viewer.get(f"{BASE}/docs/{name}").json()
    assert (got["contents"], got["metadata"]) == (DOC["contents"], {"lang": "en"})
    assert viewer.get("/v1/collections").json() == [{"namespace": "docs", "collection": "handbook"}]
    assert viewer.get("/v1/collections/docs").json() == [{"namespace": "docs", "collection": "handbook"}]
    assert [d["path"]["name"] for d in viewer.get(f"{BASE}/docs").json()] == ["guides/setup v1.md"]
    assert viewer.get(f"{BASE}/indexes").json()[0]["name"] == "default"

    assert viewer.delete(f"{BASE}/docs/{name}").status_code == 403
    assert deployer.delete(f"{BASE}/docs/{name}").status_code == 204
    assert viewer.get(f"{BASE}/docs/{name}").status_code == 404


def test_search_answers_the_document_index_shape(clients):
    clients["deploy"].put(f"{BASE}/docs/a", DOC, format="json")
    body = {"query": [{"modality": "text", "text": "webassembly"}], "max_results": 3}
    hits = clients["view"].post(f"{BASE}/indexes/default/search", body, format="json").json()
    assert hits[0]["document_path"] == {"namespace": "docs", "collection": "handbook", "name": "a"}
    assert hits[0]["section"] == [{"modality": "text", "text": "Skills run as WebAssembly components."}]
    assert hits[0]["start"] == {"modality": "text", "item": 0, "position": 0}
    assert hits[0]["end"]["position"] == len(DOC["contents"][0]["text"]) - 1 and 0 < hits[0]["score"] < 1
    german = [{"with": [{"metadata": {"field": "lang", "equal_to": "de"}}]}]
    assert (
        clients["view"]
        .post(f"{BASE}/indexes/default/search", {**body, "filters": german}, format="json")
        .json()
        == []
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("put", f"{BASE}/docs/a", {"contents": "text"}, 400, "contents must be a non-empty list"),
        ("put", f"{BASE}/docs/a", [1], 400, "JSON object"),
        ("put", "/v1/collections/docs/bad name!/docs/a", DOC, 400, "not a valid name"),
        ("put", "/v1/collections/nowhere/c/docs/a", DOC, 404, "namespace 'nowhere'"),
        ("get", f"{BASE}/docs/missing", None, 404, "not found"),
        ("post", f"{BASE}/indexes/default/search", {"query": 3}, 400, "query must be"),
        ("post", f"{BASE}/indexes/default/search", {"query": "x", "max_results": 0}, 400, "max_results"),
        ("post", f"{BASE}/indexes/default/search", {"query": "x", "filters": [{"x": 1}]}, 400, "filters[0]"),
        ("post", f"{BASE}/indexes/nope/search", {"query": "x"}, 404, "index docs/handbook/nope"),
        ("put", f"{BASE}/indexes/semantic", {"kind": "semantic"}, 400, "embedding model"),
        ("put", f"{BASE}/indexes/small", {"chunk_size": 10, "chunk_overlap": 10}, 400, "chunk_overlap"),
    ],
)
def test_errors_are_json_with_the_right_status(clients, method, path, body, status, words):
    clients["deploy"].put(BASE, format="json")
    response = getattr(clients["deploy"], method)(path, body, format="json")
    assert response.status_code == status, response.content
    assert words in response.json()["error"]["message"]


def test_callers_need_grants(clients):
    clients["deploy"].put(f"{BASE}/docs/a", DOC, format="json")
    assert clients["stranger"].get(f"{BASE}/docs/a").status_code == 404
    assert clients["stranger"].get("/v1/collections").json() == []
    assert clients["invoke"].put(f"{BASE}/docs/b", DOC, format="json").status_code == 403
    assert APIClient().get(f"{BASE}/docs/a").status_code == 401


def test_the_kernels_document_index_client_speaks_to_the_builtin_api(transactional_db, builtin, live_server):
    Namespace.objects.create(name="docs")
    token = Token.objects.create(user=User.objects.create_user("ops", is_superuser=True)).key
    api = DocumentIndexClient(f"{live_server.url}/v1", token)
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    admin.put(f"{BASE}/docs/{quote('a/b', safe='')}", DOC, format="json")
    [results] = api.search([SearchRequest(IndexPath("docs", "handbook", "default"), "components", 2)])
    assert results[0].document_path == DocumentPath("docs", "handbook", "a/b")
    [document] = api.documents([DocumentPath("docs", "handbook", "a/b")])
    assert document.contents == [("text", "Skills run as WebAssembly components.")]
    assert api.document_metadata([DocumentPath("docs", "handbook", "a/b")]) == [b'{"lang": "en"}']
    with pytest.raises(CsiNotFound):
        api.documents([DocumentPath("docs", "handbook", "missing")])
    with pytest.raises(InvalidCsiRequest):
        api.search([SearchRequest(IndexPath("docs", "handbook", "default"), "x", 0)])
