"""Tool backends: native tools, MCP tools against a real MCP server, and their composite."""

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.csi import CsiError
from runtime.csi.tools import NATIVE_TOOLS, CompositeTools, McpServerConfig, McpTools, NativeTools
from runtime.csi.types import Argument, InvokeRequest, Tool, ToolFailure, ToolOutput
from tests.support.mcp_server import McpTestServer


def call(tool: str, **arguments) -> InvokeRequest:
    return InvokeRequest(
        tool, [Argument(name, json.dumps(value).encode()) for name, value in arguments.items()]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/mcp"


@pytest.fixture(scope="module")
def mcp_server():
    with McpTestServer() as server:
        yield server


@pytest.fixture
def mcp(mcp_server):
    return McpTools([McpServerConfig(mcp_server.url, name="test")])


# -- native tools -----------------------------------------------------------------------------


def test_native_tools_list_only_enabled_ones_with_schemas_sorted_by_name():
    assert set(NATIVE_TOOLS) == {"add", "subtract", "saboteur"}
    assert [tool.name for tool in NativeTools(NATIVE_TOOLS).list_tools()] == ["add", "saboteur", "subtract"]
    tools = NativeTools(["subtract", "add"]).list_tools()
    assert [tool.name for tool in tools] == ["add", "subtract"]
    schema = json.loads(tools[0].input_schema)
    assert schema["required"] == ["a", "b"]
    assert schema["properties"]["a"]["type"] == "number"
    assert all(tool.description for tool in tools)
    assert NativeTools([]).list_tools() == []


def test_native_tools_compute():
    tools = NativeTools(NATIVE_TOOLS)
    results = tools.invoke_tool([call("add", a=1, b=2), call("subtract", a=1, b=2), call("add", a=1.5, b=2)])
    assert results == [ToolOutput(["3"]), ToolOutput(["-1"]), ToolOutput(["3.5"])]


def test_saboteur_fails():
    assert NativeTools(["saboteur"]).invoke_tool([call("saboteur")]) == [ToolFailure("Out of cheese.")]


def test_saboteur_ignores_its_arguments_as_phariaengine_does():
    requests = [
        call("saboteur", a=1, b=2),
        call("saboteur", anything={"nested": [1, "x"]}),
        InvokeRequest("saboteur", [Argument("raw", b"{not json")]),
    ]
    assert NativeTools(["saboteur"]).invoke_tool(requests) == [ToolFailure("Out of cheese.")] * 3


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (call("add", a=1), "tool 'add' is missing argument 'b'"),
        (call("add", a="1", b=2), "argument 'a' of tool 'add' must be a number, got \"1\""),
        (call("add", a=True, b=2), "argument 'a' of tool 'add' must be a number, got true"),
        (call("add", a=1, b=2, c=3), "tool 'add' got unexpected arguments ['c']"),
        (
            InvokeRequest("add", [Argument("a", b"{"), Argument("b", b"2")]),
            "argument 'a' of tool 'add' is not JSON",
        ),
        (call("multiply", a=1, b=2), "tool 'multiply' is not available in this namespace"),
    ],
)
def test_native_argument_errors_are_failures(request_, message):
    [result] = NativeTools(["add"]).invoke_tool([request_])
    assert isinstance(result, ToolFailure)
    assert result.message.startswith(message)


def test_disabled_native_tool_is_not_available():
    [result] = NativeTools(["add"]).invoke_tool([call("subtract", a=1, b=2)])
    assert result == ToolFailure("tool 'subtract' is not available in this namespace")


def test_unknown_native_tool_is_a_configuration_error():
    with pytest.raises(ValueError, match="unknown native tools \\['divide'\\]"):
        NativeTools(["add", "divide"])


# -- MCP tools --------------------------------------------------------------------------------


def test_mcp_discovery(mcp):
    tools = {tool.name: tool for tool in mcp.list_tools()}
    assert set(tools) == {"multiply", "add", "echo", "fail", "sleep", "header"}
    assert tools["multiply"].description == "Multiply two integers."
    schema = json.loads(tools["multiply"].input_schema)
    assert schema["required"] == ["a", "b"]
    assert schema["properties"]["a"]["type"] == "integer"


def test_mcp_invocation(mcp):
    results = mcp.invoke_tool([call("multiply", a=6, b=7), call("echo", text="Grüße, {json}")])
    assert results == [ToolOutput(["42"]), ToolOutput(["Grüße, {json}"])]


def test_mcp_error_result_is_a_failure(mcp):
    [result] = mcp.invoke_tool([call("fail")])
    assert isinstance(result, ToolFailure)
    assert "Out of cheese." in result.message


def test_mcp_server_side_argument_validation_is_a_failure(mcp):
    [result] = mcp.invoke_tool([call("multiply", a="six", b=7)])
    assert isinstance(result, ToolFailure)
    assert "validation error" in result.message


def test_mcp_unknown_tool_and_bad_json(mcp):
    bad = InvokeRequest("echo", [Argument("text", b"not json")])
    assert mcp.invoke_tool([call("nope"), bad]) == [
        ToolFailure("tool 'nope' is not available in this namespace"),
        ToolFailure("argument 'text' of tool 'echo' is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ]
    assert mcp.invoke_tool([]) == []


def test_mcp_configured_headers_are_sent(mcp_server):
    tools = McpTools([McpServerConfig(mcp_server.url, headers={"X-Api-Key": "k-123"})])
    assert tools.invoke_tool([call("header", name="X-Api-Key")]) == [ToolOutput(["k-123"])]


def test_mcp_batch_runs_concurrently(mcp):
    mcp.list_tools()  # warm the listing cache
    started = time.monotonic()
    results = mcp.invoke_tool([call("sleep", seconds=0.5) for _ in range(4)] + [call("multiply", a=2, b=3)])
    assert results == [ToolOutput(["slept"])] * 4 + [ToolOutput(["6"])]
    assert time.monotonic() - started < 1.5  # four sequential sleeps would take 2 s


def test_mcp_tools_are_safe_to_call_from_many_threads(mcp):
    def multiply(n: int):
        return mcp.invoke_tool([call("multiply", a=n, b=n)])[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(multiply, range(24)))
    assert results == [ToolOutput([str(n * n)]) for n in range(24)]


def test_mcp_call_timeout_is_a_failure(mcp_server):
    tools = McpTools([McpServerConfig(mcp_server.url, timeout=1.0)])
    tools.list_tools()
    [result] = tools.invoke_tool([call("sleep", seconds=3)])
    assert isinstance(result, ToolFailure)
    assert "did not answer within 1 s" in result.message


def test_unreachable_mcp_server(mcp_server):
    url = down_url()
    tools = McpTools([McpServerConfig(url, timeout=5)])
    with pytest.raises(CsiError, match=f"MCP server {url} unreachable"):
        tools.list_tools()
    [result] = tools.invoke_tool([call("multiply", a=1, b=2)])
    assert isinstance(result, ToolFailure)
    assert result.message.startswith("tool 'multiply' is not available in this namespace")
    assert f"MCP server {url} unreachable" in result.message


def test_down_server_does_not_break_healthy_ones(mcp_server):
    url = down_url()
    tools = McpTools([McpServerConfig(url, timeout=5), McpServerConfig(mcp_server.url)])
    with pytest.raises(CsiError, match=url):
        tools.list_tools()
    assert tools.invoke_tool([call("multiply", a=3, b=4)]) == [ToolOutput(["12"])]


def test_server_going_down_after_discovery_fails_the_call():
    with McpTestServer() as server:
        tools = McpTools([McpServerConfig(server.url, timeout=5)])
        assert [tool.name for tool in tools.list_tools()][0] == "multiply"
    [result] = tools.invoke_tool([call("multiply", a=1, b=2)])  # routed by the cached listing
    assert isinstance(result, ToolFailure)
    assert result.message.startswith(f"MCP server {server.url} unreachable")


def test_listing_is_cached_for_its_ttl():
    with McpTestServer() as server:
        cached = McpTools([McpServerConfig(server.url, timeout=5)], cache_ttl=60)
        uncached = McpTools([McpServerConfig(server.url, timeout=5)], cache_ttl=0, failure_ttl=0)
        names = [tool.name for tool in cached.list_tools()]
        assert [tool.name for tool in uncached.list_tools()] == names
    assert [tool.name for tool in cached.list_tools()] == names
    with pytest.raises(CsiError, match="unreachable"):
        uncached.list_tools()


def test_failed_listing_is_retried_after_failure_ttl(mcp_server):
    tools = McpTools([McpServerConfig(mcp_server.url)], failure_ttl=0.2)
    tools._servers[0].url = down_url()
    with pytest.raises(CsiError):
        tools.list_tools()
    tools._servers[0].url = mcp_server.url
    with pytest.raises(CsiError):
        tools.list_tools()  # the failure is still cached
    time.sleep(0.3)
    assert len(tools.list_tools()) == 6


def test_name_clash_between_mcp_servers_first_wins(mcp_server):
    tools = McpTools([McpServerConfig(mcp_server.url), McpServerConfig(mcp_server.url)])
    assert len(tools.list_tools()) == 6


# -- composite --------------------------------------------------------------------------------


class SlowTools:
    """A fake backend offering ``names``; each call records its thread and takes ``delay`` seconds."""

    def __init__(self, names: list[str], delay: float = 0.0, answer: str = "slow") -> None:
        self.names, self.delay, self.answer = names, delay, answer
        self.threads: set[int] = set()

    def list_tools(self) -> list[Tool]:
        return [Tool(name, f"{name} tool", b"{}") for name in self.names]

    def invoke_tool(self, requests):
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        return [ToolOutput([f"{self.answer}:{r.tool_name}"]) for r in requests]


class BrokenListing(SlowTools):
    def list_tools(self):
        raise CsiError("MCP server http://down unreachable: connection refused")


def test_empty_composite():
    tools = CompositeTools([])
    assert tools.list_tools() == []
    assert tools.invoke_tool([call("add", a=1, b=2)]) == [
        ToolFailure("tool 'add' is not available in this namespace")
    ]
    assert tools.invoke_tool([]) == []


def test_composite_union_first_backend_wins():
    tools = CompositeTools([SlowTools(["a", "b"], answer="first"), SlowTools(["b", "c"], answer="second")])
    assert [(tool.name, tool.description) for tool in tools.list_tools()] == [
        ("a", "a tool"),
        ("b", "b tool"),
        ("c", "c tool"),
    ]
    assert tools.invoke_tool([call("c"), call("b"), call("a"), call("d")]) == [
        ToolOutput(["second:c"]),
        ToolOutput(["first:b"]),
        ToolOutput(["first:a"]),
        ToolFailure("tool 'd' is not available in this namespace"),
    ]


def test_composite_runs_a_batch_concurrently_in_order():
    slow = SlowTools([f"t{i}" for i in range(6)], delay=0.3)
    tools = CompositeTools([slow])
    started = time.monotonic()
    results = tools.invoke_tool([call(f"t{i}") for i in range(6)])
    assert results == [ToolOutput([f"slow:t{i}"]) for i in range(6)]
    assert time.monotonic() - started < 1.2  # sequentially 1.8 s
    assert len(slow.threads) > 1


def test_composite_hands_unlisted_tools_to_a_backend_that_cannot_list():
    tools = CompositeTools([SlowTools(["a"]), BrokenListing(["x"])])
    with pytest.raises(CsiError, match="http://down unreachable"):
        tools.list_tools()
    assert tools.invoke_tool([call("a"), call("x")]) == [ToolOutput(["slow:a"]), ToolOutput(["slow:x"])]


def test_composite_of_native_and_mcp_tools(mcp_server):
    mcp = McpTools([McpServerConfig(mcp_server.url)])
    native_first = CompositeTools([NativeTools(["add", "saboteur"]), mcp])
    mcp_first = CompositeTools([mcp, NativeTools(["add", "saboteur"])])
    listed = native_first.list_tools()
    names = [tool.name for tool in listed]
    assert names == ["add", "echo", "fail", "header", "multiply", "saboteur", "sleep"]  # sorted, add once
    assert listed[0].description == NativeTools(["add"]).list_tools()[0].description  # the native add
    assert [tool.name for tool in mcp_first.list_tools()] == names
    requests = [call("add", a=1, b=2), call("multiply", a=2, b=5), call("saboteur"), call("nope")]
    assert native_first.invoke_tool(requests) == [
        ToolOutput(["3"]),
        ToolOutput(["10"]),
        ToolFailure("Out of cheese."),
        ToolFailure("tool 'nope' is not available in this namespace"),
    ]
    assert mcp_first.invoke_tool([call("add", a=1, b=2)]) == [ToolOutput(["mcp:3"])]


def test_composite_with_a_down_mcp_server(mcp_server):
    url = down_url()
    mcp = McpTools([McpServerConfig(url, timeout=5), McpServerConfig(mcp_server.url)])
    tools = CompositeTools([NativeTools(["add"]), mcp])
    with pytest.raises(CsiError, match=url):
        tools.list_tools()
    results = tools.invoke_tool([call("add", a=1, b=1), call("multiply", a=3, b=3), call("nope")])
    assert results[:2] == [ToolOutput(["2"]), ToolOutput(["9"])]
    assert isinstance(results[2], ToolFailure)
    assert results[2].message.startswith("tool 'nope' is not available in this namespace (MCP server")
    assert url in results[2].message
