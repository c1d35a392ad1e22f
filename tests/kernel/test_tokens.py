"""API tokens: named, hashed, expiring, revocable; DRF tokens keep working."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from skills.models import ApiToken
from skills.services import tokens


def get(secret: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/v1/skills")


def test_an_api_token_authenticates_and_records_its_last_use(alice):
    issued = tokens.create_token(alice.user, "laptop")
    stored = ApiToken.objects.get()
    assert issued.secret.startswith("sk_") and stored.prefix == issued.secret[:12]
    assert issued.secret not in stored.key_hash and stored.last_used_at is None
    response = get(issued.secret)
    assert response.status_code == 200 and "test/sink" in response.json()
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_last_use_is_written_at_most_once_per_window(alice, settings, django_assert_num_queries):
    settings.API_TOKEN_TOUCH_SECONDS = 60
    issued = tokens.create_token(alice.user, "busy")
    tokens.user_for(issued.secret)
    first = ApiToken.objects.get().last_used_at
    with django_assert_num_queries(1):  # one SELECT, no UPDATE inside the window
        assert tokens.user_for(issued.secret) is not None
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=5))
    tokens.user_for(issued.secret)
    assert ApiToken.objects.get().last_used_at > first


def test_expired_revoked_and_unknown_tokens_answer_401(alice):
    expired = tokens.create_token(alice.user, "old", expires_at=timezone.now() - timedelta(seconds=1))
    revoked = tokens.create_token(alice.user, "lost")
    tokens.revoke(revoked.token)
    for secret in (expired.secret, revoked.secret, "sk_not-a-real-token", "garbage"):
        response = get(secret)
        assert response.status_code == 401, secret
        assert response["WWW-Authenticate"] == 'Bearer realm="skill-kernel"'


def test_an_inactive_user_cannot_use_their_token(alice):
    issued = tokens.create_token(alice.user, "x")
    alice.user.is_active = False
    alice.user.save()
    assert get(issued.secret).status_code == 401


def test_drf_tokens_still_work_including_drf_create_token(alice):
    Token.objects.filter(user=alice.user).delete()
    out = io.StringIO()
    call_command("drf_create_token", "alice", stdout=out)
    key = out.getvalue().split()[2]
    assert Token.objects.get(user=alice.user).key == key
    assert get(key).status_code == 200


def test_create_api_token_command_prints_a_working_secret(alice):
    out = io.StringIO()
    call_command("create_api_token", "alice", "--label", "ci", "--expires-days", "30", stdout=out)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(label="ci")
    assert token.expires_at > timezone.now() + timedelta(days=29)
    assert get(secret).status_code == 200
