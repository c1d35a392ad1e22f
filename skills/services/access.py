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


def namespace_for(user, name: str, role: str) -> Namespace:
    """The namespace ``name`` if ``user`` holds ``role`` in it: 404 if unknown, 403 if not allowed."""
    namespace = Namespace.objects.filter(name=name).first()
    if namespace is None:
        raise NotFound(f"namespace '{name}' does not exist")
    if not can(user, namespace, NamespaceGrant.VIEW):
        raise NotFound(f"namespace '{name}' does not exist")
    if not can(user, namespace, role):
        raise Forbidden(f"you may not {role} skills in namespace '{name}'")
    return namespace
