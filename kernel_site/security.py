"""What Django 5.2 leaves to the project: a Content-Security-Policy header and the client's address.

Django 6 has a CSP of its own; until then this middleware sets the policies of
kernel_site/settings_security.py (one for the admin, which keeps inline styles).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` to every answer that has none of its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        admin = match is not None and "admin" in match.namespaces
        policy = settings.CONTENT_SECURITY_POLICY_ADMIN if admin else settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def client_address(request: HttpRequest | None) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = N the Nth
    address from the right of ``X-Forwarded-For`` (what the outermost trusted proxy saw).

    Empty when there is no request or no valid address.
    """
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [item.strip() for item in header.split(",") if item.strip()]
    if hops > 0 and len(forwarded) >= hops:
        address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""
