"""API tokens: create (the secret is shown once), authenticate by hash, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from skills.models import ApiToken

PREFIX = "sk_"


@dataclass
class IssuedToken:
    token: ApiToken
    secret: str  # the only time the full secret exists outside the caller's hands


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user, label: str, *, expires_at: datetime | None = None) -> IssuedToken:
    """A new token for ``user``; only its sha256 and first characters are stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, label=label, prefix=secret[:12], key_hash=hash_secret(secret), expires_at=expires_at
    )
    return IssuedToken(token, secret)


def user_for(secret: str) -> tuple[object, ApiToken] | None:
    """The (user, token) a secret belongs to, or None if unknown, expired, revoked or user inactive.

    ``last_used_at`` is written at most once per API_TOKEN_TOUCH_SECONDS, with a conditional
    update, so a busy token costs one SELECT per request and a rare UPDATE.
    """
    if not secret.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_secret(secret)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    stale = now - timedelta(seconds=settings.API_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is None or token.last_used_at < stale:
        ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
            last_used_at=now
        )
        token.last_used_at = now
    return token.user, token


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
