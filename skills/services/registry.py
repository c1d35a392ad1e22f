"""Register skill versions, compile them once, and move tags."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from runtime import InvalidComponent, digest
from skills.models import Namespace, Skill, SkillVersion, Tag
from skills.services import execution
from skills.services.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)
DEFAULT_TAG = "latest"


@dataclass
class Registration:
    version: SkillVersion
    created: bool


def register_version(
    namespace_name: str,
    skill_name: str,
    wasm: bytes,
    *,
    user=None,
    tag: str | None = DEFAULT_TAG,
    compile_now: bool = True,
    origin: str = SkillVersion.COMMAND,
    origin_reference: str = "",
    origin_digest: str = "",
) -> Registration:
    """Store a component as a pending version of ``namespace/skill``; the same bytes twice is a no-op.

    With ``compile_now`` the version is compiled before returning (management command, tests);
    otherwise the caller dispatches :func:`compile_version` in the background (admin upload).
    ``origin*`` record where the bytes came from (kept from the first registration of them).
    """
    if not wasm:
        raise InvalidInput("the component file is empty")
    if wasm[:4] != b"\0asm":
        raise InvalidInput("the file is not WebAssembly (it does not start with \\0asm)")
    sha = digest(wasm)
    with transaction.atomic():
        namespace, _ = Namespace.objects.get_or_create(name=namespace_name)
        skill, _ = Skill.objects.get_or_create(namespace=namespace, name=skill_name)
        existing = SkillVersion.objects.filter(skill=skill, digest=sha).first()
        if existing is None:
            path = f"components/{sha}.wasm"
            if not default_storage.exists(path):  # content-addressed: store the same bytes once
                path = default_storage.save(path, ContentFile(wasm))
            try:
                with transaction.atomic():
                    version = SkillVersion.objects.create(
                        skill=skill,
                        digest=sha,
                        size=len(wasm),
                        component=path,
                        created_by=user,
                        origin=origin,
                        origin_reference=origin_reference,
                        origin_digest=origin_digest,
                    )
            except IntegrityError:  # registered concurrently with the same bytes
                version = SkillVersion.objects.get(skill=skill, digest=sha)
                existing = version
        else:
            version = existing
    if compile_now and version.status == SkillVersion.PENDING:
        compile_version(version.pk)
        version.refresh_from_db()
    if tag and version.status == SkillVersion.READY:  # a failed version is never tagged
        move_tag(skill, tag, version)
    return Registration(version=version, created=existing is None)


def compile_version(version_id: int, tag_when_ready: str | None = None) -> SkillVersion:
    """Compile a pending version once, extract its metadata and store the artifact. Safe to rerun."""
    version = SkillVersion.objects.select_related("skill").get(pk=version_id)
    if version.status != SkillVersion.PENDING:
        return version
    runtime = execution.runtime()
    artifact_path = f"artifacts/{version.digest}/{runtime.artifact_key}.cwasm"
    compile_seconds = 0.0
    try:
        if default_storage.exists(artifact_path):  # the same bytes compiled before, by any skill
            with default_storage.open(artifact_path, "rb") as handle:
                artifact = handle.read()
        else:
            with default_storage.open(version.component, "rb") as handle:
                compiled = runtime.compile(handle.read())
            artifact, compile_seconds = compiled.artifact, compiled.compile_seconds
            artifact_path = default_storage.save(artifact_path, ContentFile(artifact))
        loaded = execution.component_cache().get(artifact_path, lambda: runtime.load(artifact))
        metadata = runtime.metadata(loaded)
    except InvalidComponent as error:
        return _fail(version, str(error))
    except Exception as error:  # noqa: BLE001 - any failure is the version's status, not a crash
        log.exception("compiling %s failed", version)
        return _fail(version, f"metadata() failed: {error}".splitlines()[0])
    SkillVersion.objects.filter(pk=version.pk, status=SkillVersion.PENDING).update(
        status=SkillVersion.READY,
        world=loaded.world,
        wit_version=loaded.wit_version,
        description=metadata.description or "",
        input_schema=metadata.input_schema,
        output_schema=metadata.output_schema,
        artifact=artifact_path,
        artifact_key=runtime.artifact_key,
        artifact_size=len(artifact),
        compile_seconds=compile_seconds,
        failure_reason="",
    )
    version.refresh_from_db()
    if tag_when_ready and version.status == SkillVersion.READY:
        move_tag(version.skill, tag_when_ready, version)
    return version


def _fail(version: SkillVersion, reason: str) -> SkillVersion:
    SkillVersion.objects.filter(pk=version.pk).update(status=SkillVersion.FAILED, failure_reason=reason)
    version.refresh_from_db()
    return version


def move_tag(skill: Skill, tag: str, version: SkillVersion) -> Tag:
    """Point ``tag`` at ``version`` in one update; the previous version serves until then."""
    if version.skill_id != skill.pk:
        raise Conflict("the version belongs to another skill")
    if version.status != SkillVersion.READY:
        raise Conflict(f"only a ready version can be tagged; this one is {version.status}")
    tag_row, _ = Tag.objects.update_or_create(skill=skill, name=tag, defaults={"version": version})
    return tag_row


def resolve(namespace: Namespace, skill_name: str, tag: str = DEFAULT_TAG) -> tuple[Skill, SkillVersion]:
    """The version a tag (or a digest prefix) of an active skill points at."""
    tag_row = (
        Tag.objects.select_related("version", "skill")
        .filter(skill__namespace=namespace, skill__name=skill_name, skill__is_active=True, name=tag)
        .first()
    )
    if tag_row is not None:
        tag_row.skill.namespace = namespace
        return tag_row.skill, tag_row.version
    skill = Skill.objects.filter(namespace=namespace, name=skill_name, is_active=True).first()
    if skill is None:
        raise NotFound(f"skill '{namespace.name}/{skill_name}' does not exist")
    if len(tag) >= 12:
        version = SkillVersion.objects.filter(
            skill=skill, digest__startswith=tag.removeprefix("sha256:"), status=SkillVersion.READY
        ).first()
        if version is not None:
            return skill, version
    raise NotFound(f"skill '{namespace.name}/{skill_name}' has no tag or version '{tag}'")
