"""The process's runtime, its component cache and the CSI each run gets.

Created lazily per process (after a Celery worker forks), never at import time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from runtime import Csi, EngineSettings, Limits, LoadedSkill, Runtime
from runtime.cache import ComponentCache
from runtime.csi.chunking import TextChunking
from runtime.csi.language import LinguaLanguage
from skills.models import Namespace, Skill, SkillVersion
from skills.services import artifacts
from skills.services import csi as csi_backends

T = TypeVar("T")


def once(build: Callable[[], T]) -> Callable[[], T]:
    """A thread-safe ``functools.cache`` for a no-argument factory: threads racing on the first call
    get one object (two engines would make artifacts loaded by one unusable in the other)."""
    lock = threading.Lock()
    made: list[T] = []

    @functools.wraps(build)
    def get() -> T:
        if not made:
            with lock:
                if not made:
                    made.append(build())
        return made[0]

    get.cache_clear = made.clear  # type: ignore[attr-defined]
    get.is_built = lambda: bool(made)  # type: ignore[attr-defined]
    return get


@once
def runtime() -> Runtime:
    return Runtime(
        EngineSettings(
            opt_level=settings.SKILL_CRANELIFT_OPT_LEVEL,
            spare_instances=settings.SKILL_SPARE_INSTANCES,
            spare_skills=settings.SKILL_SPARE_SKILLS,
            pooling=settings.SKILL_POOLING,
            pool_instances=settings.SKILL_POOL_INSTANCES or _pool_instances(),
            keep_resident_mb=settings.SKILL_POOL_KEEP_RESIDENT_MB,
            warm_slots=settings.SKILL_POOL_WARM_SLOTS,
        )
    )


def _pool_instances() -> int:
    """Room for a run on every thread that may execute one, plus the spares: each slot reserves
    address space only (4 GiB per memory), no memory."""
    threads = settings.SKILL_EXECUTOR_THREADS + max(settings.SKILL_WORKER_THREADS, 64)
    spares = settings.SKILL_SPARE_INSTANCES * settings.SKILL_SPARE_SKILLS
    return max(256, threads + spares + 32)


@once
def component_cache() -> ComponentCache[LoadedSkill]:
    return ComponentCache(settings.SKILL_CACHE_MB * 1024 * 1024, size_of=lambda skill: skill.size)


def load(version: SkillVersion) -> LoadedSkill:
    """The loaded component of a ready version, from the cache or the artifact storage (checked
    against its recorded sha256 before it is deserialized, see ``skills.services.artifacts``)."""

    def read() -> LoadedSkill:
        # Only the tier matters: Cranelift artifacts of another opt level load all the same.
        tier_key = version.artifact_key if runtime().is_fast_key(version.artifact_key) else None
        return artifacts.load_verified(version, runtime(), tier_key)

    try:
        return component_cache().get(version.artifact, read)
    except FileNotFoundError:
        # Swapped to its optimised artifact (and the baseline removed) since this row was read.
        version.refresh_from_db(fields=["artifact", "artifact_key", "artifact_sha256"])
        return component_cache().get(version.artifact, read)


def warm(version: SkillVersion) -> LoadedSkill:
    """Load a version into the cache and have spare instances made for its next runs."""
    loaded = load(version)
    runtime().preparer.wanted(loaded, limits_for(version.skill).memory_bytes)
    return loaded


def limits_for(skill: Skill) -> Limits:
    kernel = Limits(
        timeout=settings.SKILL_TIMEOUT_SECONDS, memory_bytes=settings.SKILL_MEMORY_MB * 1024 * 1024
    )
    memory = skill.memory_mb * 1024 * 1024 if skill.memory_mb else None
    return kernel.override(timeout=skill.timeout_seconds, memory_bytes=memory)


@once
def _language() -> LinguaLanguage:
    return LinguaLanguage(low_accuracy=settings.LANGUAGE_LOW_ACCURACY)


@once
def _chunking() -> TextChunking:
    return TextChunking(fallback_encoding=settings.CHUNKING_FALLBACK_ENCODING)


def _inference(namespace: Namespace | None = None):
    return csi_backends.inference_for(namespace)


def _documents():
    return csi_backends.documents()


class _LazyTools:
    """The namespace's tools, looked up on the first tool call: most runs call no tool, and the
    lookup costs a query."""

    def __init__(self, namespace: Namespace) -> None:
        self._namespace = namespace
        self._backend = None

    def _get(self):
        if self._backend is None:
            self._backend = csi_backends.tools_for(self._namespace)
        return self._backend

    def invoke_tool(self, requests):
        return self._get().invoke_tool(requests)

    def list_tools(self):
        return self._get().list_tools()


def _tools(namespace: Namespace):
    return _LazyTools(namespace)


def csi_for(namespace: Namespace, observe=None) -> Csi:
    """The CSI a run in ``namespace`` sees: the kernel's backends plus the namespace's tools.

    Every call is observed (a span and metrics, ``skills.telemetry.observe_csi``) unless
    ``observe`` replaces the observer."""
    from skills import telemetry

    return Csi(
        observe=observe or telemetry.observe_csi,
        language=_language(),
        chunking=_chunking(),
        inference=_inference(namespace),
        document_index=_documents(),
        tools=_tools(namespace),
    )


def warm_up() -> None:
    """Build the process's engine, cache and CSI backends now, before runs arrive: otherwise the
    first burst of runs pays for them (and the imports behind them) all at once."""
    runtime()
    component_cache()
    _language()
    _chunking()
    _inference()
    _documents()
