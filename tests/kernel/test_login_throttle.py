"""Password logins: wrong passwords lock the account and the client address out for a while, and the
catalogue asks for the second factor of an account that has one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db.models import F
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from skills.models import LoginFailure

pytestmark = pytest.mark.django_db

ACCOUNT_LOCKED = "Too many failed logins for this account; try again in 15 minutes."
ADDRESS_LOCKED = "Too many failed logins from your address; try again in 15 minutes."


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Hundreds of password checks (a missing account costs one too): a fast hasher for tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="right-password")


@pytest.fixture
def operator():
    user = User.objects.create_user("operator", password="right-password", is_staff=True, is_superuser=True)
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def log_in(username, password, address="203.0.113.7", path="/login/", **fields):
    client = Client(REMOTE_ADDR=address)
    response = client.post(path, {"username": username, "password": password, **fields})
    return client, response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def text(response) -> str:
    return response.content.decode()


def test_thirty_wrong_passwords_then_the_right_one_is_refused_at_the_catalogue(alice):
    _, response = log_in("alice", "guess")
    assert response.status_code == 200 and "Your username and password did not match" in text(response)
    for _ in range(29):
        _, response = log_in("alice", "guess")
    assert response.status_code == 429 and ACCOUNT_LOCKED in text(response)
    client, response = log_in("alice", "right-password")
    assert response.status_code == 429 and ACCOUNT_LOCKED in text(response)
    assert int(response["Retry-After"]) > 14 * 60
    assert not logged_in(client)
    assert LoginFailure.objects.count() == 5  # refused attempts check no password and count for nothing


@pytest.mark.parametrize("require_2fa", [True, False])
def test_thirty_wrong_passwords_then_the_right_one_is_refused_at_the_admin(operator, settings, require_2fa):
    settings.ADMIN_REQUIRE_2FA = require_2fa
    user, device = operator
    for _ in range(30):
        log_in("operator", "guess", path="/admin/login/", otp_token="000000")
    code = f"{totp(device.bin_key):06d}"
    client, response = log_in("operator", "right-password", path="/admin/login/?next=/admin/", otp_token=code)
    assert response.status_code == 429 and ACCOUNT_LOCKED in text(response)
    assert not logged_in(client)


def test_the_lock_of_an_account_holds_from_every_address(alice):
    for n in range(5):
        log_in("alice", "guess", address=f"198.51.100.{n}")
    _, response = log_in("alice", "right-password", address="192.0.2.1")
    assert response.status_code == 429 and ACCOUNT_LOCKED in text(response)


def test_an_address_guessing_many_accounts_is_locked_out_but_others_are_not(alice):
    for n in range(20):
        log_in(f"user{n}", "guess")
    _, response = log_in("alice", "right-password")
    assert response.status_code == 429 and ADDRESS_LOCKED in text(response)
    client, response = log_in("alice", "right-password", address="192.0.2.1")
    assert response.status_code == 302 and logged_in(client)


def test_an_ipv6_client_is_one_address_for_its_whole_slash_64(alice):
    for n in range(20):
        log_in(f"user{n}", "guess", address=f"2001:db8:1:2::{n + 1:x}")
    _, response = log_in("alice", "right-password", address="2001:db8:1:2:ffff::1")
    assert ADDRESS_LOCKED in text(response)


def test_the_lock_ends_with_the_window(alice):
    for _ in range(5):
        log_in("alice", "guess")
    assert log_in("alice", "right-password")[1].status_code == 429
    LoginFailure.objects.update(at=F("at") - timedelta(minutes=15, seconds=1))
    client, response = log_in("alice", "right-password")
    assert response.status_code == 302 and logged_in(client)


def test_the_limits_and_the_window_are_settings(alice, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.LOGIN_LOCKOUT_WINDOW = 120
    log_in("alice", "guess")
    assert log_in("alice", "right-password")[1].status_code == 302
    log_in("alice", "guess")
    log_in("alice", "Guess")
    _, response = log_in("ALICE", "right-password")  # the account, whatever the case typed
    assert "Too many failed logins for this account; try again in 2 minutes." in text(response)
    settings.LOGIN_FAILURES_PER_ACCOUNT = 0  # off
    assert log_in("alice", "right-password")[1].status_code == 302


def test_a_login_forgets_the_failures_before_it(alice):
    for _ in range(4):
        log_in("alice", "guess")
    assert log_in("alice", "right-password")[1].status_code == 302
    for _ in range(4):
        log_in("alice", "guess")
    assert log_in("alice", "right-password")[1].status_code == 302  # not 8 failures: 4, then 4
    for _ in range(5):
        log_in("alice", "guess")
    assert log_in("alice", "right-password")[1].status_code == 429


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(alice, settings):
    for n in range(20):  # an attacker inventing a new forwarded address for each guess
        log_in(f"user{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    _, response = log_in("alice", "right-password", address="203.0.113.7")
    assert ADDRESS_LOCKED in text(response)

    LoginFailure.objects.all().delete()
    settings.TRUSTED_PROXY_COUNT = 1  # the proxy at 127.0.0.1 appends the address it saw
    for n in range(20):
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7").post(
            "/login/", {"username": f"user{n}", "password": "guess"}
        )
    behind_proxy = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
    response = behind_proxy.post("/login/", {"username": "alice", "password": "right-password"})
    assert response.status_code == 302
    spoofed = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8, 203.0.113.7")
    response = spoofed.post("/login/", {"username": "alice", "password": "right-password"})
    assert ADDRESS_LOCKED in text(response)


def test_the_catalogue_asks_for_the_second_factor_of_an_account_that_has_one(alice):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    client, response = log_in("alice", "right-password")
    page = text(response)
    assert response.status_code == 200 and not logged_in(client)
    assert "This account has a second factor" in page and 'name="otp_token"' in page
    assert LoginFailure.objects.count() == 0  # the password was right

    client, response = log_in("alice", "right-password", otp_token=f"{totp(device.bin_key):06d}")
    assert response.status_code == 302 and logged_in(client)
    assert client.session["otp_device_id"] == device.persistent_id  # verified, for the admin too

    wrong = f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"
    client, response = log_in("alice", "right-password", otp_token=wrong)
    assert response.status_code == 200 and "Invalid token" in text(response) and not logged_in(client)


def test_the_catalogue_takes_a_recovery_code_and_the_password_alone_without_a_device(alice):
    recovery = StaticDevice.objects.create(user=alice, name="recovery", confirmed=True)
    StaticToken.objects.create(device=recovery, token="rescue12")
    client, response = log_in("alice", "right-password")
    assert "This account has a second factor" in text(response) and not logged_in(client)
    client, response = log_in("alice", "right-password", otp_token="rescue12")
    assert response.status_code == 302 and logged_in(client)

    recovery.delete()
    client, response = log_in("alice", "right-password")
    assert response.status_code == 302 and logged_in(client)
    assert 'name="otp_token"' not in text(Client().get("/login/"))
