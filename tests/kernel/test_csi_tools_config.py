"""Operators configure a namespace's tools: native tools and MCP servers, in the admin and with
``manage.py configure_namespace``; the admin discovers an MCP server's tools on request."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from skills.models import McpServer, Namespace
from tests.support.mcp_server import McpTestServer


@pytest.fixture
def admin_client(db, client, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def configure(*args) -> str:
    out = StringIO()
    call_command("configure_namespace", *args, stdout=out)
    return out.getvalue()


def test_configure_namespace_sets_native_tools_and_mcp_servers(db):
    out = configure(
        "test-beta", "--native-tools", "add,subtract,saboteur", "--mcp-server", "math=http://127.0.0.1:9/mcp"
    )
    assert "namespace test-beta created; native tools: add, subtract, saboteur" in out
    assert "MCP servers: math (http://127.0.0.1:9/mcp)" in out
    out = configure(
        "test-beta",
        "--mcp-server",
        "math=http://127.0.0.1:10/mcp",
        "--mcp-server",
        "docs=https://mcp.example/mcp",
    )
    assert McpServer.objects.get(name="math").url == "http://127.0.0.1:10/mcp"
    configure("test-beta", "--remove-mcp-server", "math")
    assert list(McpServer.objects.values_list("name", flat=True)) == ["docs"]
    assert Namespace.objects.get(name="test-beta").native_tool_names == ["add", "subtract", "saboteur"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--native-tools", "add,divide"], "unknown native tools: divide"),
        (["--mcp-server", "math"], "takes NAME=URL"),
        (["--mcp-server", "math=ftp://x/mcp"], "is not an http(s) URL"),
    ],
)
def test_configure_namespace_rejects_bad_tools(db, args, words):
    with pytest.raises(CommandError, match=words.replace("(", r"\(").replace(")", r"\)")):
        configure("ns", *args)


def test_admin_shows_mcp_servers_inline_and_checks_native_tools(admin_client):
    namespace = Namespace.objects.create(name="team")
    page = admin_client.get(f"/admin/skills/namespace/{namespace.pk}/change/")
    assert page.status_code == 200 and b"mcp_servers-TOTAL_FORMS" in page.content
    data = {
        "name": "team",
        "description": "",
        "native_tools": "add, sabotuer",
        "grants-TOTAL_FORMS": "0",
        "grants-INITIAL_FORMS": "0",
        "mcp_servers-TOTAL_FORMS": "1",
        "mcp_servers-INITIAL_FORMS": "0",
        "mcp_servers-0-name": "math",
        "mcp_servers-0-url": "http://127.0.0.1:9/mcp",
        "mcp_servers-0-headers": '{"Authorization": "Bearer t"}',
        "mcp_servers-0-enabled": "on",
    }
    rejected = admin_client.post(f"/admin/skills/namespace/{namespace.pk}/change/", data)
    assert rejected.status_code == 200 and b"Unknown native tools: sabotuer" in rejected.content
    saved = admin_client.post(
        f"/admin/skills/namespace/{namespace.pk}/change/", {**data, "native_tools": "add, saboteur"}
    )
    assert saved.status_code == 302, saved.content[:2000]
    namespace.refresh_from_db()
    assert namespace.native_tools == "add,saboteur"
    assert namespace.mcp_servers.get().headers == {"Authorization": "Bearer t"}


def test_admin_discovers_the_tools_of_mcp_servers(admin_client):
    namespace = Namespace.objects.create(name="team")
    with McpTestServer() as server:
        up = McpServer.objects.create(namespace=namespace, name="math", url=server.url)
        down = McpServer.objects.create(namespace=namespace, name="gone", url="http://127.0.0.1:9/mcp")
        response = admin_client.post(
            "/admin/skills/mcpserver/",
            {"action": "discover_tools", "_selected_action": [up.pk, down.pk]},
            follow=True,
        )
    shown = [str(message) for message in response.context["messages"]]
    assert "math: multiply, add, echo, fail, sleep, header" in shown
    assert any(
        text.startswith("gone: MCP server gone (http://127.0.0.1:9/mcp) unreachable") for text in shown
    )
