"""Promote: move a tag to a version on the evidence of an evaluation, and keep the record."""

from __future__ import annotations

from django.db import transaction

from skills.evaluations.models import Evaluation, Promotion
from skills.models import NamespaceGrant, Tag
from skills.services import access, registry
from skills.services.errors import InvalidInput

DEFAULT_TAG = registry.DEFAULT_TAG


def promote(user, evaluation: Evaluation, version_id: int, tag: str = DEFAULT_TAG) -> Promotion:
    """Point ``tag`` of the evaluated skill at one of the evaluated versions (deploy role needed)."""
    access.namespace_for(user, evaluation.skill.namespace.name, NamespaceGrant.DEPLOY)
    version = evaluation.versions.filter(pk=version_id).first()
    if version is None:
        raise InvalidInput("only a version this evaluation ran can be promoted from it")
    try:
        Tag._meta.get_field("name").run_validators(tag)
    except Exception:  # noqa: BLE001 - Django's ValidationError, said the API's way
        raise InvalidInput("a tag is lowercase letters, digits, - and _ (max 63)") from None
    with transaction.atomic():
        previous = Tag.objects.select_for_update().filter(skill=evaluation.skill, name=tag).first()
        registry.move_tag(evaluation.skill, tag, version)
        return Promotion.objects.create(
            evaluation=evaluation,
            skill=evaluation.skill,
            tag=tag,
            version=version,
            previous_version=previous.version if previous else None,
            promoted_by=user,
        )
