"""The CSI backends the kernel shares between runs, chosen from settings and namespace rows.

Backends are thread-safe objects holding connection pools (and, for MCP, tool listings), so they are
built once per *configuration* and reused: a changed setting or admin field gives a new key and a new
backend, while runs of an unchanged namespace share one. The caches are bounded LRUs; an evicted
backend is not closed (a run may still use it) and is left to the garbage collector.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings

from runtime.csi import DocumentIndexBackend, InferenceBackend, ToolBackend
from runtime.csi.tools import NATIVE_TOOLS
from runtime.csi.types import Tool
from skills.models import McpServer, Namespace

log = logging.getLogger(__name__)

T = TypeVar("T")

_MAX_BACKENDS = 256


class _Backends:
    """A bounded LRU of backends keyed by their configuration."""

    def __init__(self, limit: int = _MAX_BACKENDS) -> None:
        self._limit = limit
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            backend = build()
            self._items[key] = backend
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
            return backend

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_inference = _Backends()
_documents = _Backends()
_tools = _Backends()


def clear_caches() -> None:
    """Forget every cached backend (tests change settings between cases)."""
    for cache in (_inference, _documents, _tools):
        cache.clear()


def model_map(value: str) -> dict[str, str]:
    """``OPENAI_INFERENCE__MODEL_MAP``: a JSON object, or comma-separated ``kernel-name=backend-name``."""
    value = value.strip()
    if not value:
        return {}
    if value.startswith("{"):
        mapping = json.loads(value)
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise ValueError("OPENAI_INFERENCE__MODEL_MAP must map model names to model names")
        return mapping
    pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError("OPENAI_INFERENCE__MODEL_MAP must be JSON or name=backend-name pairs")
    return {name.strip(): backend.strip() for name, backend in pairs}


def _names(value: str | list[str]) -> frozenset[str] | None:
    names = value if isinstance(value, list) else value.split(",")
    return frozenset(name.strip() for name in names if name.strip()) or None


def inference_for(namespace: Namespace | None = None) -> InferenceBackend | None:
    """The namespace's own OpenAI-compatible backend if it sets one, else the kernel's (or ``None``).

    A namespace override brings its URL, token and allow-list; timeouts come from the kernel settings,
    and the kernel's model map applies to the kernel's backend only.
    """
    if namespace is not None and namespace.inference_url:
        url, token = namespace.inference_url, namespace.inference_token
        allowed, mapping = _names(namespace.inference_models), {}
    elif settings.OPENAI_INFERENCE_URL:
        url, token = settings.OPENAI_INFERENCE_URL, settings.OPENAI_INFERENCE_TOKEN
        allowed, mapping = (
            _names(settings.OPENAI_INFERENCE_MODELS),
            model_map(settings.OPENAI_INFERENCE_MODEL_MAP),
        )
    else:
        return None
    key = (
        url,
        token,
        settings.OPENAI_INFERENCE_TIMEOUT,
        settings.OPENAI_INFERENCE_CONNECT_TIMEOUT,
        settings.OPENAI_INFERENCE_MAX_CONCURRENCY,
        settings.OPENAI_INFERENCE_VLLM_EXTENSIONS,
        allowed,
        tuple(sorted(mapping.items())),
    )

    def build() -> InferenceBackend:
        from runtime.csi.openai import OpenAIInference, OpenAIInferenceConfig

        return OpenAIInference(
            OpenAIInferenceConfig(
                url=url,
                token=token or None,
                timeout=settings.OPENAI_INFERENCE_TIMEOUT,
                connect_timeout=settings.OPENAI_INFERENCE_CONNECT_TIMEOUT,
                allowed_models=allowed,
                model_map=mapping,
                max_concurrency=settings.OPENAI_INFERENCE_MAX_CONCURRENCY,
                vllm_extensions=settings.OPENAI_INFERENCE_VLLM_EXTENSIONS,
            )
        )

    return _inference.get(key, build)


def documents() -> DocumentIndexBackend | None:
    """The CSI's document index: the built-in one (``skills.documents``), which hands a namespace with
    an external DocumentIndex (its own, or ``DOCUMENT_INDEX__URL`` for all) to that index's client."""
    from skills.documents.backend import router

    return router


def external_documents(url: str, token: str) -> DocumentIndexBackend:
    """The client of the Pharia DocumentIndex at ``url``, shared while its configuration holds."""
    key = (url, token, settings.DOCUMENT_INDEX_TIMEOUT)

    def build() -> DocumentIndexBackend:
        from runtime.csi.documents import DocumentIndexClient

        return DocumentIndexClient(url, token or None, timeout=settings.DOCUMENT_INDEX_TIMEOUT)

    return _documents.get(key, build)


def _headers(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def tools_for(namespace: Namespace) -> ToolBackend:
    """Native tools enabled on the namespace, then its enabled MCP servers (first name wins).

    One query for the MCP server rows per call; the backend (and the MCP listings it caches for
    ``MCP_TOOLS_CACHE_TTL`` seconds) is reused while the namespace's tool configuration is unchanged.
    """
    native = tuple(name for name in namespace.native_tool_names if name in NATIVE_TOOLS)
    unknown = sorted(set(namespace.native_tool_names) - set(NATIVE_TOOLS))
    if unknown:
        log.warning("namespace %s names unknown native tools %s; ignored", namespace.name, unknown)
    servers = tuple(
        (server.name, server.url, json.dumps(_headers(server.headers), sort_keys=True))
        for server in namespace.mcp_servers.filter(enabled=True).order_by("name")
    )
    key = (
        namespace.pk,
        native,
        servers,
        settings.MCP_TIMEOUT,
        settings.MCP_TOOLS_CACHE_TTL,
        settings.MCP_FAILURE_TTL,
    )

    def build() -> ToolBackend:
        from runtime.csi.tools import CompositeTools, McpServerConfig, McpTools, NativeTools

        backends: list[ToolBackend] = [NativeTools(native)]
        if servers:
            configs = [
                McpServerConfig(url=url, name=name, headers=json.loads(headers), timeout=settings.MCP_TIMEOUT)
                for name, url, headers in servers
            ]
            backends.append(
                McpTools(
                    configs, cache_ttl=settings.MCP_TOOLS_CACHE_TTL, failure_ttl=settings.MCP_FAILURE_TTL
                )
            )
        return CompositeTools(backends)

    return _tools.get(key, build)


def discover_tools(server: McpServer) -> list[Tool]:
    """List the tools of one MCP server now (no cache): what the admin shows before enabling it."""
    from runtime.csi.tools import McpServerConfig, McpTools

    config = McpServerConfig(
        url=server.url, name=server.name, headers=_headers(server.headers), timeout=settings.MCP_TIMEOUT
    )
    return McpTools([config], cache_ttl=0, failure_ttl=0).list_tools()
