"""Compiled artifacts in storage, checked before they become native code.

Deserializing a wasmtime artifact runs whatever machine code it holds, so an artifact is only
loaded when its sha256 matches the one recorded when it was compiled. On a mismatch (storage
tampered with, or a truncated write) the artifact is rebuilt from the stored component, itself
checked against the version's digest; if that does not match either, the version cannot run and
says so. Artifacts stored before checksums were recorded are trusted once and recorded then.
"""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from runtime import Runtime
from runtime import digest as sha256  # the hex sha256 components are keyed by
from skills.models import SkillVersion
from skills.services import locks

log = logging.getLogger(__name__)


class ArtifactCorrupt(RuntimeError):
    """Neither the artifact nor the component in storage matches its recorded checksum."""


def path_for(digest: str, key: str) -> str:
    return f"artifacts/{digest}/{key}.cwasm"


def recorded_sha256(path: str) -> str:
    """The checksum recorded for an artifact path by any version using it ('' if none yet)."""
    return (
        SkillVersion.objects.filter(artifact=path)
        .exclude(artifact_sha256="")
        .values_list("artifact_sha256", flat=True)
        .first()
        or ""
    )


def read_checked(path: str, expected: str) -> bytes | None:
    """The artifact's bytes if they match ``expected`` (or nothing is expected); None otherwise."""
    with default_storage.open(path, "rb") as handle:
        data = handle.read()
    if expected and sha256(data) != expected:
        log.error("artifact %s does not match its recorded sha256 %s: not loading it", path, expected)
        return None
    return data


def component_bytes(version: SkillVersion) -> bytes:
    """The stored component of ``version``, checked against the version's digest."""
    with default_storage.open(version.component, "rb") as handle:
        wasm = handle.read()
    if sha256(wasm) != version.digest:
        raise ArtifactCorrupt(
            f"the stored component of {version.skill} does not match its digest "
            f"sha256:{version.digest[:12]}; storage was modified: register the component again"
        )
    return wasm


def load_verified(version: SkillVersion, runtime: Runtime, tier_key: str | None):
    """The loaded component of a ready version, after checking its artifact (rebuilt if it fails)."""
    data = read_checked(version.artifact, version.artifact_sha256)
    if data is None:
        data = rebuild(version, runtime)
    elif not version.artifact_sha256:
        SkillVersion.objects.filter(pk=version.pk, artifact=version.artifact).update(
            artifact_sha256=sha256(data)
        )
    return runtime.load(data, tier_key)


def rebuild(version: SkillVersion, runtime: Runtime) -> bytes:
    """Compile the version's component again on the same tier and replace the stored artifact."""
    fast = runtime.is_fast_key(version.artifact_key)
    with locks.exclusive(f"compile:{version.artifact}"):
        data = read_checked(version.artifact, version.artifact_sha256)  # rebuilt meanwhile?
        if data is not None:
            return data
        compiled = runtime.compile(component_bytes(version), fast=fast)
        path = path_for(version.digest, compiled.artifact_key)
        if default_storage.exists(path):
            default_storage.delete(path)
        path = default_storage.save(path, ContentFile(compiled.artifact))
    checksum = sha256(compiled.artifact)
    SkillVersion.objects.filter(artifact=version.artifact).update(
        artifact=path, artifact_key=compiled.artifact_key, artifact_sha256=checksum
    )
    log.warning("rebuilt the artifact of %s from its component (sha256 %s)", version, checksum[:12])
    version.artifact, version.artifact_key, version.artifact_sha256 = path, compiled.artifact_key, checksum
    return compiled.artifact
