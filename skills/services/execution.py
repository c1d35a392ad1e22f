"""The process's runtime, its component cache and the CSI each run gets.

Created lazily per process (after a Celery worker forks), never at import time.
"""

from __future__ import annotations

import functools
import json
import threading

from django.conf import settings
from django.core.files.storage import default_storage

from runtime import Csi, EngineSettings, Limits, LoadedSkill, Runtime
from runtime.cache import ComponentCache
from runtime.csi.chunking import TextChunking
from runtime.csi.language import LinguaLanguage
from skills.models import Namespace, Skill, SkillVersion

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


@functools.cache
def _inference():
    if not settings.OPENAI_INFERENCE_URL:
        return None
    from runtime.csi.openai import OpenAIInference, OpenAIInferenceConfig

    model_map = json.loads(settings.OPENAI_INFERENCE_MODEL_MAP) if settings.OPENAI_INFERENCE_MODEL_MAP else {}
    return OpenAIInference(
        OpenAIInferenceConfig(
            url=settings.OPENAI_INFERENCE_URL,
            token=settings.OPENAI_INFERENCE_TOKEN or None,
            timeout=settings.OPENAI_INFERENCE_TIMEOUT,
            allowed_models=frozenset(settings.OPENAI_INFERENCE_MODELS) or None,
            model_map=model_map,
        )
    )


@functools.cache
def _documents():
    if not settings.DOCUMENT_INDEX_URL:
        return None
    from runtime.csi.documents import DocumentIndexClient

    return DocumentIndexClient(settings.DOCUMENT_INDEX_URL, settings.DOCUMENT_INDEX_TOKEN or None)


def _tools(namespace: Namespace):
    from runtime.csi.tools import CompositeTools, NativeTools

    return CompositeTools([NativeTools(namespace.native_tool_names)])


def csi_for(namespace: Namespace) -> Csi:
    """The CSI a run in ``namespace`` sees: the kernel's backends plus the namespace's tools."""
    return Csi(
        language=_language(),
        chunking=_chunking(),
        inference=_inference(),
        document_index=_documents(),
        tools=_tools(namespace),
    )
