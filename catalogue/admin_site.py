"""The admin site with two-factor login (django-otp), enforced when ADMIN_REQUIRE_2FA is on.

Both logins, with and without the second factor, are throttled (catalogue/login.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django_otp.admin import OTPAdminAuthenticationForm

from catalogue.login import CodeShapePicksDevice, PasswordLoginForm, ThrottledLoginMixin, throttled


class TwoFactorLoginForm(ThrottledLoginMixin, CodeShapePicksDevice, OTPAdminAuthenticationForm):
    """Password plus one code (TOTP or recovery code, told apart by its shape)."""


class KernelAdminSite(admin.AdminSite):
    """Like ``django_otp.admin.OTPAdminSite``, but the setting decides at request time."""

    site_header = "Skill Kernel admin"
    site_title = "Skill Kernel admin"
    index_title = "Operate skills, namespaces and tokens"
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

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()


def install(site) -> None:
    """Turn the default admin site (already holding every registration) into a KernelAdminSite.

    Swapping the class keeps one site object, so the ModelAdmins' own views (upload, status)
    are wrapped by the same permission check as the rest of the admin.
    """
    site.__class__ = KernelAdminSite
