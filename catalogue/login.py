"""Password logins of the catalogue and the admin: throttled per account and client address
(skills/services/logins.py), and with a second factor whenever the account has one (django-otp).
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django_otp import user_has_device
from django_otp.forms import OTPAuthenticationForm
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from kernel_site.security import client_address
from skills.services import logins


class ThrottledLoginMixin:
    """Checks no password while the account or the client address is locked out; counts wrong ones.

    The first base of an AuthenticationForm. A wrong second factor is not counted here: django-otp
    locks the device out itself. ``lockout`` is set when the form refused for that reason.
    """

    lockout: logins.Lockout | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()
        address = client_address(self.request)
        self.lockout = logins.lockout(username, address)
        if self.lockout:
            raise ValidationError(self.lockout.message, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.get_user() is None:  # the password was wrong, not the second factor
                logins.failed(username, address)
            raise
        logins.succeeded(username, address)
        return cleaned


class CodeShapePicksDevice:
    """One code field for every device; the code's shape picks the device, so nobody chooses from a list.

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
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return totp.verify(int(token), tolerance=device.tolerance)


class CatalogueLoginForm(ThrottledLoginMixin, CodeShapePicksDevice, OTPAuthenticationForm):
    """The password; then, for an account with a confirmed device, its code as well.

    The page asks for the code once the password is right (``asks_for_code``). A login with the
    code leaves a verified session (django-otp), which the admin accepts as the second factor.
    """

    error_messages = {
        **OTPAuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match. Try again.",
    }
    otp_error_messages = {
        **OTPAuthenticationForm.otp_error_messages,
        "token_required": "This account has a second factor: enter the code from your authenticator app "
        "or a recovery code.",
    }

    @property
    def asks_for_code(self) -> bool:
        user = self.get_user()
        return user is not None and user_has_device(user)

    def clean_otp(self, user):
        if user is not None and user_has_device(user):
            super().clean_otp(user)


class PasswordLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login when ADMIN_REQUIRE_2FA is off: the password alone, throttled all the same."""


class CatalogueLoginView(LoginView):
    form_class = CatalogueLoginForm
    template_name = "catalogue/login.html"

    def form_invalid(self, form):
        return throttled(super().form_invalid(form), form)


def throttled(response, form):
    """429 with ``Retry-After`` when ``form`` refused a locked-out login; the page says why."""
    lockout = getattr(form, "lockout", None)
    if lockout:
        response.status_code = 429
        response["Retry-After"] = str(lockout.seconds)
    return response
