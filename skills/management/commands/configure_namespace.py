from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator

from runtime.csi.tools import NATIVE_TOOLS
from skills.models import McpServer, Namespace


class Command(BaseCommand):
    help = (
        "Create or update a namespace; optionally enable native test tools (add, subtract, saboteur) "
        "and attach or remove MCP servers."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--native-tools", default=None, help="Comma-separated, e.g. add,subtract,saboteur"
        )
        parser.add_argument("--description", default=None)
        parser.add_argument(
            "--mcp-server",
            action="append",
            default=[],
            metavar="NAME=URL",
            help="Attach (or update) an MCP server reachable over streamable HTTP; repeatable.",
        )
        parser.add_argument(
            "--remove-mcp-server", action="append", default=[], metavar="NAME", help="Detach an MCP server."
        )

    def handle(self, name, native_tools, description, mcp_server, remove_mcp_server, **options):
        servers = [self._server(value) for value in mcp_server]
        namespace, created = Namespace.objects.get_or_create(name=name)
        if native_tools is not None:
            tools = [tool.strip() for tool in native_tools.split(",") if tool.strip()]
            unknown = sorted(set(tools) - set(NATIVE_TOOLS))
            if unknown:
                raise CommandError(
                    f"unknown native tools: {', '.join(unknown)}; known: {', '.join(NATIVE_TOOLS)}"
                )
            namespace.native_tools = ",".join(tools)
        if description is not None:
            namespace.description = description
        namespace.full_clean()
        namespace.save()
        for server_name, url in servers:
            McpServer.objects.update_or_create(
                namespace=namespace, name=server_name, defaults={"url": url, "enabled": True}
            )
        McpServer.objects.filter(namespace=namespace, name__in=remove_mcp_server).delete()
        tools = ", ".join(namespace.native_tool_names) or "none"
        attached = ", ".join(f"{s.name} ({s.url})" for s in namespace.mcp_servers.all()) or "none"
        self.stdout.write(
            f"namespace {name} {'created' if created else 'updated'}; native tools: {tools}; "
            f"MCP servers: {attached}"
        )

    def _server(self, value: str) -> tuple[str, str]:
        server_name, _, url = value.partition("=")
        if not server_name.strip() or not url.strip():
            raise CommandError(f"--mcp-server takes NAME=URL, got {value!r}")
        try:
            URLValidator(schemes=["http", "https"])(url.strip())
        except ValidationError as error:
            raise CommandError(f"--mcp-server {server_name}: {url!r} is not an http(s) URL") from error
        return server_name.strip(), url.strip()
