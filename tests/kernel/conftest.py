"""A registry most kernel tests need: namespace ``test`` with the test skills, and four callers."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from skills.models import Namespace, NamespaceGrant
from skills.services import registry


@dataclass
class Caller:
    user: User
    client: APIClient

    def run(self, skill: str, body, **extra):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(f"/v1/skills/{skill}/run", data, content_type="application/json", **extra)


def _caller(username: str, role: str | None = None, superuser: bool = False) -> Caller:
    user = User.objects.create_user(username, password="pw", is_superuser=superuser, is_staff=superuser)
    if role:
        group = Group.objects.create(name=f"{username}-group")
        user.groups.add(group)
        NamespaceGrant.objects.create(namespace=Namespace.objects.get(name="test"), group=group, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return Caller(user, client)


@pytest.fixture
def kernel(transactional_db, skill_wasm):
    """Registers the test skills (compiled once per content hash, then loaded from the cache)."""
    Namespace.objects.create(name="test", native_tools="add,subtract,saboteur")
    for name, path in (("sink", "kitchen_sink"), ("stream", "stream_skill")):
        result = registry.register_version("test", name, skill_wasm[path].read_bytes())
        assert result.version.status == "ready", result.version.failure_reason
    return {
        "admin": _caller("admin", superuser=True),
        "alice": _caller("alice", NamespaceGrant.INVOKE),
        "viewer": _caller("viewer", NamespaceGrant.VIEW),
        "stranger": _caller("stranger"),
    }


@pytest.fixture
def alice(kernel) -> Caller:
    return kernel["alice"]


@pytest.fixture
def document_index(monkeypatch):
    """The DocumentIndex test server, also serving its corpus at ("ns", "collection", "index"),
    where the test skills look."""
    from tests.support import document_index_server as di

    monkeypatch.setitem(di.CORPUS, ("ns", "collection"), di.CORPUS[(di.NAMESPACE, di.COLLECTION)])
    monkeypatch.setitem(di.INDEXES, ("ns", "collection"), {"index"})
    with di.DocumentIndexTestServer() as server:
        yield server
