"""Apply a namespace source to the registry: the models stay the one source of what is served.

One sync reads what the namespace should serve (its namespace file or watched directory), fetches
what changed (a registry tag whose manifest moved, a file whose size or mtime changed), registers
and compiles new versions (fast: see ``registry.compile_version``), and only then, in one
transaction, moves ``latest`` of each skill, deactivates skills no longer listed, and makes MCP
servers and native tools follow the file. While a new version compiles, the old one serves.

Failures:

* the source as a whole (file unreadable, bad TOML, registry unreachable, bad credentials):
  nothing is applied, the last good state keeps serving, the error is stored on the source
  (admin, ``/metrics``) and logged;
* one skill (its tag is missing, its component does not load): that skill keeps its previous
  version (a new one is not added), the rest applies, and the error is stored all the same.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runtime import digest as sha256_of
from skills.models import McpServer, Namespace, NamespaceSource, Skill, SkillVersion
from skills.services import registry
from skills.services.errors import InvalidInput
from skills.sources import descriptions, oci
from skills.sources.descriptions import NamespaceDescription, SkillEntry, SourceError

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # a sync that died holding the lease is taken over after this
SETTLE_SECONDS = 0.5  # a file modified this recently may be half copied: read it next time
SERVED_TAG = registry.DEFAULT_TAG  # the kernel tag a source moves (what clients call by default)


@dataclass
class SyncReport:
    namespace: str
    changes: list[str] = field(default_factory=list)  # "added greet", "updated greet (sha256:…)", …
    errors: list[str] = field(default_factory=list)
    skipped: str = ""  # why nothing was tried (another process holds the lease, source disabled)
    applied: bool = False  # the sync got as far as applying (some skills may still have failed)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.skipped

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"{self.namespace}: skipped, {self.skipped}"]
        body = self.changes or ["no changes"]
        return [f"{self.namespace}: {line}" for line in body] + [
            f"{self.namespace}: ERROR {error}" for error in self.errors
        ]


@dataclass
class _Wanted:
    """One skill as the source wants it: either a known version or new bytes to register."""

    entry: SkillEntry
    state: dict  # what is stored in ``applied["skills"][name]``
    version: SkillVersion | None = None
    wasm: bytes | None = None


def sync_source(source_id: int) -> SyncReport:
    """Sync one source now, unless another process is syncing it (then report it skipped)."""
    source = NamespaceSource.objects.select_related("namespace").get(pk=source_id)
    report = SyncReport(namespace=source.namespace.name)
    if not source.enabled:
        report.skipped = "the source is disabled"
        return report
    if not _claim(source):
        report.skipped = "another process is syncing it"
        return report
    try:
        _sync(source, report)
    finally:
        NamespaceSource.objects.filter(pk=source.pk).update(syncing_until=None)
    _log(report, previous_error=source.last_error)
    return report


def _log(report: SyncReport, previous_error: str) -> None:
    """Changes at info, new errors at warning; a sync that changed nothing, or errors repeated
    from the last sync, at debug only (the poller runs every few seconds)."""
    repeated = "\n".join(report.errors) == previous_error
    name = report.namespace
    if report.skipped:
        log.debug("namespace sync: %s: skipped, %s", name, report.skipped)
    for change in report.changes:
        log.info("namespace sync: %s: %s", name, change)
    for error in report.errors:
        log.log(logging.DEBUG if repeated else logging.WARNING, "namespace sync: %s: ERROR %s", name, error)
    if not report.changes and not report.errors and not report.skipped:
        log.debug("namespace sync: %s: no changes", name)


def _claim(source: NamespaceSource) -> bool:
    now = timezone.now()
    return bool(
        NamespaceSource.objects.filter(pk=source.pk)
        .filter(Q(syncing_until__isnull=True) | Q(syncing_until__lt=now))
        .update(syncing_until=now + LEASE, last_attempt_at=now)
    )


def _sync(source: NamespaceSource, report: SyncReport) -> None:
    applied = source.applied or {}
    try:
        description = describe(source)
        wanted, failed = _fetch(source, description, applied)
    except SourceError as error:
        report.errors.append(str(error))
        _record(source, report, applied=None)
        return
    versions = _register(source, wanted, failed)
    report.errors.extend(f"{name}: {reason['reason']}" for name, reason in sorted(failed.items()))
    state = _apply(source, description, versions, failed, applied, report)
    report.applied = True
    _record(source, report, applied=state)


def describe(source: NamespaceSource) -> NamespaceDescription:
    """What the source says the namespace serves; raises SourceError when it cannot be read."""
    if source.kind == NamespaceSource.DIRECTORY:
        return descriptions.scan_directory(source.directory)
    if source.git_repository:
        cache = Path(settings.DATA_DIR) / "git"
        return descriptions.read_git(
            source.git_repository,
            source.git_branch or "main",
            source.git_path or "namespace.toml",
            cache,
            token=source.config_access_token,
        )
    url = source.config_url.strip()
    if not url:
        raise SourceError("the source has no namespace file: set a config URL, a path or a Git repository")
    if url.startswith(("http://", "https://")):
        return descriptions.read_url(url, source.config_access_token)
    return descriptions.read_path(url)  # a relative path is relative to the working directory


# -- fetch: what changed, nothing stored yet ------------------------------------------------------


def _fetch(
    source: NamespaceSource, description: NamespaceDescription, applied: dict
) -> tuple[dict[str, _Wanted], dict[str, dict]]:
    """Each listed skill's wanted version or new bytes, and the skills that failed (by name)."""
    previous: dict = applied.get("skills", {})
    previous_failures: dict = applied.get("failed", {})
    wanted: dict[str, _Wanted] = {}
    failed: dict[str, dict] = {}
    client = _registry_client(source) if _uses_registry(source) else None
    for entry in description.skills:
        if client is not None:
            result = _fetch_from_registry(source, client, entry, previous, previous_failures)
        else:
            result = _fetch_file(source, description, entry, previous, previous_failures)
        if isinstance(result, _Wanted):
            wanted[entry.name] = result
        elif result is not None:
            failed[entry.name] = result
    return wanted, failed


def _uses_registry(source: NamespaceSource) -> bool:
    return source.kind == NamespaceSource.NAMESPACE_FILE and bool(source.registry)


def _registry_client(source: NamespaceSource) -> oci.RegistryClient:
    return oci.RegistryClient(
        source.registry,
        user=source.registry_user,
        password=source.registry_password,
        insecure=source.registry_insecure,
        ca_bundle=settings.REGISTRY_CA_BUNDLE or None,
    )


def _fetch_from_registry(
    source: NamespaceSource,
    client: oci.RegistryClient,
    entry: SkillEntry,
    previous: dict,
    previous_failures: dict,
) -> _Wanted | dict:
    repository = client.repository(source.base_repository, entry.name)
    reference = f"{source.registry}/{repository}:{entry.tag}"
    missing = {"reason": f"{reference} does not exist in the registry", "reference": reference}
    manifest = _ask_registry(source, lambda: client.head(repository, entry.tag))
    if manifest is None:
        return missing
    known = previous.get(entry.name, {})
    if known.get("manifest") == manifest:
        version = _ready_version(source.namespace, entry.name, known.get("digest", ""))
        if version is not None:
            return _Wanted(entry, dict(known, tag=entry.tag), version=version)
    if previous_failures.get(entry.name, {}).get("manifest") == manifest:
        return previous_failures[entry.name]  # the same broken push: do not pull it again
    pulled = _ask_registry(source, lambda: client.pull(repository, entry.tag))
    if pulled is None:
        return missing
    state = {
        "tag": entry.tag,
        "reference": reference,
        "manifest": pulled.manifest_digest,
        "digest": pulled.layer_digest.removeprefix("sha256:"),
    }
    return _known_or_new(source, entry, state, pulled.wasm)


def _ask_registry(source: NamespaceSource, call):
    """The registry's answer, None when the tag does not exist (that skill fails alone); any
    other registry error (unreachable, unauthorised) fails the whole source."""
    try:
        return call()
    except oci.ManifestNotFound:
        return None
    except oci.RegistryError as error:
        raise SourceError(f"registry {source.registry}: {error}") from None


def _known_or_new(source: NamespaceSource, entry: SkillEntry, state: dict, wasm: bytes) -> _Wanted:
    """The ready version with these bytes if the namespace has one (re-published, rolled back),
    else the bytes to register."""
    version = _ready_version(source.namespace, entry.name, state["digest"])
    if version is not None:
        return _Wanted(entry, state, version=version)
    return _Wanted(entry, state, wasm=wasm)


def _fetch_file(
    source: NamespaceSource,
    description: NamespaceDescription,
    entry: SkillEntry,
    previous: dict,
    previous_failures: dict,
) -> _Wanted | dict | None:
    """The file's version (None: it is still being written and nothing served it before)."""
    if source.kind == NamespaceSource.DIRECTORY:
        path = description.files[entry.name]
    elif source.directory:
        path = Path(source.directory) / f"{entry.name}.wasm"
    else:
        raise SourceError("the namespace file's skills need a registry or a directory to load them from")
    try:
        stat = path.stat()
    except OSError:
        return {"reason": f"{path} does not exist", "reference": str(path)}
    signature = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    known = previous.get(entry.name, {})
    if all(known.get(key) == value for key, value in signature.items()):
        version = _ready_version(source.namespace, entry.name, known.get("digest", ""))
        if version is not None:
            return _Wanted(entry, dict(known, tag=entry.tag), version=version)
    if time.time() - stat.st_mtime < SETTLE_SECONDS:  # still being written: next poll
        old = _ready_version(source.namespace, entry.name, known.get("digest", ""))
        return _Wanted(entry, known, version=old) if old is not None else None
    failure = previous_failures.get(entry.name, {})
    if all(failure.get(key) == value for key, value in signature.items()):
        return failure
    try:
        wasm = path.read_bytes()
    except OSError as error:
        return {"reason": f"cannot read {path}: {error.strerror}", "reference": str(path), **signature}
    state = {"tag": entry.tag, "reference": str(path), "digest": sha256_of(wasm), **signature}
    return _known_or_new(source, entry, state, wasm)


def _ready_version(namespace: Namespace, skill_name: str, sha: str) -> SkillVersion | None:
    if not sha:
        return None
    return (
        SkillVersion.objects.select_related("skill")
        .filter(skill__namespace=namespace, skill__name=skill_name, digest=sha, status=SkillVersion.READY)
        .first()
    )


# -- register and compile: new versions exist, nothing serves them yet ---------------------------


def _register(
    source: NamespaceSource, wanted: dict[str, _Wanted], failed: dict[str, dict]
) -> dict[str, tuple[_Wanted, SkillVersion]]:
    origin = SkillVersion.REGISTRY if _uses_registry(source) else SkillVersion.DIRECTORY
    ready: dict[str, tuple[_Wanted, SkillVersion]] = {}
    for name, item in wanted.items():
        version = item.version
        if version is None:
            version = _register_new(source, name, item, origin, failed)
            if version is None:
                continue
        ready[name] = (item, version)
    return ready


def _register_new(
    source: NamespaceSource, name: str, item: _Wanted, origin: str, failed: dict[str, dict]
) -> SkillVersion | None:
    try:
        registration = registry.register_version(
            source.namespace.name,
            name,
            item.wasm or b"",
            tag=None,
            compile_now=False,
            origin=origin,
            origin_reference=item.state["reference"],
            origin_digest=item.state.get("manifest", ""),
        )
    except InvalidInput as error:
        failed[name] = {**item.state, "reason": f"{item.state['reference']}: {error}"}
        return None
    version = registry.compile_version(registration.version.pk, fast=settings.SKILL_FAST_DEPLOY)
    if version.status != SkillVersion.READY:
        reason = version.failure_reason or f"the version is {version.status}"
        failed[name] = {**item.state, "reason": f"{item.state['reference']} does not load: {reason}"}
        return None
    return version


# -- apply: one transaction --------------------------------------------------------------------


def _apply(
    source: NamespaceSource,
    description: NamespaceDescription,
    versions: dict[str, tuple[_Wanted, SkillVersion]],
    failed: dict[str, dict],
    applied: dict,
    report: SyncReport,
) -> dict:
    previous: dict = applied.get("skills", {})
    namespace = source.namespace
    skills_state: dict[str, dict] = {}
    with transaction.atomic():
        for name, (item, version) in sorted(versions.items()):
            skill = version.skill
            served = skill.tags.filter(name=SERVED_TAG).values_list("version_id", flat=True).first()
            if not skill.is_active:
                Skill.objects.filter(pk=skill.pk).update(is_active=True)
            if served != version.pk or not skill.is_active:
                registry.move_tag(skill, SERVED_TAG, version)
                verb = "added" if name not in previous or served is None else "updated"
                report.changes.append(
                    f"{verb} {name} ({item.state['reference']}, sha256:{version.digest[:12]})"
                )
            skills_state[name] = {**item.state, "digest": version.digest}
        for name in sorted(failed):
            if name in previous:  # keeps serving what it served
                skills_state[name] = previous[name]
        removed = sorted(set(previous) - set(skills_state))
        if removed:
            Skill.objects.filter(namespace=namespace, name__in=removed).update(is_active=False)
            report.changes.extend(f"removed {name}" for name in removed)
        tools = _apply_tools(namespace, description, applied, report)
    return {
        "revision": description.revision,
        "skills": skills_state,
        "failed": failed,
        **tools,
    }


def _apply_tools(
    namespace: Namespace, description: NamespaceDescription, applied: dict, report: SyncReport
) -> dict:
    """MCP servers and native tools follow a namespace file that lists them. Servers added in the
    admin (not by the file) are left alone."""
    if not description.lists_tools:
        return {"mcp_servers": applied.get("mcp_servers", [])}
    native = ",".join(description.native_tools)
    if namespace.native_tools != native:
        Namespace.objects.filter(pk=namespace.pk).update(native_tools=native)
        namespace.native_tools = native
        report.changes.append(f"native tools: {native or 'none'}")
    managed = set(applied.get("mcp_servers", []))
    wanted = list(dict.fromkeys(description.mcp_servers))
    for url in sorted(managed - set(wanted)):
        McpServer.objects.filter(namespace=namespace, url=url).delete()
        report.changes.append(f"removed MCP server {url}")
    existing = set(McpServer.objects.filter(namespace=namespace).values_list("url", flat=True))
    taken = set(McpServer.objects.filter(namespace=namespace).values_list("name", flat=True))
    for url in wanted:
        if url in existing:
            continue
        name = descriptions.mcp_server_name(url, taken)
        taken.add(name)
        McpServer.objects.create(namespace=namespace, name=name, url=url)
        report.changes.append(f"added MCP server {url}")
    return {"mcp_servers": wanted}


def _record(source: NamespaceSource, report: SyncReport, applied: dict | None) -> None:
    now = timezone.now()
    fields: dict = {}
    if applied is not None:
        fields.update(applied=applied, last_success_at=now)
    if report.errors:
        fields.update(
            last_error="\n".join(report.errors),
            last_error_at=now,
            consecutive_failures=source.consecutive_failures + 1,
        )
    else:
        fields.update(last_error="", consecutive_failures=0)
    NamespaceSource.objects.filter(pk=source.pk).update(**fields)
