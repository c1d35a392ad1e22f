"""A loopback stand-in for an OpenAI-compatible inference provider, standard library only.

``with OpenAITestServer() as server:`` serves ``/v1/completions``, ``/v1/chat/completions`` and
``/v1/models`` on ``server.url`` and records every JSON body in ``server.requests`` (and the request
headers in ``server.headers``), so tests can assert the wire parameters. Behaviour is deterministic
and keyed by the model name:

* ``test-model``: completions answer ``"echo: <prompt>"``, chat ``"echo: <last user message>"``,
  one token per whitespace-separated word; ``stop`` cuts the text, ``max_tokens`` truncates it
  (finish reason ``length``); usage counts words. Logprobs: each token -0.5, alternatives
  ``alt1``, ``alt2``, ... at -1.5, -2.5, ...; ``echo`` prepends the prompt (first logprob ``null``,
  as vLLM does). Streams send one SSE chunk per word, a finish chunk, a usage chunk (when
  ``stream_options.include_usage``) and ``data: [DONE]``.
* ``slow-model``: like ``test-model`` after sleeping ``server.delay`` seconds; ``blocked-model``
  sleeps ten times as long (runs that stay blocked while a benchmark probes other runs).
* ``tool-model``: like ``test-model`` with tools (below); a chat request without ``tools`` is
  answered with one call ``call_0`` to ``get_weather`` with arguments ``{"city": "Berlin"}``
  (``content: null``, finish reason ``tool_calls``, 7 completion tokens).
* ``parallel-tool-model``: like ``test-model``, but a tool-call answer calls every tool (one call
  per entry of ``tools``, in order) unless ``parallel_tool_calls`` is ``false`` or a tool is named.
* ``reasoning-model``: like ``test-model``, and every chat answer also reasons: the message carries
  ``reasoning_content: "Thinking about: <last user message>"`` (its words count as completion
  tokens); streamed, the reasoning comes word by word in ``delta.reasoning_content`` before any
  content or tool-call delta. ``server.reasoning_style`` changes the spelling: ``"reasoning"``
  (OpenRouter's / newer vLLM's field ``reasoning``) or ``"think"`` (no field: the content starts with
  ``<think>Thinking about: ...</think>``, streamed word by word like any content).
* ``ratelimited-model``: 429 with ``Retry-After: 1``. ``broken-model``: 500 with an OpenAI error.
* any other model: 404 ``The model `x` does not exist.`` (type ``NotFoundError``, code 404, as
  vLLM answers).

Chat answers, for every chat model above, in this order of precedence:

1. The last message has role ``tool``: content ``"The tool said: <that message's content>"``,
   finish reason ``stop`` (``max_tokens`` still truncates).
2. ``tools`` is non-empty and ``tool_choice`` is not ``"none"``: tool calls, ``content: null``,
   finish reason ``tool_calls``. ``tool_choice: {"type": "function", "function": {"name": n}}``
   calls tool ``n`` (400 if no tool has that name); otherwise (``auto``, ``required``, unset) the
   first tool is called, or every tool for ``parallel-tool-model`` (see above). Call ids are
   ``call_0``, ``call_1``, ...; the arguments are the JSON text (``json.dumps``) of an object with,
   for each property of the tool's ``parameters.properties`` in order: ``integer`` / ``number``
   -> position + 1 (1, 2, 3, ... counting every property), ``string`` -> ``"x"``, ``boolean`` ->
   ``true``, anything else the schema instance described in 3. (``$ref`` / ``anyOf`` with ``null``
   are looked through to find the type). Completion tokens: the words of the arguments.
3. ``tool-model`` without ``tools``: the ``get_weather`` call above.
4. ``response_format`` ``{"type": "json_schema", "json_schema": {"schema": s}}``: content is the
   JSON text of an instance of ``s``: object -> every property, string ``"text"``, integer 1,
   number 1.5, boolean ``true``, null ``null``, array -> one item (``prefixItems``: one per item),
   ``enum`` -> its first value, ``const`` -> its value, ``anyOf`` / ``oneOf`` -> the first branch
   that is not ``null``, ``allOf`` -> its first entry, ``$ref`` resolved within the schema (as
   pydantic emits ``#/$defs/...``). ``{"type": "json_object"}``: ``{"echo": "<last user message>"}``.
   Without schema, the content is ``{}``.
5. Otherwise ``"echo: <last user message>"``.

Streamed tool calls: a first chunk ``{"role": "assistant", "content": null}``, then for each call a
chunk with ``index``, ``id``, ``type``, ``function.name`` and ``function.arguments: ""``, then its
arguments in two chunks (first half, second half) carrying only ``index`` and ``function.arguments``;
then the finish chunk and the usage chunk. Logprobs (``logprobs`` / ``top_logprobs``) are sent for
content tokens of chat and completion answers, streamed and not.

Embeddings: ``POST /v1/embeddings`` with model ``test-embedding`` (:data:`EMBEDDING_MODELS`) answers
one deterministic vector per input (a string or a list of strings), in OpenAI's shape: each lower-case
word of the text adds 1 to dimension ``sha256(word) % 64`` (and 0.5 to the next), so texts sharing words
point the same way (cosine similarity). ``dimensions`` in the body changes the 64. Usage counts words.

Knobs: ``token`` (require ``Authorization: Bearer <token>``, else 401 whose message echoes the key
sent, as OpenAI does partially), ``delay``, ``stream_delay`` (seconds between SSE chunks),
``reasoning_style`` (see ``reasoning-model``). ``max_in_flight`` records the highest number of
requests handled at once.

Run ``python -m tests.support.openai_server --port 8090`` to serve until interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["EMBEDDING_MODELS", "MODELS", "OpenAITestServer", "embedding"]

MODELS = (
    "test-model",
    "slow-model",
    "blocked-model",
    "tool-model",
    "parallel-tool-model",
    "reasoning-model",
    "ratelimited-model",
    "broken-model",
)
EMBEDDING_MODELS = ("test-embedding",)
EMBEDDING_DIMENSIONS = 64
REASONING_STYLES = ("reasoning_content", "reasoning", "think")


def embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """The test server's deterministic embedding of ``text`` (see the module docstring)."""
    import hashlib

    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dimensions
        vector[slot] += 1.0
        vector[(slot + 1) % dimensions] += 0.5
    return vector


class OpenAITestServer:
    """An OpenAI-compatible HTTP server on a daemon thread; port 0 picks a free port."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, token: str | None = None, delay: float = 1.0
    ) -> None:
        self.token = token
        self.delay = delay
        self.stream_delay = 0.0
        self.reasoning_style = "reasoning_content"
        self.verbose = False
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, ending in ``/v1``."""
        return f"http://{self._httpd.server_address[0]}:{self.port}/v1"

    def start(self) -> OpenAITestServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def _enter(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512
    allow_reuse_address = True
    app: OpenAITestServer

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's getfqdn(), which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients dropping keep-alive connections
            super().handle_error(request, client_address)


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _error(message: str, kind: str, code: Any = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _pieces(text: str, max_tokens: int | None, stop: Any) -> tuple[list[str], str]:
    """Split into word tokens (keeping leading whitespace), apply ``stop`` then ``max_tokens``."""
    for sequence in [stop] if isinstance(stop, str) else stop or []:
        if sequence and sequence in text:
            text = text[: text.index(sequence)]
    pieces = re.findall(r"\s*\S+", text)
    if max_tokens is not None and len(pieces) > max_tokens:
        return pieces[:max_tokens], "length"
    return pieces, "stop"


def _words(text: str) -> int:
    return len(text.split())


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _alternatives(token: str, n: int) -> list[tuple[str, float]]:
    return [(token, -0.5)] + [(f"alt{k}", -0.5 - k) for k in range(1, n)]


def _chat_logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def _resolve(schema: Any, root: Any) -> Any:
    """Follow ``$ref`` (``#/$defs/Name``, JSON pointer within the root schema)."""
    for _ in range(32):
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            return schema
        target = root
        for part in schema["$ref"].removeprefix("#").strip("/").split("/"):
            if part:
                target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    raise ValueError("$ref cycle")


def _branch(schema: Any, root: Any) -> Any:
    """The schema with ``$ref`` / ``anyOf`` / ``oneOf`` / ``allOf`` looked through to one branch."""
    for _ in range(32):
        schema = _resolve(schema, root)
        if not isinstance(schema, dict):
            return schema
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            real = [o for o in options if (_resolve(o, root) or {}).get("type") != "null"]
            schema = (real or options)[0]
        elif schema.get("allOf"):
            schema = schema["allOf"][0]
        else:
            return schema
    raise ValueError("schema nests too deeply")


def _type(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema, dict):
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    return kind


def _instance(schema: Any, root: Any, depth: int = 0) -> Any:
    """A JSON value valid for ``schema`` (see the module docstring for the values)."""
    schema = _branch(schema, root)
    if not isinstance(schema, dict) or depth > 16:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = _type(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _instance(p, root, depth + 1) for name, p in properties.items()}
    if kind == "array":
        if schema.get("prefixItems"):
            return [_instance(item, root, depth + 1) for item in schema["prefixItems"]]
        return [_instance(schema.get("items", {}), root, depth + 1)]
    return {"string": "text", "integer": 1, "number": 1.5, "boolean": True}.get(kind)


def _tool_arguments(parameters: Any) -> str:
    properties = (parameters.get("properties") if isinstance(parameters, dict) else None) or {}
    arguments: dict[str, Any] = {}
    for position, (name, schema) in enumerate(properties.items()):
        kind = _type(_branch(schema, parameters))
        if kind in ("integer", "number"):
            arguments[name] = position + 1
        elif kind == "string":
            arguments[name] = "x"
        elif kind == "boolean":
            arguments[name] = True
        else:
            arguments[name] = _instance(schema, parameters)
    return json.dumps(arguments)


def _call(position: int, name: str, arguments: str) -> dict[str, Any]:
    return {"id": f"call_{position}", "type": "function", "function": {"name": name, "arguments": arguments}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)

    # -- plumbing ---------------------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, chunks: list[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in [*(json.dumps(c) for c in chunks), "[DONE]"]:
                data = f"data: {chunk}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                if self.server.app.stream_delay:
                    time.sleep(self.server.app.stream_delay)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") == "/v1/models":
            data = [{"id": model, "object": "model", "owned_by": "test"} for model in MODELS]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, _error(f"no route for GET {self.path}", "NotFoundError", 404))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._json(400, _error("request body is not JSON", "BadRequestError", 400))
        app = self.server.app
        app._enter(body if isinstance(body, dict) else {"_raw": body}, dict(self.headers.items()))
        try:
            self._answer(app, body)
        finally:
            app._leave()

    # -- behaviour --------------------------------------------------------------------------------

    def _answer(self, app: OpenAITestServer, body: Any) -> None:
        given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if app.token is not None and given != app.token:
            message = f"Incorrect API key provided: {given}." if given else "You didn't provide an API key."
            return self._json(401, _error(message, "invalid_request_error", "invalid_api_key"))
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/embeddings":
            return self._embeddings(body)
        if path not in ("/v1/completions", "/v1/chat/completions"):
            return self._json(404, _error(f"no route for POST {self.path}", "NotFoundError", 404))
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return self._json(400, _error("field `model` is required", "BadRequestError", 400, "model"))
        model = body["model"]
        if model not in MODELS:
            message = f"The model `{model}` does not exist."
            return self._json(404, _error(message, "NotFoundError", 404, "model"))
        if model == "ratelimited-model":
            error = _error("Rate limit reached for requests", "rate_limit_error", "rate_limit_exceeded")
            return self._json(429, error, {"Retry-After": "1"})
        if model == "broken-model":
            return self._json(500, _error("The model crashed (CUDA out of memory)", "server_error", 500))
        if model == "slow-model":
            time.sleep(app.delay)
        if model == "blocked-model":
            time.sleep(app.delay * 10)
        if path == "/v1/completions":
            return self._completion(body)
        return self._chat(body)

    def _embeddings(self, body: Any) -> None:
        if not isinstance(body, dict) or body.get("model") not in EMBEDDING_MODELS:
            model = body.get("model") if isinstance(body, dict) else None
            return self._json(
                404, _error(f"The model `{model}` does not exist.", "NotFoundError", 404, "model")
            )
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return self._json(
                400, _error("`input` must be a string or a list of strings", "BadRequestError", 400)
            )
        size = body.get("dimensions") or EMBEDDING_DIMENSIONS
        data = [
            {"object": "embedding", "index": i, "embedding": embedding(text, size)}
            for i, text in enumerate(texts)
        ]
        words = sum(_words(text) for text in texts)
        usage = {"prompt_tokens": words, "total_tokens": words}
        self._json(200, {"object": "list", "data": data, "model": body["model"], "usage": usage})

    def _completion(self, body: dict[str, Any]) -> None:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return self._json(400, _error("`prompt` must be a string", "BadRequestError", 400, "prompt"))
        pieces, finish = _pieces(f"echo: {prompt}", body.get("max_tokens"), body.get("stop"))
        n = body.get("logprobs")
        echo = bool(body.get("echo"))
        usage = _usage(_words(prompt), len(pieces))
        base = {
            "id": "cmpl-test",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body["model"],
        }

        def logprobs(tokens: list[str], first_null: bool = False) -> dict[str, Any] | None:
            if n is None:
                return None
            tops = [dict(_alternatives(token, max(n, 1))) for token in tokens]
            values: list[float | None] = [-0.5] * len(tokens)
            if first_null and tokens:
                values[0], tops[0] = None, None  # type: ignore[call-overload]
            offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
            return {"tokens": tokens, "token_logprobs": values, "top_logprobs": tops, "text_offset": offsets}

        if not body.get("stream"):
            prompt_pieces = re.findall(r"\s*\S+", prompt) if echo else []
            all_logprobs = logprobs(prompt_pieces + pieces, first_null=echo)
            text = (prompt if echo else "") + "".join(pieces)
            choice = {"index": 0, "text": text, "logprobs": all_logprobs, "finish_reason": finish}
            return self._json(200, {**base, "choices": [choice], "usage": usage})
        chunks = [
            {**base, "choices": [{"index": 0, "text": prompt, "logprobs": None, "finish_reason": None}]}
        ]
        chunks = chunks if echo else []
        for piece in pieces:
            choice = {"index": 0, "text": piece, "logprobs": logprobs([piece]), "finish_reason": None}
            chunks.append({**base, "choices": [choice]})
        chunks.append(
            {**base, "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": finish}]}
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        self._stream(chunks)

    def _chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._json(400, _error("`messages` must be a non-empty list", "BadRequestError", 400))
        if not all(isinstance(m, dict) for m in messages):
            return self._json(400, _error("every message must be an object", "BadRequestError", 400))
        model = body["model"]
        texts = [m.get("content") if isinstance(m.get("content"), str) else "" for m in messages]
        user = [text for m, text in zip(messages, texts, strict=True) if m.get("role") == "user"]
        last_user = user[-1] if user else ""
        try:
            calls = self._tool_calls(body, model, messages[-1])
            if calls is not None:
                text = ""
            elif messages[-1].get("role") == "tool":
                text = f"The tool said: {texts[-1]}"
            else:
                text = self._content(body, last_user)
        except _BadRequest as exc:
            return self._json(400, _error(str(exc), "BadRequestError", 400, exc.param))
        except (LookupError, TypeError, ValueError) as exc:
            message = f"cannot follow the JSON schema ({type(exc).__name__}: {exc})"
            return self._json(400, _error(message, "BadRequestError", 400))
        pieces, finish = _pieces(text, body.get("max_tokens"), None) if calls is None else ([], "tool_calls")
        style = self.server.app.reasoning_style
        reasoning = f"Thinking about: {last_user}" if model == "reasoning-model" else None
        if reasoning is not None and style == "think":
            pieces = re.findall(r"\s*\S+", f"<think>{reasoning}</think>") + pieces
        reasoning_pieces = re.findall(r"\s*\S+", reasoning) if reasoning and style != "think" else []
        completion = len(pieces) + len(reasoning_pieces)
        if calls is not None:
            legacy = model == "tool-model" and not body.get("tools")
            completion += 7 if legacy else sum(_words(c["function"]["arguments"]) for c in calls)
        usage = _usage(sum(_words(text) for text in texts), completion)
        top = int(body.get("top_logprobs") or 0)
        base = {"id": "chatcmpl-test", "created": int(time.time()), "model": model}

        def logprobs(tokens: list[str]) -> dict[str, Any] | None:
            if not body.get("logprobs"):
                return None
            return {
                "content": [
                    {
                        **_chat_logprob(t, -0.5),
                        "top_logprobs": [_chat_logprob(*a) for a in _alternatives(t, top)][:top],
                    }
                    for t in tokens
                ]
            }

        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces) if pieces else None}
            if reasoning_pieces:
                message[style] = reasoning
            if calls is not None:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "logprobs": logprobs(pieces), "finish_reason": finish}
            return self._json(200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
        base = {**base, "object": "chat.completion.chunk"}

        def chunk(delta: dict[str, Any], lp: Any = None, reason: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": reason}],
            }

        chunks = [chunk({"role": "assistant", "content": "" if calls is None else None})]
        chunks += [chunk({style: piece}) for piece in reasoning_pieces]
        chunks += [chunk({"content": piece}, logprobs([piece])) for piece in pieces]
        for index, call in enumerate(calls or []):
            function, arguments = call["function"], call["function"]["arguments"]
            head = {**call, "function": {"name": function["name"], "arguments": ""}}
            chunks.append(chunk({"tool_calls": [{"index": index, **head}]}))
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
        chunks.append(chunk({}, reason=finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        self._stream(chunks)

    @staticmethod
    def _tool_calls(body: dict[str, Any], model: str, last: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The tool calls to answer with, or ``None`` for a content answer (module docstring, 2. and 3.)."""
        if last.get("role") == "tool":
            return None
        tools = [t.get("function") or {} for t in body.get("tools") or [] if isinstance(t, dict)]
        choice = body.get("tool_choice")
        if not tools:
            if model == "tool-model" and not body.get("tools"):
                return [_call(0, "get_weather", json.dumps({"city": "Berlin"}))]
            return None
        if choice == "none":
            return None
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            chosen = [t for t in tools if t.get("name") == name][:1]
            if not chosen:
                raise _BadRequest(
                    f"tool_choice names function `{name}`, which is not among the tools", "tool_choice"
                )
        elif model == "parallel-tool-model" and body.get("parallel_tool_calls") is not False:
            chosen = tools
        else:
            chosen = tools[:1]
        return [
            _call(i, str(t.get("name")), _tool_arguments(t.get("parameters"))) for i, t in enumerate(chosen)
        ]

    @staticmethod
    def _content(body: dict[str, Any], last_user: str) -> str:
        """The content answer: structured output (module docstring, 4.) or the echo."""
        response_format = body.get("response_format")
        response_format = response_format if isinstance(response_format, dict) else {}
        kind = response_format.get("type")
        if kind == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema")
            return json.dumps(_instance(schema, schema) if schema is not None else {})
        if kind == "json_object":
            return json.dumps({"echo": last_user})
        return f"echo: {last_user}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible inference API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds slow-model sleeps")
    parser.add_argument("--stream-delay", type=float, default=0.0, help="seconds between SSE chunks")
    parser.add_argument("--reasoning-style", choices=REASONING_STYLES, default="reasoning_content")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()
    server = OpenAITestServer(args.host, args.port, token=args.token, delay=args.delay)
    server.stream_delay, server.verbose = args.stream_delay, args.verbose
    server.reasoning_style = args.reasoning_style
    print(f"serving an OpenAI-compatible API at {server.url} (models: {', '.join(MODELS)})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
