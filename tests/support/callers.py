"""API clients of users with a given role in a namespace."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from skills.models import Namespace, NamespaceGrant


def client_with_role(username: str = "dev", role: str | None = NamespaceGrant.INVOKE, namespace: str = "dev"):
    """A bearer-token client of a new user holding ``role`` in ``namespace`` (no grant: ``None``)."""
    user = User.objects.create_user(username)
    if role:
        group = Group.objects.create(name=f"{username}-group")
        user.groups.add(group)
        target, _ = Namespace.objects.get_or_create(name=namespace)
        NamespaceGrant.objects.create(namespace=target, group=group, role=role)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return api
