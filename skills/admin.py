"""The admin: register versions by upload, move tags, deactivate skills, grant namespaces."""

from __future__ import annotations

import threading

from django import forms
from django.contrib import admin, messages
from django.db import close_old_connections
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from skills.models import Namespace, NamespaceGrant, Run, Skill, SkillVersion, Tag
from skills.services import registry
from skills.services.errors import KernelError


class GrantInline(admin.TabularInline):
    model = NamespaceGrant
    extra = 1


@admin.register(Namespace)
class NamespaceAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "native_tools", "created_at"]
    search_fields = ["name", "description"]
    inlines = [GrantInline]


class UploadForm(forms.Form):
    namespace = forms.CharField(max_length=63)
    name = forms.CharField(max_length=63, label="Skill name")
    component = forms.FileField(help_text="A .wasm component built with `pharia-skill build`")
    tag = forms.CharField(max_length=63, initial=registry.DEFAULT_TAG)


def _compile_in_background(version_id: int, tag: str) -> None:
    def work():
        try:
            registry.compile_version(version_id, tag_when_ready=tag)
        finally:
            close_old_connections()

    threading.Thread(target=work, name=f"compile-{version_id}", daemon=True).start()


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0
    fields = ["name", "version", "updated_at"]
    readonly_fields = ["updated_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            kwargs["queryset"] = SkillVersion.objects.filter(status=SkillVersion.READY).select_related(
                "skill"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_active", "timeout_seconds", "memory_mb", "created_at"]
    list_filter = ["namespace", "is_active"]
    search_fields = ["name", "namespace__name"]
    inlines = [TagInline]
    actions = ["deactivate", "activate"]

    @admin.action(description="Deactivate selected skills")
    def deactivate(self, request, queryset):
        queryset.update(is_active=False)

    @admin.action(description="Activate selected skills")
    def activate(self, request, queryset):
        queryset.update(is_active=True)


@admin.register(SkillVersion)
class SkillVersionAdmin(admin.ModelAdmin):
    list_display = [
        "skill",
        "short_digest",
        "status_badge",
        "world",
        "wit_version",
        "size_mb",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "world", "skill__namespace"]
    search_fields = ["digest", "skill__name"]
    readonly_fields = [
        "skill",
        "digest",
        "size",
        "component",
        "world",
        "wit_version",
        "description",
        "input_schema",
        "output_schema",
        "status",
        "failure_reason",
        "artifact",
        "artifact_key",
        "artifact_size",
        "compile_seconds",
        "created_by",
        "created_at",
    ]
    actions = ["tag_latest"]

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="skills_skillversion_upload")
        ] + super().get_urls()

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "upload_url": reverse("admin:skills_skillversion_upload")}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request):
        from django.template.response import TemplateResponse

        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = registry.register_version(
                    data["namespace"],
                    data["name"],
                    data["component"].read(),
                    user=request.user,
                    tag=None,
                    compile_now=False,
                )
            except KernelError as error:
                form.add_error("component", error.message)
            else:
                version = result.version
                if version.status == SkillVersion.PENDING:
                    _compile_in_background(version.pk, data["tag"])
                    messages.info(request, "Uploaded; compiling. This page updates when it is ready.")
                elif version.status == SkillVersion.READY:
                    registry.move_tag(version.skill, data["tag"], version)
                    messages.info(request, "These bytes were already registered; the tag now points at them.")
                return redirect(reverse("admin:skills_skillversion_change", args=[version.pk]))
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Upload a skill version",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/skills/skillversion/upload.html", context)

    @admin.display(description="digest")
    def short_digest(self, version):
        return version.digest[:12]

    @admin.display(description="size")
    def size_mb(self, version):
        return f"{version.size / 1e6:.1f} MB"

    @admin.display(description="status")
    def status_badge(self, version):
        return format_html(
            '<span class="status status-{}">{}</span>', version.status, version.get_status_display()
        )

    @admin.action(description="Point the 'latest' tag at the selected version")
    def tag_latest(self, request, queryset):
        for version in queryset.select_related("skill"):
            try:
                registry.move_tag(version.skill, registry.DEFAULT_TAG, version)
            except KernelError as error:
                self.message_user(request, f"{version}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{version.skill}:latest now points at {version.digest[:12]}")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "skill", "status", "error_kind", "caller", "mode", "queued_at", "duration_ms"]
    list_filter = ["status", "mode", "error_kind"]
    search_fields = ["id", "skill__name"]
    list_select_related = ["skill__namespace", "caller"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
