"""Tool backends for the CSI: built-in tools, tools of MCP servers, and a composite of both.

* :class:`NativeTools` -- ``add``, ``subtract`` and ``saboteur``, run in-process. As in PhariaEngine,
  ``saboteur`` ignores whatever arguments it gets and fails with ``Out of cheese.``
* :class:`McpTools` -- tools discovered from MCP servers over streamable HTTP with the official ``mcp``
  client. The client is asyncio-based and our callers are plain (wasmtime host) threads, so each
  ``list_tools``/``invoke_tool`` call runs its own ``asyncio.run``: one short-lived event loop, one HTTP
  client and one MCP session per server touched, closed before returning. Nothing async outlives a call,
  so there is no loop thread to start, stop or lose in a forked (Celery prefork) worker, and concurrent
  callers never share a loop. The price is an MCP handshake per call (~20 ms on loopback); the tool
  listing is cached per server for ``cache_ttl`` seconds (a failed one for ``failure_ttl``), so routing a
  call costs no extra round trip.
* :class:`CompositeTools` -- the union of several backends (first wins on a name clash), listed
  sorted by name as PhariaEngine lists a namespace's tools.

Error policy: a tool that fails, an unknown tool, bad arguments or an unreachable MCP server on
``invoke_tool`` give a :class:`ToolFailure` (the skill decides what to do). ``list_tools`` raises
:class:`CsiError` naming a server it cannot list, so a skill author sees a broken namespace instead of a
silently shorter list; invocations still route to the servers that answer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from runtime.csi import ToolBackend
from runtime.csi.types import CsiError, InvokeRequest, Tool, ToolFailure, ToolOutput, ToolResult

__all__ = ["NATIVE_TOOLS", "CompositeTools", "McpServerConfig", "McpTools", "NativeTools"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def not_available(name: str) -> ToolFailure:
    """The failure for a tool no backend of the namespace offers."""
    return ToolFailure(f"tool '{name}' is not available in this namespace")


def _map_concurrently(fn: Callable[[T], R], items: Sequence[T], max_workers: int) -> list[R]:
    """``[fn(item) for item in items]``, on a short-lived thread pool when there is more than one.

    A pool per call (not one per instance) keeps backends fork-safe: a forked worker never inherits
    pool threads that no longer exist.
    """
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(fn, items))


def _arguments(request: InvokeRequest) -> dict[str, Any] | ToolFailure:
    """Decode the JSON argument values of a request into a dict."""
    arguments: dict[str, Any] = {}
    for argument in request.arguments:
        try:
            arguments[argument.name] = json.loads(argument.value)
        except (ValueError, UnicodeDecodeError) as error:
            return ToolFailure(
                f"argument '{argument.name}' of tool '{request.tool_name}' is not JSON: {error}"
            )
    return arguments


# -- native tools -----------------------------------------------------------------------------


def _number(description: str) -> dict[str, Any]:
    return {"type": "number", "description": description}


def _binary_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"a": _number("The first operand."), "b": _number("The second operand.")},
        "required": ["a", "b"],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class _NativeTool:
    description: str
    schema: dict[str, Any]
    run: Callable[[dict[str, Any]], Any]
    checks_arguments: bool = True


def _sabotage(arguments: dict[str, Any]) -> Any:
    raise _Failed("Out of cheese.")


class _Failed(Exception):
    """A native tool failed with this message."""


_NATIVE: dict[str, _NativeTool] = {
    "add": _NativeTool("Add two numbers: a + b.", _binary_schema(), lambda args: args["a"] + args["b"]),
    "subtract": _NativeTool(
        "Subtract two numbers: a - b.", _binary_schema(), lambda args: args["a"] - args["b"]
    ),
    "saboteur": _NativeTool(
        "A tool that always fails, to test how skills handle tool failures.",
        {"type": "object", "properties": {}},
        _sabotage,
        checks_arguments=False,
    ),
}

NATIVE_TOOLS: tuple[str, ...] = tuple(_NATIVE)


class NativeTools:
    """The built-in tools named in ``enabled`` (a subset of :data:`NATIVE_TOOLS`)."""

    def __init__(self, enabled: Iterable[str]) -> None:
        names = set(enabled)
        unknown = sorted(names - set(_NATIVE))
        if unknown:
            raise ValueError(f"unknown native tools {unknown}; known are {list(NATIVE_TOOLS)}")
        self._enabled = [name for name in NATIVE_TOOLS if name in names]

    def list_tools(self) -> list[Tool]:
        return [
            Tool(name, _NATIVE[name].description, json.dumps(_NATIVE[name].schema).encode())
            for name in sorted(self._enabled)
        ]

    def invoke_tool(self, requests: list[InvokeRequest]) -> list[ToolResult]:
        return [self._invoke(request) for request in requests]

    def _invoke(self, request: InvokeRequest) -> ToolResult:
        name = request.tool_name
        if name not in self._enabled:
            return not_available(name)
        tool = _NATIVE[name]
        if not tool.checks_arguments:
            return self._run(tool, {})
        arguments = _arguments(request)
        if isinstance(arguments, ToolFailure):
            return arguments
        properties = tool.schema["properties"]
        unexpected = sorted(set(arguments) - set(properties))
        if unexpected:
            return ToolFailure(f"tool '{name}' got unexpected arguments {unexpected}")
        for argument in tool.schema.get("required", []):
            if argument not in arguments:
                return ToolFailure(f"tool '{name}' is missing argument '{argument}'")
            value = arguments[argument]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return ToolFailure(
                    f"argument '{argument}' of tool '{name}' must be a number, got {json.dumps(value)}"
                )
        return self._run(tool, arguments)

    @staticmethod
    def _run(tool: _NativeTool, arguments: dict[str, Any]) -> ToolResult:
        try:
            return ToolOutput([str(tool.run(arguments))])
        except _Failed as failure:
            return ToolFailure(str(failure))


# -- MCP tools --------------------------------------------------------------------------------


@dataclass
class McpServerConfig:
    """An MCP server reachable over streamable HTTP; ``timeout`` bounds each call to it (seconds)."""

    url: str
    name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.url})" if self.name else self.url


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, in any thread.

    Our callers are plain threads, so this is ``asyncio.run``; if the calling thread happens to run an
    event loop already (``asyncio.run`` refuses that), a helper thread runs it instead.
    """

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for all MCP clients: loading the CA bundle costs ~20 ms, a client per call."""
    import httpx2

    return httpx2.create_ssl_context()


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, as anyio task groups wrap them."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _describe(server: McpServerConfig, error: BaseException) -> str:
    """A clear one-line message for an error talking to ``server``."""
    import httpx2
    from mcp.shared.exceptions import MCPError

    leaves = [leaf for leaf in _leaves(error) if not isinstance(leaf, asyncio.CancelledError)] or [error]
    leaf = leaves[0]
    if isinstance(leaf, TimeoutError | httpx2.TimeoutException):
        return f"MCP server {server.label} did not answer within {server.timeout:g} s"
    if isinstance(leaf, httpx2.TransportError | OSError):
        return f"MCP server {server.label} unreachable: {leaf or type(leaf).__name__}"
    if isinstance(leaf, httpx2.HTTPStatusError):
        return f"MCP server {server.label} answered HTTP {leaf.response.status_code}"
    if isinstance(leaf, MCPError):
        return f"MCP server {server.label} answered with an error: {leaf.message}"
    return f"MCP server {server.label} failed: {type(leaf).__name__}: {leaf}"


def _texts(result: Any) -> list[str]:
    """The text blocks of a ``CallToolResult``; other content is named, not silently dropped."""
    texts = []
    for block in result.content:
        text = getattr(block, "text", None)
        if text is None and getattr(block, "resource", None) is not None:
            text = getattr(block.resource, "text", None)
        texts.append(text if isinstance(text, str) else f"[unsupported {block.type} content]")
    return texts


class McpTools:
    """Tools of MCP servers (streamable HTTP); on a name clash the server listed first wins.

    Listings are cached per server for ``cache_ttl`` seconds, and a failed listing for ``failure_ttl``
    seconds, so a down server costs one connection attempt per few seconds rather than one per call.
    Each call opens fresh MCP sessions in its own event loop (see the module docstring); the requests of
    one ``invoke_tool`` batch share one session per server and run concurrently.
    """

    def __init__(
        self, servers: list[McpServerConfig], cache_ttl: float = 30.0, failure_ttl: float = 5.0
    ) -> None:
        self._servers = list(servers)
        self._cache_ttl = cache_ttl
        self._failure_ttl = failure_ttl
        # server index -> (expiry, its mcp Tools or the message why it could not be listed)
        self._cache: dict[int, tuple[float, list[Any] | str]] = {}
        self._refresh_lock = threading.Lock()

    def list_tools(self) -> list[Tool]:
        """All tools, or :class:`CsiError` naming every server that could not be listed."""
        listings = self._listings()
        errors = [listing for listing in listings if isinstance(listing, str)]
        if errors:
            raise CsiError("; ".join(errors))
        tools: dict[str, Tool] = {}
        for listing in listings:
            for tool in listing:
                if tool.name not in tools:
                    schema = json.dumps(tool.input_schema).encode()
                    tools[tool.name] = Tool(tool.name, tool.description or "", schema)
        return list(tools.values())

    def invoke_tool(self, requests: list[InvokeRequest]) -> list[ToolResult]:
        if not requests:
            return []
        listings = self._listings()
        errors = [listing for listing in listings if isinstance(listing, str)]
        results: list[ToolResult | None] = [None] * len(requests)
        batches: dict[int, list[tuple[int, InvokeRequest]]] = {}
        for position, request in enumerate(requests):
            server = next(
                (
                    index
                    for index, listing in enumerate(listings)
                    if not isinstance(listing, str) and any(t.name == request.tool_name for t in listing)
                ),
                None,
            )
            if server is not None:
                batches.setdefault(server, []).append((position, request))
                continue
            failure = not_available(request.tool_name)
            if errors:
                failure = ToolFailure(f"{failure.message} ({'; '.join(errors)})")
            results[position] = failure
        if batches:

            async def call_all() -> list[list[ToolResult]]:
                return await asyncio.gather(
                    *(
                        self._call(self._servers[index], [r for _, r in batch])
                        for index, batch in batches.items()
                    )
                )

            for batch, answers in zip(batches.values(), _run(call_all), strict=True):
                for (position, _), answer in zip(batch, answers, strict=True):
                    results[position] = answer
        assert all(result is not None for result in results)
        return results  # type: ignore[return-value]

    def _listings(self) -> list[list[Any] | str]:
        """Per server, its (cached) MCP tool listing or the message why it could not be listed."""
        now = time.monotonic()
        cached: dict[int, list[Any] | str] = {
            index: tools for index, (expiry, tools) in dict(self._cache).items() if expiry > now
        }
        if len(cached) < len(self._servers):
            with self._refresh_lock:  # one thread refreshes, the others wait and use its listing
                now = time.monotonic()
                cached = {index: tools for index, (expiry, tools) in self._cache.items() if expiry > now}
                stale = [index for index in range(len(self._servers)) if index not in cached]
                if stale:

                    async def list_all() -> list[list[Any] | str]:
                        return await asyncio.gather(*(self._list(self._servers[i]) for i in stale))

                    now = time.monotonic()
                    for index, listing in zip(stale, _run(list_all), strict=True):
                        cached[index] = listing
                        if isinstance(listing, str):
                            log.warning("listing tools failed: %s", listing)
                        ttl = self._failure_ttl if isinstance(listing, str) else self._cache_ttl
                        if ttl > 0:
                            self._cache[index] = (now + ttl, listing)
        return [cached[index] for index in range(len(self._servers))]

    async def _session(self, server: McpServerConfig, use: Callable[[Any], Awaitable[T]]) -> T:
        """Open an MCP session to ``server``, ``use`` it, and close it, within the server's timeout."""
        import anyio
        import httpx2
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        with anyio.fail_after(server.timeout):
            timeout = httpx2.Timeout(server.timeout)
            http = httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout, verify=_ssl_context())
            async with http, streamable_http_client(server.url, http_client=http) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=server.timeout) as session:
                    await session.initialize()
                    return await use(session)

    async def _list(self, server: McpServerConfig) -> list[Any] | str:
        async def list_all(session: Any) -> list[Any]:
            from mcp.types import PaginatedRequestParams

            tools, cursor = [], None
            while True:
                params = None if cursor is None else PaginatedRequestParams(cursor=cursor)
                page = await session.list_tools(params=params)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    return tools

        try:
            return await self._session(server, list_all)
        except Exception as error:  # noqa: BLE001 - reported as the listing's message
            return _describe(server, error)

    async def _call(self, server: McpServerConfig, requests: list[InvokeRequest]) -> list[ToolResult]:
        async def call(session: Any, request: InvokeRequest) -> ToolResult:
            arguments = _arguments(request)
            if isinstance(arguments, ToolFailure):
                return arguments
            try:
                result = await session.call_tool(request.tool_name, arguments)
            except Exception as error:  # noqa: BLE001 - one failed call must not fail the batch
                return ToolFailure(_describe(server, error))
            texts = _texts(result)
            if result.is_error:
                return ToolFailure("\n".join(texts) or f"tool '{request.tool_name}' failed without a message")
            return ToolOutput(texts)

        async def call_all(session: Any) -> list[ToolResult]:
            return list(await asyncio.gather(*(call(session, request) for request in requests)))

        try:
            return await self._session(server, call_all)
        except Exception as error:  # noqa: BLE001 - the server is down or broke the session
            failure = ToolFailure(_describe(server, error))
            log.warning("invoking tools failed: %s", failure.message)
            return [failure] * len(requests)


# -- composite --------------------------------------------------------------------------------


class CompositeTools:
    """The union of several tool backends: the first backend offering a name serves it.

    The requests of a batch run concurrently on a short-lived thread pool, each routed by name. A
    backend whose ``list_tools`` fails (an MCP server is down) is not skipped for invocation: requests no
    listed backend offers are handed to it, so its healthy servers keep working.
    """

    def __init__(self, backends: list[ToolBackend], max_workers: int = 8) -> None:
        self._backends = list(backends)
        self._max_workers = max_workers

    def list_tools(self) -> list[Tool]:
        tools: dict[str, Tool] = {}
        for backend in self._backends:
            for tool in backend.list_tools():
                tools.setdefault(tool.name, tool)
        return sorted(tools.values(), key=lambda tool: tool.name)

    def invoke_tool(self, requests: list[InvokeRequest]) -> list[ToolResult]:
        if not requests:
            return []
        offered: dict[str, ToolBackend] = {}
        unlisted: list[ToolBackend] = []
        for backend in self._backends:
            try:
                names = [tool.name for tool in backend.list_tools()]
            except CsiError as error:
                log.debug("routing tools around a backend that cannot list: %s", error)
                unlisted.append(backend)
                continue
            for name in names:
                offered.setdefault(name, backend)

        def invoke(request: InvokeRequest) -> ToolResult:
            backend = offered.get(request.tool_name) or (unlisted[0] if unlisted else None)
            if backend is None:
                return not_available(request.tool_name)
            try:
                return backend.invoke_tool([request])[0]
            except CsiError as error:
                return ToolFailure(str(error))

        return _map_concurrently(invoke, requests, self._max_workers)
