"""The admin site with two-factor login (django-otp), enforced when ADMIN_REQUIRE_2FA is on.

Both logins, with and without the second factor, are throttled (catalogue/login.py).
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django_otp.admin import OTPAdminAuthenticationForm

from catalogue.login import CodeShapePicksDevice, PasswordLoginForm, ThrottledLoginMixin, throttled


class TwoFactorLoginForm(ThrottledLoginMixin, CodeShapePicksDevice, OTPAdminAuthenticationForm):
    """Password plus one code (TOTP or recovery code, told apart by its shape)."""


class KernelAdminSite(admin.AdminSite):
    """Like ``django_otp.admin.OTPAdminSite``, but the setting decides at request time."""

    site_header = "Skill Kernel admin"
    site_title = "Skill Kernel admin"
    index_title = "Operate skills, namespaces, runs and access"
    site_url = "/"

    @property
    def login_form(self):
        return TwoFactorLoginForm if settings.ADMIN_REQUIRE_2FA else PasswordLoginForm

    @property
    def login_template(self):
        return "admin/kernel_login.html"

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        return throttled(response, form)

    def get_app_list(self, request, app_label=None):
        """The index and the sidebar grouped by what an operator does, not by Django app.

        An app's own page (``/admin/skills/``) keeps Django's list of that app, with human labels.
        """
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for model in app["models"]:
                model["name"] = MODEL_LABELS.get(_key(model["model"]), model["name"])
                if _key(model["model"]) == "skills.SkillVersion" and model["perms"].get("change"):
                    model["add_url"] = reverse("admin:skills_skillversion_upload", current_app=self.name)
        if app_label:
            return app_list
        return group_by_task(app_list)

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()


# (title, what it is for, models as "app_label.ModelName"), in the order an operator needs them.
GROUPS = [
    ("Skills", "Upload, tag and retire skill versions.", ["skills.Skill", "skills.SkillVersion"]),
    (
        "Namespaces and access",
        "Who may do what where, what skills may call, where they sync from.",
        [
            "skills.Namespace",
            "skills.NamespaceGrant",
            "skills.NamespaceSource",
            "skills.McpServer",
            "auth.Group",
            "auth.User",
        ],
    ),
    ("Runs", "Every invocation, its result and its trace.", ["skills.Run", "skills.Span"]),
    (
        "Documents",
        "Collections skills search through the CSI, their documents and indexes, external indexes.",
        ["documents.Collection", "documents.Document", "documents.ExternalDocumentIndex"],
    ),
    (
        "Evaluations",
        "Datasets of examples, evaluations of versions over them, and the tags they promoted.",
        ["evaluations.Dataset", "evaluations.Evaluation", "evaluations.Promotion"],
    ),
    (
        "Security",
        "API tokens and second factors (authenticator apps, recovery codes).",
        [
            "skills.ApiToken",
            "otp_totp.TOTPDevice",
            "otp_static.StaticDevice",
            "skills.LoginFailure",
            "authtoken.TokenProxy",
        ],
    ),
]
# Third-party models keep their own verbose names (no migrations in their apps): relabelled here.
MODEL_LABELS = {
    "otp_totp.TOTPDevice": "Authenticator apps (TOTP)",
    "otp_static.StaticDevice": "Recovery codes",
    "authtoken.TokenProxy": "Quickstart tokens",
}
APP_LABELS = {"otp_totp": "Authenticator apps", "otp_static": "Recovery codes", "authtoken": "Tokens"}


def _key(model) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}"


def group_by_task(app_list: list[dict]) -> list[dict]:
    """Regroup Django's app list (apps holding models) into GROUPS; models in no group go last."""
    models = {_key(model["model"]): model for app in app_list for model in app["models"]}
    grouped = []
    for title, description, keys in GROUPS:
        members = [models.pop(key) for key in keys if key in models]
        if members:
            grouped.append(_group(title, description, members))
    for app in app_list:  # anything registered later that no group names
        rest = [model for model in app["models"] if _key(model["model"]) in models]
        if rest:
            grouped.append({**app, "models": rest, "description": ""})
    return grouped


def _group(title: str, description: str, models: list[dict]) -> dict:
    slug = title.lower().replace(" ", "-")
    return {
        "name": title,
        "description": description,
        "app_label": f"group-{slug}",  # the CSS class and the ids of admin/app_list.html
        "app_url": "",  # a group has no page of its own (templates/admin/app_list.html)
        "has_module_perms": True,
        "models": models,
    }


def install(site) -> None:
    """Turn the default admin site (already holding every registration) into a KernelAdminSite.

    Swapping the class keeps one site object, so the ModelAdmins' own views (upload, status)
    are wrapped by the same permission check as the rest of the admin.
    """
    site.__class__ = KernelAdminSite
    # One token model in the admin: the kernel's named, hashed, expiring API tokens. DRF's tokens
    # (quickstart, ``drf_create_token``) still authenticate; ApiTokenAdmin says how to manage them.
    from rest_framework.authtoken.models import TokenProxy

    if site.is_registered(TokenProxy):
        site.unregister(TokenProxy)
    for label, name in APP_LABELS.items():  # breadcrumbs and titles say this, not "OTP_TOTP"
        try:
            apps.get_app_config(label).verbose_name = name
        except LookupError:
            pass
