"""Admin for the CSI of a namespace: its MCP servers (inline on the namespace, and a list of their own
with a "discover tools" action) and a check of the native tools field.

Imported at the end of ``skills/admin.py``, after ``NamespaceAdmin`` is registered.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models

from runtime.csi.tools import NATIVE_TOOLS
from runtime.csi.types import CsiError
from skills.admin import NamespaceAdmin
from skills.models import McpServer, Namespace
from skills.services import csi as csi_backends


class McpServerInline(admin.TabularInline):
    model = McpServer
    extra = 0
    fields = ["name", "url", "headers", "enabled"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class NamespaceToolsForm(forms.ModelForm):
    """Rejects native tool names the kernel does not have, so a typo does not silently drop a tool."""

    class Meta:
        model = Namespace
        fields = "__all__"

    def clean_native_tools(self) -> str:
        names = [
            name.strip() for name in self.cleaned_data.get("native_tools", "").split(",") if name.strip()
        ]
        unknown = sorted(set(names) - set(NATIVE_TOOLS))
        if unknown:
            raise forms.ValidationError(
                f"Unknown native tools: {', '.join(unknown)}. Known: {', '.join(NATIVE_TOOLS)}."
            )
        return ",".join(dict.fromkeys(names))


NamespaceAdmin.inlines = [*NamespaceAdmin.inlines, McpServerInline]
if NamespaceAdmin.form is forms.ModelForm:  # keep a form another module may have set
    NamespaceAdmin.form = NamespaceToolsForm


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "url", "enabled", "created_at"]
    list_filter = ["enabled", "namespace"]
    search_fields = ["name", "url", "namespace__name"]
    list_select_related = ["namespace"]
    actions = ["discover_tools"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Discover the tools of the selected MCP servers")
    def discover_tools(self, request, queryset) -> None:
        for server in queryset:
            try:
                tools = csi_backends.discover_tools(server)
            except CsiError as error:
                self.message_user(request, f"{server.name}: {error}", messages.ERROR)
                continue
            names = ", ".join(tool.name for tool in tools) or "no tools"
            self.message_user(request, f"{server.name}: {names}", messages.SUCCESS)
