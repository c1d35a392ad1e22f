"""Admin for GitOps namespace sources: where each namespace's skills come from, the state of the
last sync (and its error), and a "Sync now" action. Imported at the end of ``skills/admin.py``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from skills.models import NamespaceSource
from skills.sources import sync


@admin.register(NamespaceSource)
class NamespaceSourceAdmin(admin.ModelAdmin):
    list_display = ["namespace", "kind", "location", "enabled", "state", "last_success_at", "from_config"]
    list_filter = ["kind", "enabled", "from_config"]
    search_fields = ["namespace__name", "config_url", "git_repository", "registry", "directory"]
    actions = ["sync_now"]
    readonly_fields = [
        "state",
        "last_error",
        "last_attempt_at",
        "last_success_at",
        "last_error_at",
        "consecutive_failures",
        "applied",
    ]
    fieldsets = [
        (None, {"fields": ["namespace", "kind", "enabled", "from_config"]}),
        (
            "Namespace file",
            {
                "fields": ["config_url", "config_access_token", "git_repository", "git_branch", "git_path"],
                "description": "A path or http(s) URL, or a Git repository (branch + path).",
            },
        ),
        (
            "Where the file's skills are pulled from",
            {
                "fields": [
                    "registry",
                    "base_repository",
                    "registry_user",
                    "registry_password",
                    "registry_insecure",
                    "directory",
                ],
                "description": "An OCI registry ({base-repository}/{skill}:{tag}, as `pharia-skill publish` "
                "pushes), or a directory of {skill}.wasm. A watched directory uses the directory only.",
            },
        ),
        ("Last sync", {"fields": readonly_fields}),
    ]

    @admin.display(description="where")
    def location(self, source: NamespaceSource) -> str:
        if source.kind == NamespaceSource.DIRECTORY:
            return source.directory
        where = (
            f"{source.git_repository}@{source.git_branch}:{source.git_path}"
            if source.git_repository
            else source.config_url
        )
        return f"{where} → {source.registry or source.directory or '?'}"

    @admin.display(description="state")
    def state(self, source: NamespaceSource):
        if not source.last_attempt_at:
            return "not synced yet"
        if source.last_error:
            return format_html(
                '<span style="color:#b00" title="{}">failing ({}×): {}</span>',
                source.last_error,
                source.consecutive_failures,
                source.last_error.splitlines()[0][:160],
            )
        skills = len((source.applied or {}).get("skills", {}))
        return format_html('<span style="color:#070">ok</span>, {} skill(s)', skills)

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        for source in queryset:
            report = sync.sync_source(source.pk)
            level = (
                messages.ERROR if report.errors else messages.WARNING if report.skipped else messages.SUCCESS
            )
            self.message_user(request, "; ".join(report.lines()), level)
