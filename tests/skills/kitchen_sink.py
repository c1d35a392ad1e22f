"""A test skill whose input selects its behaviour, so CI builds one component for many tests."""

import json
import socket
import time
from typing import Any

from pydantic import BaseModel

from pharia_skill import ChunkParams, Csi, Language, Message, skill
from pharia_skill.csi.inference import ChatParams, CompletionParams
from pharia_skill.csi.document_index import DocumentPath, IndexPath


class Input(BaseModel):
    action: str
    text: str = ""
    payload: Any = None
    model: str = "test-model"
    tool: str = "add"
    arguments: dict[str, Any] = {}
    path: str = "/etc/hostname"
    host: str = "127.0.0.1"
    port: int = 80
    seconds: float = 0.0


class Output(BaseModel):
    action: str
    result: Any = None


# What "remember" runs saw: a run that finds another run's payload here shares state with it.
_REMEMBERED: list[Any] = []


def _try(fn: Any) -> dict[str, Any]:
    try:
        return {"ok": True, "value": fn()}
    except BaseException as error:  # noqa: BLE001 - the test wants to see any failure
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def _read_file(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _connect(host: str, port: int) -> str:
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        connection.connect((host, port))
    finally:
        connection.close()
    return "connected"


def _allocate_forever() -> None:
    hoard = []
    while True:
        hoard.append(bytearray(8 * 1024 * 1024))


def _spin(seconds: float) -> int:
    deadline = time.monotonic() + seconds if seconds else None
    count = 0
    while deadline is None or time.monotonic() < deadline:
        count += 1
    return count


@skill
def kitchen_sink(csi: Csi, input: Input) -> Output:
    """Test skill: echo, fail, spin, allocate, probe the sandbox or call one CSI function."""
    action = input.action
    if action == "echo":
        return Output(action=action, result=input.payload)
    if action == "raise":
        raise RuntimeError(input.text or "the skill failed on purpose")
    if action == "loop":
        return Output(action=action, result=_spin(input.seconds))
    if action == "alloc":
        _allocate_forever()
    if action == "read_file":
        return Output(action=action, result=_try(lambda: _read_file(input.path)))
    if action == "list_dir":
        import os

        return Output(action=action, result=_try(lambda: os.listdir("/")))
    if action == "socket":
        return Output(action=action, result=_try(lambda: _connect(input.host, input.port)))
    if action == "env":
        import os

        return Output(action=action, result=dict(os.environ))
    if action == "select_language":
        languages = [Language.English, Language.German, Language.French]
        language = csi.select_language(input.text, languages)
        return Output(action=action, result=language.value if language else None)
    if action == "chunk":
        params = ChunkParams(model=input.model, max_tokens=int(input.payload or 5), overlap=0)
        chunks = csi.chunk(input.text, params)
        return Output(action=action, result=[[c.text, c.character_offset] for c in chunks])
    if action == "chunk_raw":
        from pharia_skill.bindings.imports import chunking as wit

        request = wit.ChunkRequest(
            text=input.text,
            params=wit.ChunkParams(model=input.model, max_tokens=int(input.payload or 5), overlap=0),
        )
        return Output(action=action, result=wit.chunk([request])[0])
    if action == "complete":
        params = CompletionParams(max_tokens=int(input.payload or 16))
        completion = csi.complete(input.model, input.text, params)
        return Output(
            action=action,
            result={
                "text": completion.text,
                "finish_reason": completion.finish_reason.value,
                "usage": [completion.usage.prompt, completion.usage.completion],
            },
        )
    if action == "complete_stream":
        params = CompletionParams(max_tokens=int(input.payload or 16))
        with csi.completion_stream(input.model, input.text, params) as response:
            text = "".join(event.text for event in response.stream())
            finish_reason = response.finish_reason().value
        return Output(action=action, result={"text": text, "finish_reason": finish_reason})
    if action == "chat":
        response = csi.chat(input.model, [Message.user(input.text)], ChatParams(max_tokens=16))
        return Output(
            action=action,
            result={
                "content": response.message.content,
                "role": response.message.role.value,
                "finish_reason": response.finish_reason.value,
            },
        )
    if action == "chat_stream":
        with csi.chat_stream(input.model, [Message.user(input.text)], ChatParams()) as response:
            text = "".join(event.content for event in response.stream())
            finish_reason = response.finish_reason().value
        return Output(action=action, result={"text": text, "finish_reason": finish_reason})
    if action == "explain":
        scores = csi.explain(input.text, "target", input.model)
        return Output(action=action, result=[[s.start, s.length, s.score] for s in scores])
    if action == "search":
        results = csi.search(IndexPath("ns", "collection", "index"), input.text)
        return Output(action=action, result=[r.content for r in results])
    if action == "documents":
        document = csi.document(DocumentPath("ns", "collection", input.text))
        return Output(action=action, result=str(document.contents))
    if action == "document_metadata":
        metadata = csi.document_metadata(DocumentPath("ns", "collection", input.text))
        return Output(action=action, result=metadata)
    if action == "invoke_tool":
        output = csi.invoke_tool(input.tool, **input.arguments)
        return Output(action=action, result=output.contents)
    if action == "list_tools":
        return Output(action=action, result=sorted(tool.name for tool in csi.list_tools()))
    if action == "json":
        return Output(action=action, result=json.loads(input.text))
    if action == "remember":
        _REMEMBERED.append(input.payload)
        return Output(action=action, result=list(_REMEMBERED))
    if action == "repeat":
        return Output(action=action, result=input.text * int(input.payload or 1))
    raise ValueError(f"unknown action {action!r}")
