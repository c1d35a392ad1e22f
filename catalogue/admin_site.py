"""The admin site with two-factor login (django-otp), enforced when ADMIN_REQUIRE_2FA is on."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class TwoFactorLoginForm(OTPAdminAuthenticationForm):
    """Password plus one code; the code's shape picks the device, so nobody chooses from a list.

    Six digits go to the user's authenticator (TOTP) devices, anything else to the recovery
    codes (static tokens). Only that device records a failed attempt, as django-otp requires.
    """

    def _chosen_device(self, user):
        chosen = super()._chosen_device(user)
        if chosen is not None:
            return chosen
        token = (self.cleaned_data.get("otp_token") or "").strip()
        model = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
        devices = model.objects.devices_for_user(user, confirmed=True)
        if model is TOTPDevice:
            for device in devices:  # several phones: the one this code belongs to
                if device.verify_is_allowed()[0] and _totp_matches(device, token):
                    return device
        return devices.first()


def _totp_matches(device: TOTPDevice, token: str) -> bool:
    """Whether ``token`` is current for ``device``, without recording a use (verify_token does)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return totp.verify(int(token), tolerance=device.tolerance)


class KernelAdminSite(admin.AdminSite):
    """Like ``django_otp.admin.OTPAdminSite``, but the setting decides at request time."""

    site_header = "Skill Kernel admin"
    site_title = "Skill Kernel admin"
    index_title = "Operate skills, namespaces and tokens"
    site_url = "/"

    @property
    def login_form(self):
        return TwoFactorLoginForm if settings.ADMIN_REQUIRE_2FA else None

    @property
    def login_template(self):
        return "admin/kernel_login.html"

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
