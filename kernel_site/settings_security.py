"""Settings of the security area: the secret key, HTTPS, cookies, the CSP, proxies, login throttling.

Imported at the end of kernel_site.settings. ``SKILL_KERNEL_ENV`` picks the defaults. In
``production`` (the default unless ``DEBUG`` is on) the kernel refuses to start on the development
``SECRET_KEY`` and answers over HTTPS only: redirect, HSTS, ``Secure`` cookies. ``development``
(what ``make start`` and the test settings set) keeps a laptop usable over plain HTTP. Production is
the default so that a deployment nobody configured fails at start instead of running quietly on a
published key with cookies in the clear. Each switch below can also be set on its own.
"""

from django.core.exceptions import ImproperlyConfigured

from kernel_site.env import envbool, envduration, envint, envstr

DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"

SKILL_KERNEL_ENV = envstr("SKILL_KERNEL_ENV", "development" if envbool("DEBUG", False) else "production")
if SKILL_KERNEL_ENV not in ("production", "development"):
    raise ImproperlyConfigured(f"SKILL_KERNEL_ENV={SKILL_KERNEL_ENV!r}: use production or development")
_production = SKILL_KERNEL_ENV == "production"

SECRET_KEY = envstr("SECRET_KEY", "") or DEVELOPMENT_SECRET_KEY
if _production and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is unset or the development key, which production refuses: set SECRET_KEY to a "
        "long random value, the same on every machine (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))'); on a laptop over plain HTTP set SKILL_KERNEL_ENV=development."
    )

# HTTPS only. Probes and scrapers inside the network reach /health and /metrics over plain HTTP.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _production)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", _production)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _production else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading commits the whole domain to HTTPS in browsers for months; its owner decides that, so
# it is off and check --deploy's reminder about it (W021) is silenced while it is.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Reverse proxies in front of the kernel (0: none). With N, the client address is the Nth entry
# from the right of X-Forwarded-For, and X-Forwarded-Proto: https marks a request secure; each
# proxy must append the former and set the latter, or clients could spoof both.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (kernel_site/security.py), in both modes: the catalogue loads one local
# stylesheet and script and nothing inline. The admin keeps inline styles (Django's own templates
# and the kernel's admin pages use them); scripts stay local there too. ``off``: no header; any
# other value: that policy on every page.
STRICT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_csp = envstr("CONTENT_SECURITY_POLICY", "").strip()
if _csp.lower() == "off":
    CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY_ADMIN = ""
elif _csp:
    CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY_ADMIN = _csp
else:
    CONTENT_SECURITY_POLICY = STRICT_CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY_ADMIN = STRICT_CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )

# Password logins (catalogue and admin, skills/services/logins.py): this many wrong passwords
# within the window lock the account, or the client address, until the oldest of them is older
# than the window. Anyone can lock an account this way, for a window at a time; 0 turns a limit off.
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_LOCKOUT_WINDOW = envduration("LOGIN_LOCKOUT_WINDOW", "15m")
