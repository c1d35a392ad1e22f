from django.core.management.base import BaseCommand, CommandError

from runtime.csi.tools import NATIVE_TOOLS
from skills.models import Namespace


class Command(BaseCommand):
    help = "Create or update a namespace; optionally enable native test tools (add, subtract, saboteur)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--native-tools", default=None, help="Comma-separated, e.g. add,subtract,saboteur"
        )
        parser.add_argument("--description", default=None)

    def handle(self, name, native_tools, description, **options):
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
        tools = ", ".join(namespace.native_tool_names) or "none"
        self.stdout.write(f"namespace {name} {'created' if created else 'updated'}; native tools: {tools}")
