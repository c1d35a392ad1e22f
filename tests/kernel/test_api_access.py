"""Every /v1 route needs a token; namespaces decide who may view and invoke."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

ROUTES = [
    ("post", "/v1/skills/test/sink/run"),
    ("post", "/v1/skills/test/stream/message-stream"),
    ("get", "/v1/skills/test/sink/metadata"),
    ("get", "/v1/skills"),
    ("get", "/api/v1/runs/00000000-0000-0000-0000-000000000000"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Token abc"])
def test_every_route_requires_a_valid_bearer_token(kernel, method, path, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["kind"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_viewer_may_read_but_not_invoke(kernel):
    viewer = kernel["viewer"]
    assert viewer.client.get("/v1/skills/test/sink/metadata").status_code == 200
    response = viewer.run("test/sink", {"action": "echo"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "you may not invoke skills in namespace 'test'"


def test_stranger_sees_nothing(kernel):
    stranger = kernel["stranger"]
    assert stranger.client.get("/v1/skills").json() == []
    assert stranger.run("test/sink", {"action": "echo"}).status_code == 404


def test_health_and_openapi_are_public(kernel):
    client = APIClient()
    health = client.get("/health")
    assert (health.status_code, health.content) == (200, b"ok")
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/v1/skills/{namespace}/{name}/run" in document["paths"]
