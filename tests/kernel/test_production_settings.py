"""Production mode, the default: no development key, HTTPS only with HSTS and Secure cookies, a CSP;
``check --deploy`` has nothing to say. A laptop (``SKILL_KERNEL_ENV=development``) speaks plain HTTP.

Each case starts a fresh process, since settings are read from the environment once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "k3rnel-production-key-for-tests-0123456789-abcdefghijklmnopqrstuvwxyz"
SECURITY_VARIABLES = (
    "SKILL_KERNEL_ENV",
    "SECRET_KEY",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "CONTENT_SECURITY_POLICY",
    "TRUSTED_PROXY_COUNT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests' conftest; never in a deployment
)

# Migrates a fresh database, then asks as a browser would: over HTTP, over HTTPS, logging in.
PROBE = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

call_command("migrate", verbosity=0)
User.objects.create_user("alice", password="pw")
client = Client()
plain = client.get("/login/")
page = client.get("/login/", secure=True)
admin = client.get("/admin/login/", secure=True)
login = client.post("/login/", {"username": "alice", "password": "pw"}, secure=True)
behind_proxy = Client(HTTP_X_FORWARDED_PROTO="https").get("/login/")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "health": client.get("/health").status_code,
    "page": page.status_code,
    "hsts": page.get("Strict-Transport-Security"),
    "csp": page.get("Content-Security-Policy"),
    "admin_csp": admin.get("Content-Security-Policy"),
    "login": login.status_code,
    "csrf_cookie_secure": bool(page.cookies["csrftoken"]["secure"]),
    "session_cookie_secure": bool(login.cookies["sessionid"]["secure"]),
    "behind_proxy": behind_proxy.status_code,
}))
"""


def kernel(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` with the kernel's settings, the security variables unset unless given."""
    environ = {k: v for k, v in os.environ.items() if k not in SECURITY_VARIABLES}
    environ |= {
        "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
        "PYTHONPATH": str(ROOT),
        "SKILL_KERNEL_DATA": str(tmp_path),
        "NAMESPACE_POLLER": "false",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], env=environ, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def probe(tmp_path: Path, **env: str) -> dict:
    done = kernel("-c", PROBE, tmp_path=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_in_production(tmp_path):
    done = kernel("manage.py", "check", "--deploy", "--fail-level=WARNING", tmp_path=tmp_path, SECRET_KEY=KEY)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


DEVELOPMENT_KEY = "dev-only-insecure-key-change-me-in-production"


@pytest.mark.parametrize("env", [{}, {"SECRET_KEY": ""}, {"SECRET_KEY": DEVELOPMENT_KEY}])
def test_production_refuses_to_start_on_the_development_key_a_laptop_may(tmp_path, env):
    done = kernel("manage.py", "check", tmp_path=tmp_path, **env)
    assert done.returncode != 0
    assert "SECRET_KEY is unset or the development key, which production refuses" in done.stderr
    assert "SKILL_KERNEL_ENV=development" in done.stderr  # how a laptop gets going
    for laptop in ({"SKILL_KERNEL_ENV": "development"}, {"DEBUG": "true"}):
        done = kernel("manage.py", "check", tmp_path=tmp_path, **env, **laptop)
        assert done.returncode == 0, done.stderr


def test_an_unknown_mode_is_an_error(tmp_path):
    done = kernel("manage.py", "check", tmp_path=tmp_path, SECRET_KEY=KEY, SKILL_KERNEL_ENV="prod")
    assert done.returncode != 0 and "SKILL_KERNEL_ENV='prod': use production or development" in done.stderr


def test_production_answers_over_https_with_hsts_a_csp_and_secure_cookies(tmp_path):
    seen = probe(tmp_path, SECRET_KEY=KEY)
    assert seen["plain"] == [301, "https://testserver/login/"]
    assert seen["health"] == 200  # load balancers probe over plain HTTP
    assert seen["page"] == 200 and seen["login"] == 302
    assert seen["hsts"] == "max-age=31536000; includeSubDomains"
    assert seen["csp"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    admin = seen["admin_csp"]  # Django's admin templates use inline styles, never inline scripts
    assert "style-src 'self' 'unsafe-inline'" in admin and "script-src 'self';" in admin
    assert seen["csrf_cookie_secure"] and seen["session_cookie_secure"]
    assert seen["behind_proxy"] == 301  # X-Forwarded-Proto is a client's claim without a trusted proxy


def test_behind_a_trusted_proxy_x_forwarded_proto_marks_https(tmp_path):
    seen = probe(tmp_path, SECRET_KEY=KEY, TRUSTED_PROXY_COUNT="1")
    assert seen["behind_proxy"] == 200
    assert seen["plain"] == [301, "https://testserver/login/"]  # a request without the header


def test_a_laptop_speaks_plain_http_and_keeps_the_csp(tmp_path):
    seen = probe(tmp_path, SKILL_KERNEL_ENV="development")
    assert seen["plain"] == [200, None]
    assert seen["hsts"] is None
    assert not seen["csrf_cookie_secure"] and not seen["session_cookie_secure"]
    assert "script-src 'self'" in seen["csp"]


def test_each_switch_works_on_its_own(tmp_path):
    seen = probe(
        tmp_path,
        SECRET_KEY=KEY,
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="0",
        CONTENT_SECURITY_POLICY="off",
    )
    assert seen["plain"] == [200, None]
    assert seen["hsts"] is None and seen["csp"] is None and seen["admin_csp"] is None
    assert not seen["csrf_cookie_secure"] and not seen["session_cookie_secure"]

    custom = "default-src 'self' https://cdn.example.com"
    (tmp_path / "custom").mkdir()
    seen = probe(tmp_path / "custom", SECRET_KEY=KEY, CONTENT_SECURITY_POLICY=custom, SECURE_HSTS_PRELOAD="1")
    assert seen["csp"] == seen["admin_csp"] == custom
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
