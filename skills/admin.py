"""The admin: register versions by upload, move tags, deactivate skills, grant namespaces."""

from __future__ import annotations

import threading

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from skills.models import ApiToken, Namespace, NamespaceGrant, Run, Skill, SkillVersion, Tag, slug
from skills.services import access, registry, tokens
from skills.services.errors import KernelError


class GrantInline(admin.TabularInline):
    model = NamespaceGrant
    extra = 1


@admin.register(Namespace)
class NamespaceAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "members", "native_tools", "created_at"]
    search_fields = ["name", "description"]
    inlines = [GrantInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("grants__group")

    @admin.display(description="groups (role)")
    def members(self, namespace):
        """Who may do what: members are managed in their groups (Authentication › Groups)."""
        grants = namespace.grants.all()
        if not grants:
            return "superusers only"
        return format_html_join(", ", "{} ({})", ((g.group.name, g.role) for g in grants))


NEW_NAMESPACE = "__new__"


class UploadForm(forms.Form):
    """The namespaces the user may deploy to, and for superusers "New namespace…" with its name.

    Without JavaScript both fields show; skills/static/skills/upload.js shows the name field only
    when "New namespace…" is chosen.
    """

    namespace = forms.ChoiceField(
        help_text="Namespaces where you may deploy.",
        error_messages={"invalid_choice": "You may not deploy skills in namespace '%(value)s'."},
    )
    new_namespace = forms.CharField(
        max_length=63,
        required=False,
        label="New namespace",
        validators=[slug],
        help_text="Lowercase letters, digits, - and _. Used when “New namespace…” is chosen.",
    )
    name = forms.CharField(max_length=63, label="Skill name", validators=[slug])
    component = forms.FileField(help_text="A .wasm component, as “pharia-skill build” writes it.")
    tag = forms.CharField(
        max_length=63,
        initial=registry.DEFAULT_TAG,
        validators=[slug],
        help_text="Moved to the new version once it is compiled.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(
            access.namespaces_for(user, NamespaceGrant.DEPLOY).order_by("name").values_list("name", flat=True)
        )
        choices = [(name, name) for name in names]
        if user.is_superuser:
            choices.append((NEW_NAMESPACE, "New namespace…"))
        field = self.fields["namespace"]
        field.choices = [("", "Choose a namespace")] + choices
        if len(names) == 1:
            field.initial = names[0]
        if not choices:
            field.help_text = "You may deploy in no namespace: ask an operator for the deploy role."

    def clean(self):
        data = super().clean()
        if data.get("namespace") == NEW_NAMESPACE:
            if not data.get("new_namespace"):
                self.add_error("new_namespace", "Name the new namespace.")
            else:
                data["namespace"] = data["new_namespace"]
        return data


def _compile_in_background(version_id: int, tag: str) -> None:
    def work():
        try:
            registry.compile_version(version_id, tag_when_ready=tag)
        finally:
            close_old_connections()

    threading.Thread(target=work, name=f"compile-{version_id}", daemon=True).start()


def _schema_table(schema):
    """The catalogue's readable schema table, rather than a JSON dump."""
    from django.template.loader import render_to_string

    from catalogue import schema as schemas

    return render_to_string("catalogue/_schema.html", {"rows": schemas.rows(schema), "schema": schema})


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0
    fields = ["name", "version", "updated_at"]
    readonly_fields = ["updated_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            versions = SkillVersion.objects.filter(status=SkillVersion.READY).select_related("skill")
            skill_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            if skill_id:
                versions = versions.filter(skill_id=skill_id)
            kwargs["queryset"] = versions
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_active", "timeout_seconds", "memory_mb", "created_at"]
    list_filter = ["namespace", "is_active"]
    search_fields = ["name", "namespace__name"]
    inlines = [TagInline]
    actions = ["rollback_latest", "deactivate", "activate"]

    @admin.action(description="Roll back 'latest' to the previous ready version")
    def rollback_latest(self, request, queryset):
        for skill in queryset:
            tag = Tag.objects.filter(skill=skill, name=registry.DEFAULT_TAG).select_related("version").first()
            if tag is None:
                self.message_user(request, f"{skill} has no 'latest' tag.", messages.WARNING)
                continue
            previous = (
                skill.versions.filter(status=SkillVersion.READY, created_at__lt=tag.version.created_at)
                .order_by("-created_at")
                .first()
            )
            if previous is None:
                self.message_user(
                    request, f"{skill}: no older ready version to roll back to.", messages.WARNING
                )
                continue
            registry.move_tag(skill, registry.DEFAULT_TAG, previous)
            self.message_user(
                request,
                f"{skill}:latest moved back from {tag.version.digest[:12]} to {previous.digest[:12]}.",
            )

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
        "origin",
        "size_mb",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "world", "wit_version", "origin", "skill__namespace"]
    search_fields = ["digest", "skill__name"]
    exclude = ["input_schema", "output_schema"]  # shown as tables (input_fields, output_fields)
    readonly_fields = [
        "skill",
        "digest",
        "size",
        "component",
        "world",
        "wit_version",
        "description",
        "input_fields",
        "output_fields",
        "status",
        "failure_reason",
        "artifact",
        "artifact_key",
        "artifact_size",
        "compile_seconds",
        "origin",
        "origin_reference",
        "origin_digest",
        "created_by",
        "created_at",
    ]
    actions = ["tag_latest"]

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="skills_skillversion_upload"),
            path(
                "<int:version_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="skills_skillversion_status",
            ),
        ] + super().get_urls()

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "upload_url": reverse("admin:skills_skillversion_upload")}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request):
        """Upload a component; the page's script shows upload progress, then polls the status view.

        Without JavaScript the form posts normally and redirects to the version's page.
        """
        from django.template.response import TemplateResponse

        if not self.has_view_permission(request) or not request.user.has_perm("skills.change_skillversion"):
            raise PermissionDenied
        wants_json = request.headers.get("Accept", "").startswith("application/json")
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if not request.user.is_superuser:  # namespace owners deploy only where granted
                    access.namespace_for(request.user, data["namespace"], NamespaceGrant.DEPLOY)
                result = registry.register_version(
                    data["namespace"],
                    data["name"],
                    data["component"].read(),
                    user=request.user,
                    tag=None,
                    compile_now=False,
                    origin=SkillVersion.UPLOAD,
                    origin_reference=data["component"].name,
                )
            except KernelError as error:
                form.add_error("component", error.message)
            else:
                version = result.version
                if version.status == SkillVersion.PENDING:
                    _compile_in_background(version.pk, data["tag"])
                    note = "Uploaded; compiling."
                elif version.status == SkillVersion.READY:
                    registry.move_tag(version.skill, data["tag"], version)
                    note = f"These bytes were already registered; '{data['tag']}' now points at them."
                else:
                    note = "These bytes were registered before and failed to compile."
                if wants_json:
                    return JsonResponse(
                        {
                            "version_id": version.pk,
                            "note": note,
                            "status_url": reverse("admin:skills_skillversion_status", args=[version.pk]),
                            "change_url": reverse("admin:skills_skillversion_change", args=[version.pk]),
                        }
                    )
                messages.info(request, note)
                return redirect(reverse("admin:skills_skillversion_change", args=[version.pk]))
        if wants_json and request.method == "POST":
            return JsonResponse(
                {"errors": {k: [str(e) for e in v] for k, v in form.errors.items()}}, status=400
            )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Upload a skill version",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/skills/skillversion/upload.html", context)

    def status_view(self, request, version_id: int):
        """The compile status of one version, polled by the upload page."""
        version = get_object_or_404(SkillVersion.objects.select_related("skill__namespace"), pk=version_id)
        return JsonResponse(
            {
                "id": version.pk,
                "skill": version.skill.qualified_name,
                "digest": version.digest,
                "status": version.status,
                "failure_reason": version.failure_reason,
                "world": version.world,
                "wit_version": version.wit_version,
                "description": version.description,
                "input_fields": sorted((version.input_schema or {}).get("properties", {})),
                "compile_seconds": version.compile_seconds,
                "tags": sorted(version.tags.values_list("name", flat=True)),
                "change_url": reverse("admin:skills_skillversion_change", args=[version.pk]),
                "catalogue_url": reverse(
                    "catalogue-skill", args=[version.skill.namespace.name, version.skill.name]
                ),
            }
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The version's page also moves a tag to it (e.g. ``latest`` back to an older version)."""
        version = self.get_object(request, object_id)
        if request.method == "POST" and "move_tag" in request.POST and version is not None:
            if not request.user.has_perm("skills.change_skillversion"):
                raise PermissionDenied
            tag = request.POST.get("tag_name", "").strip() or registry.DEFAULT_TAG
            try:
                registry.move_tag(version.skill, tag, version)
            except KernelError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"{version.skill}:{tag} now points at {version.digest[:12]}.")
            return redirect(request.path)
        extra_context = extra_context or {}
        if version is not None:
            extra_context["tag_names"] = sorted(
                set(Tag.objects.filter(skill=version.skill).values_list("name", flat=True))
                | {registry.DEFAULT_TAG}
            )
            extra_context["version_tags"] = sorted(version.tags.values_list("name", flat=True))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="input schema")
    def input_fields(self, version):
        return _schema_table(version.input_schema)

    @admin.display(description="output schema")
    def output_fields(self, version):
        return _schema_table(version.output_schema)

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


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "label", "expires_at"]


TOKEN_HELP = (
    "Named tokens for the API and the CSI shell, sent as “Authorization: Bearer …”. The secret is "
    "shown once, after saving; only its hash is stored. A token can expire and be revoked."
)
QUICKSTART_TOKEN_HELP = (
    "The one unnamed token per user made by “manage.py quickstart” or “manage.py drf_create_token” "
    "authenticates the same way. It is not listed here: replace it with "
    "“manage.py drf_create_token -r USERNAME”, and prefer a named token above for anything that lasts."
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Named API tokens: the secret is shown once, after saving; only its hash is stored.

    The only token model in the admin: DRF's (quickstart) tokens still authenticate but are
    unregistered (catalogue/admin_site.py), so operators see one list; its page says so.
    """

    form = ApiTokenForm
    list_display = ["label", "user", "prefix_shown", "created_at", "last_used_at", "expires_at", "state"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["label", "prefix", "user__username"]
    list_select_related = ["user"]
    actions = ["revoke"]

    def changelist_view(self, request, extra_context=None):
        from rest_framework.authtoken.models import Token

        quickstart = Token.objects.all()
        if not request.user.is_superuser:
            quickstart = quickstart.filter(user=request.user)
        extra_context = {
            **(extra_context or {}),
            "token_help": TOKEN_HELP,
            "quickstart_help": QUICKSTART_TOKEN_HELP,
            "quickstart_users": list(
                quickstart.order_by("user__username").values_list("user__username", flat=True)
            ),
        }
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "token_help": TOKEN_HELP}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "label", "expires_at"]
        return ["user", "label", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_queryset(self, request):
        tokens_qs = super().get_queryset(request)
        return tokens_qs if request.user.is_superuser else tokens_qs.filter(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        issued = tokens.create_token(obj.user, obj.label, expires_at=obj.expires_at)
        obj.pk = issued.token.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            format_html(
                "Token created. Copy it now, it is not shown again: <code class='api-secret'>{}</code>",
                issued.secret,
            ),
            messages.WARNING,
        )

    @admin.display(description="token")
    def prefix_shown(self, token):
        return f"{token.prefix}…"

    @admin.display(description="state")
    def state(self, token):
        if token.revoked_at:
            return "revoked"
        if token.expires_at and token.expires_at <= timezone.now():
            return "expired"
        return "active"

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")


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


# Imported last: they extend NamespaceAdmin (MCP servers, native tools) and add namespace sources.
from skills import admin_csi, admin_sources  # noqa: E402,F401
