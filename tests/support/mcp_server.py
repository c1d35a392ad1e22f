"""A real MCP server (``mcp`` MCPServer, streamable HTTP) on loopback, for tests.

It runs in a subprocess so that the server's event loop, its ``logging.basicConfig`` and uvicorn stay
out of the test process::

    with McpTestServer() as server:
        McpTools([McpServerConfig(server.url)])

Tools: ``multiply(a, b)``, ``add(a, b)`` (answers ``mcp:<sum>``, to tell it from the native ``add``),
``echo(text)``, ``fail()`` (an error result "Out of cheese."), ``sleep(seconds)`` and ``header(name)``
(the value of an HTTP request header, to check configured headers arrive).
"""

# No ``from __future__ import annotations``: MCPServer evaluates the tools' annotations, and the
# server imports are local to the subprocess.
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


class McpTestServer:
    """Start ``python mcp_server.py`` on a free loopback port; ``url`` is its MCP endpoint."""

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> "McpTestServer":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # "PORT <n>" once the socket listens
        if not line.startswith("PORT "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"MCP test server did not start: {line!r}")
        port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{port}/mcp"
        self._wait_until_serving(port)
        return self

    def _wait_until_serving(self, port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if conn.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("MCP test server did not become ready")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None


def _serve() -> None:
    import anyio
    import uvicorn
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse

    server = MCPServer("skill-kernel-test", log_level="WARNING")

    @server.tool()
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    @server.tool()
    def add(a: int, b: int) -> str:
        """Add two integers (the MCP flavour)."""
        return f"mcp:{a + b}"

    @server.tool()
    def echo(text: str) -> str:
        """Answer the text unchanged."""
        return text

    @server.tool()
    def fail() -> str:
        """Always fails."""
        raise ToolError("Out of cheese.")

    @server.tool()
    async def sleep(seconds: float) -> str:
        """Wait, then answer "slept"."""
        await anyio.sleep(seconds)
        return "slept"

    @server.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of an HTTP request header, or "" when it is missing."""
        return (ctx.headers or {}).get(name.lower(), "")

    @server.custom_route("/health", methods=["GET"])
    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    _serve()
