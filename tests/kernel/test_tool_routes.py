"""``GET /v1/tools/{namespace}`` and ``GET /v1/mcp_servers/{namespace}``: PhariaEngine's namespace
tool routes, with a real MCP server on loopback and the kernel's access rules."""

from __future__ import annotations

import json
import socket

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from runtime.csi.tools import NativeTools
from runtime.csi.types import Tool
from skills.api.openapi import openapi_document
from skills.models import McpServer, Namespace, NamespaceGrant
from skills.services import csi as csi_backends
from tests.support.mcp_server import McpTestServer


@pytest.fixture(scope="module")
def mcp_server():
    with McpTestServer() as server:
        yield server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client(user: User | None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def callers(db, mcp_server):
    """``test`` (native tools, an enabled and a disabled MCP server), ``empty``, ``hidden``."""
    csi_backends.clear_caches()
    test = Namespace.objects.create(name="test", native_tools="subtract,add,saboteur")
    McpServer.objects.create(namespace=test, name="math", url=mcp_server.url)
    McpServer.objects.create(namespace=test, name="archive", url="http://127.0.0.1:9/mcp", enabled=False)
    empty = Namespace.objects.create(name="empty")
    Namespace.objects.create(name="hidden", native_tools="add")
    clients = {}
    for name, role in (("invoker", NamespaceGrant.INVOKE), ("viewer", NamespaceGrant.VIEW)):
        user = User.objects.create_user(name)
        group = Group.objects.create(name=f"{name}s")
        user.groups.add(group)
        NamespaceGrant.objects.create(namespace=test, group=group, role=role)
        NamespaceGrant.objects.create(namespace=empty, group=group, role=role)
        clients[name] = _client(user)
    clients["admin"] = _client(User.objects.create_user("admin", is_superuser=True))
    clients["stranger"] = _client(User.objects.create_user("stranger"))
    clients["anonymous"] = _client(None)
    yield clients
    csi_backends.clear_caches()


def test_tools_of_a_namespace_sorted_by_name_native_first_on_a_clash(callers):
    response = callers["viewer"].get("/v1/tools/test")  # viewing the namespace is enough

    assert response.status_code == 200
    tools = response.json()
    assert [tool["name"] for tool in tools] == [
        "add",
        "echo",
        "fail",
        "header",
        "multiply",
        "saboteur",
        "sleep",
        "subtract",
    ]
    assert all(set(tool) == {"name", "description", "input_schema"} for tool in tools)
    [native_add] = NativeTools(["add"]).list_tools()
    assert tools[0] == {
        "name": "add",
        "description": native_add.description,
        "input_schema": json.loads(native_add.input_schema),
    }
    multiply = next(tool for tool in tools if tool["name"] == "multiply")
    assert multiply["description"] == "Multiply two integers."
    assert multiply["input_schema"]["required"] == ["a", "b"]
    assert callers["invoker"].get("/v1/tools/test").json() == tools
    assert callers["admin"].get("/v1/tools/test").json() == tools


def test_tools_are_sorted_whatever_order_the_backend_lists_them_in(callers, monkeypatch):
    # PhariaEngine's tools_per_namespace_are_listed_and_sorted, ported
    class Unsorted:
        def list_tools(self):
            return [Tool("divide", "Divide two numbers", b"{}"), Tool("add", "Add two numbers", b"{}")]

    monkeypatch.setattr("skills.services.csi.tools_for", lambda namespace: Unsorted())
    response = callers["viewer"].get("/v1/tools/test")
    assert response.content.decode() == (
        '[{"name":"add","description":"Add two numbers","input_schema":{}},'
        '{"name":"divide","description":"Divide two numbers","input_schema":{}}]'
    )


def test_mcp_servers_of_a_namespace_are_the_enabled_ones(callers, mcp_server):
    assert callers["viewer"].get("/v1/mcp_servers/test").json() == [mcp_server.url]
    McpServer.objects.filter(name="archive").update(enabled=True, url="http://127.0.0.1:9/other")
    # in the order their tools take precedence: by server name
    assert callers["admin"].get("/v1/mcp_servers/test").json() == ["http://127.0.0.1:9/other", mcp_server.url]


def test_a_namespace_without_tools_lists_none(callers):
    assert callers["viewer"].get("/v1/tools/empty").json() == []
    assert callers["viewer"].get("/v1/mcp_servers/empty").json() == []


@pytest.mark.parametrize("route", ["tools", "mcp_servers"])
@pytest.mark.parametrize(
    ("caller", "namespace"), [("stranger", "test"), ("viewer", "hidden"), ("admin", "nowhere")]
)
def test_a_namespace_you_may_not_view_is_not_found(callers, route, caller, namespace):
    response = callers[caller].get(f"/v1/{route}/{namespace}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"kind": "not_found", "message": f"Namespace '{namespace}' not found"}
    }


@pytest.mark.parametrize("route", ["tools", "mcp_servers"])
def test_authentication_and_methods(callers, route):
    anonymous = callers["anonymous"].get(f"/v1/{route}/test")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["kind"] == "unauthenticated"
    wrong = _client(None)
    wrong.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.get(f"/v1/{route}/test").status_code == 401
    assert callers["viewer"].post(f"/v1/{route}/test").status_code == 405


def test_an_mcp_server_that_cannot_be_listed_is_a_502_naming_it(callers):
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    McpServer.objects.create(namespace=Namespace.objects.get(name="test"), name="down", url=url)
    response = callers["viewer"].get("/v1/tools/test")
    assert response.status_code == 502
    assert response.json()["error"]["kind"] == "backend_error" and url in response.json()["error"]["message"]


def test_the_routes_are_in_the_openapi_document():
    paths = openapi_document("http://kernel")["paths"]
    assert set(paths["/v1/tools/{namespace}"]["get"]["responses"]) >= {"200", "401", "404"}
    assert set(paths["/v1/mcp_servers/{namespace}"]["get"]["responses"]) >= {"200", "401", "404"}
