"""Wrong passwords, counted per account and per client address across every web process.

A login form asks ``lockout(username, address)`` before it checks a password, calls ``failed`` after
a wrong one and ``succeeded`` after a complete login (which forgets that account's failures from
that address). ``LOGIN_FAILURES_PER_ACCOUNT`` (or ``_PER_ADDRESS``) failures within
``LOGIN_LOCKOUT_WINDOW`` lock until the oldest of them leaves the window; refused attempts check no
password and count for nothing. Two processes may both let one attempt past the limit; no more.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from skills.models import LoginFailure


@dataclass(frozen=True)
class Lockout:
    what: str  # "account" or "address"
    seconds: int  # until the next attempt is allowed

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.seconds / 60))
        whose = "for this account" if self.what == "account" else "from your address"
        return f"Too many failed logins {whose}; try again in {minutes} minute{'s' if minutes > 1 else ''}."


def lockout(username: str, address: str, now: datetime | None = None) -> Lockout | None:
    """Whether a login as ``username`` from ``address`` is refused for now, and for how long."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW)
    for what, field, value, limit in (
        ("account", "username", _account(username), settings.LOGIN_FAILURES_PER_ACCOUNT),
        ("address", "address", _network(address), settings.LOGIN_FAILURES_PER_ADDRESS),
    ):
        if not value or limit <= 0:
            continue
        recent = LoginFailure.objects.filter(**{field: value}, at__gt=now - window).order_by("-at")
        times = list(recent.values_list("at", flat=True)[:limit])
        if len(times) == limit:
            return Lockout(what, math.ceil((times[-1] + window - now).total_seconds()))
    return None


def failed(username: str, address: str) -> None:
    now = timezone.now()
    LoginFailure.objects.filter(at__lte=now - timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW)).delete()
    LoginFailure.objects.create(username=_account(username), address=_network(address), at=now)


def succeeded(username: str, address: str) -> None:
    LoginFailure.objects.filter(username=_account(username), address=_network(address)).delete()


def _account(username: str) -> str:
    return username.strip().lower()[:150]


def _network(address: str) -> str:
    """An IPv4 address as is; an IPv6 address as its /64, which one client usually holds whole."""
    if not address:
        return ""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
