"""Who may view, invoke or deploy in which namespace."""

from __future__ import annotations

from django.db.models import QuerySet

from skills.models import Namespace, NamespaceGrant
from skills.services.errors import Forbidden, NotFound


def namespaces_for(user, role: str = NamespaceGrant.VIEW) -> QuerySet[Namespace]:
    """Namespaces where ``user`` holds at least ``role``."""
    if user is None or not user.is_authenticated:
        return Namespace.objects.none()
    if user.is_superuser:
        return Namespace.objects.all()
    roles = [r for r, rank in NamespaceGrant.RANK.items() if rank >= NamespaceGrant.RANK[role]]
    return Namespace.objects.filter(grants__group__user=user, grants__role__in=roles).distinct()


def can(user, namespace: Namespace, role: str) -> bool:
    return namespaces_for(user, role).filter(pk=namespace.pk).exists()


def role_in(user, namespace: Namespace) -> str | None:
    """The strongest role ``user`` holds in ``namespace`` (one query; none for superusers)."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return NamespaceGrant.DEPLOY
    roles = NamespaceGrant.objects.filter(namespace=namespace, group__user=user).values_list(
        "role", flat=True
    )
    return max(roles, key=NamespaceGrant.RANK.__getitem__, default=None)


def holds(user, namespace: Namespace, role: str) -> bool:
    """Whether ``user`` holds at least ``role`` in ``namespace``."""
    held = role_in(user, namespace)
    return held is not None and NamespaceGrant.RANK[held] >= NamespaceGrant.RANK[role]


def namespace_for(user, name: str, role: str) -> Namespace:
    """The namespace ``name`` if ``user`` holds ``role`` in it: 404 if unknown or invisible, 403 if
    the user may see it but not do ``role`` there."""
    namespace = Namespace.objects.filter(name=name).first()
    held = role_in(user, namespace) if namespace is not None else None
    if held is None:
        raise NotFound(f"namespace '{name}' does not exist")
    if NamespaceGrant.RANK[held] < NamespaceGrant.RANK[role]:
        raise Forbidden(f"you may not {role} skills in namespace '{name}'")
    return namespace
