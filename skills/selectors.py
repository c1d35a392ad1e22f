"""Reads: what a user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from skills.models import NamespaceGrant, Run, Skill, SkillVersion
from skills.services import access, registry
from skills.services.errors import NotFound


def invocable_skills(user, skill_type: str | None = None) -> QuerySet[Skill]:
    """Active, tagged skills in namespaces where ``user`` may view, optionally of one type."""
    skills = (
        Skill.objects.filter(
            namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW),
            is_active=True,
            tags__name=registry.DEFAULT_TAG,
        )
        .select_related("namespace")
        .distinct()
    )
    if skill_type == Skill.CHAT:
        skills = skills.filter(tags__version__world="message-stream-skill")
    elif skill_type == Skill.PROGRAMMABLE:
        skills = skills.filter(tags__version__world="skill")
    return skills


def version_for(user, namespace_name: str, skill_name: str, tag: str) -> SkillVersion:
    namespace = access.namespace_for(user, namespace_name, NamespaceGrant.VIEW)
    _, version = registry.resolve(namespace, skill_name, tag)
    return version


def run_for(user, run_id) -> Run:
    run = (
        Run.objects.select_related("skill__namespace", "version")
        .filter(pk=run_id, skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW))
        .first()
    )
    if run is None:
        raise NotFound(f"run '{run_id}' does not exist")
    return run
