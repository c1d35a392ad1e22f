"""Register skill versions, compile them once, and move tags."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models.signals import post_delete, post_save

from runtime import InvalidComponent, digest
from skills.models import Namespace, Skill, SkillVersion, Tag, slug
from skills.services import artifacts, execution, locks
from skills.services.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)
DEFAULT_TAG = "latest"
SLUG = re.compile(slug.regex.pattern)


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
    fast: bool = False,
    origin: str = SkillVersion.COMMAND,
    origin_reference: str = "",
    origin_digest: str = "",
) -> Registration:
    """Store a component as a pending version of ``namespace/skill``; the same bytes twice is a no-op.

    With ``compile_now`` the version is compiled before returning (management command, tests);
    otherwise the caller dispatches :func:`compile_version` in the background (admin upload).
    ``origin*`` record where the bytes came from (kept from the first registration of them).
    ``fast`` compiles on the baseline tier and leaves the optimised compile to the kernel's
    processes (:func:`optimise_pending` at their start): for commands that exit right after.
    """
    for what, name in (("namespace", namespace_name), ("skill", skill_name)):
        if not SLUG.match(name or ""):
            raise InvalidInput(f"{name!r} is not a valid {what} name: {slug.message}")
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
            if not _stored_intact(path, sha):  # content-addressed: store the same bytes once
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
            if not _stored_intact(version.component, sha):  # repair a modified stored component
                default_storage.save(version.component, ContentFile(wasm))
    if compile_now and version.status == SkillVersion.PENDING:
        compile_version(version.pk, fast=fast, optimise=not fast)
        version.refresh_from_db()
    if tag and version.status == SkillVersion.READY:  # a failed version is never tagged
        move_tag(skill, tag, version)
    return Registration(version=version, created=existing is None)


def _stored_intact(path: str, sha: str) -> bool:
    """Whether ``path`` holds the bytes of ``sha``; a modified file is removed to be stored again."""
    if not default_storage.exists(path):
        return False
    with default_storage.open(path, "rb") as handle:
        if artifacts.sha256(handle.read()) == sha:
            return True
    default_storage.delete(path)
    return False


def compile_version(
    version_id: int, tag_when_ready: str | None = None, *, fast: bool = False, optimise: bool = True
) -> SkillVersion:
    """Compile a pending version once, extract its metadata and store the artifact. Safe to rerun.

    With ``fast`` (deployments that should serve within seconds) the version is compiled by the
    baseline compiler (Winch, ~4x faster to compile, somewhat slower to run) unless an optimised
    artifact of the same bytes exists, and :func:`optimise_version` is scheduled to swap in the
    Cranelift artifact once it is built. Artifacts are content-addressed, so the same bytes are
    compiled once per engine however many skills or namespaces register them."""
    version = SkillVersion.objects.select_related("skill").get(pk=version_id)
    if version.status != SkillVersion.PENDING:
        return version
    runtime = execution.runtime()
    optimised_path = artifacts.path_for(version.digest, runtime.artifact_key)
    fast = fast and not default_storage.exists(optimised_path)
    try:
        artifact, artifact_path, key, compile_seconds = _compiled(version, fast=fast)
        loaded = execution.component_cache().get(artifact_path, lambda: runtime.load(artifact, key))
        metadata = runtime.metadata(loaded)
    except (InvalidComponent, artifacts.ArtifactCorrupt) as error:
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
        artifact_key=key,
        artifact_size=len(artifact),
        artifact_sha256=artifacts.sha256(artifact),
        compile_seconds=compile_seconds,
        failure_reason="",
    )
    version.refresh_from_db()
    if tag_when_ready and version.status == SkillVersion.READY:
        move_tag(version.skill, tag_when_ready, version)
    if optimise and runtime.is_fast_key(version.artifact_key):
        _schedule_optimise(version.pk)
    return version


def optimise_pending() -> int:
    """Schedule the optimised compile of every ready version still served from its baseline
    artifact (registered by a command that exited, or whose compile died with its process).
    Returns how many; the same bytes are still compiled once (see :func:`_compiled`)."""
    runtime = execution.runtime()
    pending = SkillVersion.objects.filter(
        status=SkillVersion.READY, artifact_key=runtime.fast_artifact_key
    ).values_list("pk", flat=True)
    for version_id in pending:
        _schedule_optimise(version_id)
    return len(pending)


def optimise_version(version_id: int) -> SkillVersion:
    """Swap a version served from its baseline (Winch) artifact to the optimised Cranelift one.

    Runs serving meanwhile keep their loaded component; the next runs load the new artifact (the
    component cache is keyed by artifact path). Safe to rerun and to run concurrently."""
    version = SkillVersion.objects.select_related("skill").get(pk=version_id)
    runtime = execution.runtime()
    if version.status != SkillVersion.READY or not runtime.is_fast_key(version.artifact_key):
        return version
    try:
        artifact, artifact_path, key, compile_seconds = _compiled(version, fast=False, background=True)
        execution.component_cache().get(artifact_path, lambda: runtime.load(artifact, key))
    except Exception:  # noqa: BLE001 - the baseline artifact keeps serving
        log.exception("optimising %s failed; it keeps its baseline artifact", version)
        return version
    baseline = version.artifact
    SkillVersion.objects.filter(pk=version.pk, artifact=baseline).update(
        artifact=artifact_path,
        artifact_key=key,
        artifact_size=len(artifact),
        artifact_sha256=artifacts.sha256(artifact),
        compile_seconds=compile_seconds or version.compile_seconds,
    )
    version.refresh_from_db()
    execution.component_cache().discard(baseline)  # other processes let it age out of their LRU
    if not SkillVersion.objects.filter(artifact=baseline).exists():  # nothing serves it any more
        default_storage.delete(baseline)
    log.info("%s now runs optimised code (compiled in %.1f s)", version, compile_seconds)
    return version


def _compiled(
    version: SkillVersion, *, fast: bool, background: bool = False
) -> tuple[bytes, str, str, float]:
    """(artifact, storage path, artifact key, compile seconds), from storage when the same bytes
    were compiled before by this engine and the artifact still matches its recorded checksum
    (then 0 seconds), else compiled now. A cluster-wide lock per digest and engine makes a second
    process wait for the first one's artifact instead of compiling the same bytes again."""
    runtime = execution.runtime()
    key = runtime.fast_artifact_key if fast else runtime.artifact_key
    path = artifacts.path_for(version.digest, key)
    with locks.exclusive(f"compile:{path}"):
        if default_storage.exists(path):
            data = artifacts.read_checked(path, artifacts.recorded_sha256(path))
            if data is not None:
                return data, path, key, 0.0
        compiled = runtime.compile(artifacts.component_bytes(version), fast=fast, background=background)
        path = artifacts.path_for(version.digest, compiled.artifact_key)  # Winch may fall back
        if default_storage.exists(path):  # a tampered artifact, or one compiled meanwhile: ours wins
            default_storage.delete(path)
        path = default_storage.save(path, ContentFile(compiled.artifact))
    return compiled.artifact, path, compiled.artifact_key, compiled.compile_seconds


def _schedule_optimise(version_id: int) -> None:
    """Build the optimised artifact in the background: a Celery task in distributed mode (sent by
    name, so the registry does not import the tasks that import it), else the process's one
    optimiser thread, compiling on one core so serving keeps the other."""
    if settings.CELERY_BROKER_URL:
        from skills.services import broker

        broker.celery_app().send_task("skills.tasks.optimise_version", args=[version_id])
    else:
        _optimiser().submit(_optimise_in_thread, version_id)


@functools.cache
def _optimiser() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="artifact-optimiser")


def _optimise_in_thread(version_id: int) -> None:
    try:
        optimise_version(version_id)
    finally:
        close_old_connections()


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


_tagged: dict[tuple[str, str, str], tuple[float, tuple[Namespace, Skill, SkillVersion]]] = {}
_tagged_lock = threading.Lock()


def find_tagged(
    namespace_name: str, skill_name: str, tag: str = DEFAULT_TAG
) -> tuple[Namespace, Skill, SkillVersion] | None:
    """The namespace, active skill and version of a tag, in one query; None if there is none (the
    caller then resolves step by step, for the right error). Check access before using it.

    Answers are kept ``SKILL_RESOLVE_CACHE_SECONDS`` (the query is a fifth of a trivial run's
    cost); a change saved in this process forgets them at once, one made elsewhere (another
    process, a bulk update) is seen within that time.
    """
    key = (namespace_name, skill_name, tag)
    ttl = settings.SKILL_RESOLVE_CACHE_SECONDS
    if ttl > 0:
        hit = _tagged.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    tag_row = (
        Tag.objects.select_related("version", "skill__namespace")
        .filter(
            skill__namespace__name=namespace_name, skill__name=skill_name, skill__is_active=True, name=tag
        )
        .first()
    )
    if tag_row is None:
        return None
    found = tag_row.skill.namespace, tag_row.skill, tag_row.version
    if ttl > 0:
        with _tagged_lock:
            _tagged[key] = (time.monotonic() + ttl, found)
    return found


def forget_resolved(**_) -> None:
    """Drop the answers of ``find_tagged`` (a tag, skill, version or namespace changed)."""
    with _tagged_lock:
        _tagged.clear()


for _model in (Tag, Skill, SkillVersion, Namespace):
    post_save.connect(forget_resolved, sender=_model, dispatch_uid=f"forget-resolved-save-{_model.__name__}")
    post_delete.connect(forget_resolved, sender=_model, dispatch_uid=f"forget-resolved-del-{_model.__name__}")


def resolve(namespace: Namespace, skill_name: str, tag: str = DEFAULT_TAG) -> tuple[Skill, SkillVersion]:
    """The version a tag (or a digest prefix) of an active skill points at."""
    found = find_tagged(namespace.name, skill_name, tag)
    if found is not None:
        return found[1], found[2]
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
