"""Namespace ``evals`` with two versions of the ``grader`` test skill, and callers of each role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from skills.models import Namespace, NamespaceGrant, SkillVersion
from skills.services import registry

SOURCES = Path(__file__).resolve().parents[1] / "skills" / "evaluations"


@pytest.fixture(scope="session")
def grader_wasm() -> dict[str, Path]:
    from skills import builder

    return {source.stem: builder.build(source) for source in sorted(SOURCES.glob("*.py"))}


@dataclass
class Evals:
    v1: SkillVersion
    v2: SkillVersion
    users: dict[str, User]
    clients: dict[str, APIClient]


def _user(username: str, role: str | None, superuser: bool = False) -> tuple[User, APIClient]:
    user = User.objects.create_user(username, password="pw", is_superuser=superuser, is_staff=superuser)
    if role:
        group = Group.objects.create(name=f"{username}-group")
        user.groups.add(group)
        NamespaceGrant.objects.create(namespace=Namespace.objects.get(name="evals"), group=group, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return user, client


@pytest.fixture
def evals(transactional_db, grader_wasm) -> Evals:
    """``evals/grader``: v1 (tagged latest) and v2 (untagged), both ready; users admin (superuser),
    ada (invoke), dora (deploy), vic (view) and nobody (no grant)."""
    Namespace.objects.create(name="evals")
    v1 = registry.register_version("evals", "grader", grader_wasm["grader_v1"].read_bytes()).version
    v2 = registry.register_version("evals", "grader", grader_wasm["grader_v2"].read_bytes(), tag=None).version
    assert v1.status == v2.status == SkillVersion.READY, (v1.failure_reason, v2.failure_reason)
    users, clients = {}, {}
    for name, role, superuser in (
        ("admin", None, True),
        ("ada", NamespaceGrant.INVOKE, False),
        ("dora", NamespaceGrant.DEPLOY, False),
        ("vic", NamespaceGrant.VIEW, False),
        ("nobody", None, False),
    ):
        users[name], clients[name] = _user(name, role, superuser)
    return Evals(v1, v2, users, clients)


EXAMPLES = [
    {
        "input": {"text": "a good day", "number": 1},
        "expected": {"label": "positive", "words": 3, "double": 2.0, "answer": ""},
    },
    {
        "input": {"text": "a great day", "number": 2},
        "expected": {"label": "positive", "words": 3, "double": 4.0, "answer": ""},
    },
    {
        "input": {"text": "not good at all", "number": 3},
        "expected": {"label": "negative", "words": 4, "double": 6.0, "answer": ""},
    },
    {
        "input": {"text": "rain", "number": 0.5},
        "expected": {"label": "negative", "words": 1, "double": 1.0, "answer": ""},
    },
]


def jsonl(examples: list[dict]) -> bytes:
    return "\n".join(json.dumps(e) for e in examples).encode()
