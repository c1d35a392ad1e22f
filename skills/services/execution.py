"""The process's runtime, its component cache and the CSI each run gets.

Created lazily per process (after a Celery worker forks), never at import time.
"""

from __future__ import annotations

import functools
import threading

from django.conf import settings
from django.core.files.storage import default_storage

from runtime import Csi, EngineSettings, Limits, LoadedSkill, Runtime
from runtime.cache import ComponentCache
from runtime.csi.chunking import TextChunking
from runtime.csi.language import LinguaLanguage
from skills.models import Namespace, Skill, SkillVersion
from skills.services import csi as csi_backends

_lock = threading.Lock()


@functools.cache
def runtime() -> Runtime:
    return Runtime(EngineSettings(opt_level=settings.SKILL_CRANELIFT_OPT_LEVEL))


@functools.cache
def component_cache() -> ComponentCache[LoadedSkill]:
    return ComponentCache(settings.SKILL_CACHE_MB * 1024 * 1024, size_of=lambda skill: skill.size)


def load(version: SkillVersion) -> LoadedSkill:
    """The loaded component of a ready version, from the cache or the artifact storage."""

    def read() -> LoadedSkill:
        with default_storage.open(version.artifact, "rb") as handle:
            return runtime().load(handle.read())

    return component_cache().get(version.artifact, read)


def limits_for(skill: Skill) -> Limits:
    kernel = Limits(
        timeout=settings.SKILL_TIMEOUT_SECONDS, memory_bytes=settings.SKILL_MEMORY_MB * 1024 * 1024
    )
    memory = skill.memory_mb * 1024 * 1024 if skill.memory_mb else None
    return kernel.override(timeout=skill.timeout_seconds, memory_bytes=memory)


@functools.cache
def _language() -> LinguaLanguage:
    return LinguaLanguage(low_accuracy=settings.LANGUAGE_LOW_ACCURACY)


@functools.cache
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
