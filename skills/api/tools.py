"""PhariaEngine's namespace tool routes (``src/tool/tool_routes.rs``, ``src/mcp/routes.rs``).

* ``GET /v1/tools/{namespace}``: the tools skills of the namespace can call, native and MCP, sorted
  by name: ``[{"name", "description", "input_schema"}]`` (the shape of the CSI shell's
  ``list_tools``). A configured MCP server that cannot be listed is a 502 naming it.
* ``GET /v1/mcp_servers/{namespace}``: the URLs of the namespace's enabled MCP servers, in the order
  their tools take precedence (by server name): ``["http://localhost:8000/mcp"]``.

Authenticated like the rest of ``/v1``; a namespace the caller may not view is a 404 with
PhariaEngine's words, ``Namespace '<name>' not found``.
"""

from __future__ import annotations

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from runtime.csi.types import CsiError
from skills.csi_shell.conversions import sorted_tools
from skills.models import Namespace, NamespaceGrant
from skills.services import access
from skills.services import csi as csi_backends
from skills.services.errors import BackendFailed, NotFound


def _viewable(user, name: str) -> Namespace:
    try:
        return access.namespace_for(user, name, NamespaceGrant.VIEW)
    except NotFound as error:
        raise NotFound(f"Namespace '{name}' not found") from error


@api_view(["GET"])
def list_tools(request: Request, namespace: str) -> Response:
    tools = csi_backends.tools_for(_viewable(request.user, namespace))
    try:
        listed = tools.list_tools()
    except CsiError as error:
        raise BackendFailed(str(error)) from error
    return Response(sorted_tools(listed))


@api_view(["GET"])
def list_mcp_servers(request: Request, namespace: str) -> Response:
    servers = _viewable(request.user, namespace).mcp_servers.filter(enabled=True).order_by("name")
    return Response([server.url for server in servers])
