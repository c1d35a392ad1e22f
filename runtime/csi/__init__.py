"""The Cognitive System Interface: what a skill can reach, as small backends behind protocols.

A :class:`Csi` is bound to one run (its namespace and caller). Each function dispatches to a
backend; a function whose backend is not configured raises :class:`NotConfigured`, which ends
the run with a clear message rather than an opaque trap. ``observe`` wraps every call so the
kernel can trace and count it without the runtime knowing about OpenTelemetry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.csi.types import (
    ChatEvent,
    ChatRequest,
    ChatResponse,
    ChunkRequest,
    ChunkWithOffset,
    Completion,
    CompletionEvent,
    CompletionRequest,
    CsiError,
    Document,
    DocumentPath,
    ExplanationRequest,
    InvalidCsiRequest,
    InvokeRequest,
    NotConfigured,
    SearchRequest,
    SearchResult,
    SelectLanguageRequest,
    TextScore,
    Tool,
    ToolResult,
)

__all__ = [
    "ChunkingBackend",
    "Csi",
    "CsiError",
    "DocumentIndexBackend",
    "InferenceBackend",
    "InvalidCsiRequest",
    "LanguageBackend",
    "NotConfigured",
    "ToolBackend",
]


class LanguageBackend(Protocol):
    def select_language(self, requests: list[SelectLanguageRequest]) -> list[str | None]: ...


class ChunkingBackend(Protocol):
    def chunk(self, requests: list[ChunkRequest]) -> list[list[ChunkWithOffset]]: ...


class InferenceBackend(Protocol):
    def complete(self, requests: list[CompletionRequest]) -> list[Completion]: ...

    def chat(self, requests: list[ChatRequest]) -> list[ChatResponse]: ...

    def completion_stream(self, request: CompletionRequest) -> Iterator[CompletionEvent]: ...

    def chat_stream(self, request: ChatRequest) -> Iterator[ChatEvent]: ...

    def explain(self, requests: list[ExplanationRequest]) -> list[list[TextScore]]: ...


class DocumentIndexBackend(Protocol):
    def search(self, requests: list[SearchRequest]) -> list[list[SearchResult]]: ...

    def documents(self, paths: list[DocumentPath]) -> list[Document]: ...

    def document_metadata(self, paths: list[DocumentPath]) -> list[bytes | None]: ...


class ToolBackend(Protocol):
    def invoke_tool(self, requests: list[InvokeRequest]) -> list[ToolResult]: ...

    def list_tools(self) -> list[Tool]: ...


Observer = Callable[[str, dict[str, Any]], AbstractContextManager[dict[str, Any]]]


def _no_observer(function: str, attributes: dict[str, Any]) -> AbstractContextManager[dict[str, Any]]:
    return nullcontext(attributes)


@dataclass
class Csi:
    """The CSI for one run. Backends left ``None`` answer with :class:`NotConfigured`."""

    language: LanguageBackend | None = None
    chunking: ChunkingBackend | None = None
    inference: InferenceBackend | None = None
    document_index: DocumentIndexBackend | None = None
    tools: ToolBackend | None = None
    observe: Observer = field(default=_no_observer)

    def _backend(self, name: str, service: str) -> Any:
        backend = getattr(self, name)
        if backend is None:
            raise NotConfigured(service)
        return backend

    def select_language(self, requests: list[SelectLanguageRequest]) -> list[str | None]:
        with self.observe("select_language", {"csi.requests": len(requests)}):
            return self._backend("language", "language detection").select_language(requests)

    def chunk(self, requests: list[ChunkRequest]) -> list[list[ChunkWithOffset]]:
        with self.observe("chunk", {"csi.requests": len(requests), "csi.input": requests}):
            return self._backend("chunking", "chunking").chunk(requests)

    def complete(self, requests: list[CompletionRequest]) -> list[Completion]:
        with self.observe("complete", {"csi.requests": len(requests), "csi.input": requests}) as attributes:
            results = self._backend("inference", "inference").complete(requests)
            attributes["csi.results"] = results
            return results

    def chat(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        with self.observe("chat", {"csi.requests": len(requests), "csi.input": requests}) as attributes:
            results = self._backend("inference", "inference").chat(requests)
            attributes["csi.results"] = results
            return results

    def completion_stream(self, request: CompletionRequest) -> Iterator[CompletionEvent]:
        with self.observe("completion_stream", {"csi.request": request}):
            return self._backend("inference", "inference").completion_stream(request)

    def chat_stream(self, request: ChatRequest) -> Iterator[ChatEvent]:
        with self.observe("chat_stream", {"csi.request": request}):
            return self._backend("inference", "inference").chat_stream(request)

    def explain(self, requests: list[ExplanationRequest]) -> list[list[TextScore]]:
        with self.observe("explain", {"csi.requests": len(requests), "csi.input": requests}):
            return self._backend("inference", "inference").explain(requests)

    def search(self, requests: list[SearchRequest]) -> list[list[SearchResult]]:
        with self.observe("search", {"csi.requests": len(requests)}):
            return self._backend("document_index", "document index").search(requests)

    def documents(self, paths: list[DocumentPath]) -> list[Document]:
        with self.observe("documents", {"csi.requests": len(paths)}):
            return self._backend("document_index", "document index").documents(paths)

    def document_metadata(self, paths: list[DocumentPath]) -> list[bytes | None]:
        with self.observe("document_metadata", {"csi.requests": len(paths)}):
            return self._backend("document_index", "document index").document_metadata(paths)

    def invoke_tool(self, requests: list[InvokeRequest]) -> list[ToolResult]:
        names = [request.tool_name for request in requests]
        with self.observe("invoke_tool", {"csi.tools": names}):
            return self._backend("tools", "tools").invoke_tool(requests)

    def list_tools(self) -> list[Tool]:
        with self.observe("list_tools", {}):
            return self._backend("tools", "tools").list_tools()
