"""A pharia:skill@0.4.0 test skill (current SDK) whose input selects its behaviour.

Output: ``{"action": <action>, "result": <result>}``. Enum values are the SDK's (``"stop"``,
``"tool_calls"``, ``"eng"``).
"""

import datetime as dt
from typing import Any

from pydantic import BaseModel

from pharia_skill import (
    ChatParams,
    ChatRequest,
    ChunkParams,
    ChunkRequest,
    CompletionParams,
    CompletionRequest,
    Csi,
    DocumentPath,
    EqualTo,
    GreaterThan,
    IndexPath,
    InvokeRequest,
    Language,
    Message,
    MetadataFilter,
    SearchRequest,
    SelectLanguageRequest,
    Text,
    ToolError,
    ToolOutput,
    With,
    skill,
)
from pharia_skill.csi.document_index import After, IsNull, Without
from pharia_skill.csi.inference import Reasoning


class Input(BaseModel):
    action: str
    text: str = ""
    texts: list[str] = []
    payload: Any = None
    model: str = "test-model"
    max_tokens: int | None = None
    tool: str = "add"
    tools: list[str] = []
    arguments: dict[str, Any] = {}
    name: str = ""
    names: list[str] = []
    languages: list[str] = ["eng", "deu"]
    filters: bool = False


class Output(BaseModel):
    action: str
    result: Any = None


def _usage(usage: Any) -> dict[str, int]:
    return {"prompt": usage.prompt, "completion": usage.completion}


def _completion(completion: Any) -> dict[str, Any]:
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason.value,
        "usage": _usage(completion.usage),
    }


def _chat(response: Any) -> dict[str, Any]:
    message = response.message
    return {
        "role": message.role.value,
        "content": message.content,
        "tool_calls": None
        if message.tool_calls is None
        else [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls],
        "finish_reason": response.finish_reason.value,
        "usage": _usage(response.usage),
    }


def _stream(response: Any) -> dict[str, Any]:
    reasoning, content = "", ""
    for event in response.stream():
        if isinstance(event, Reasoning):
            reasoning += event.content
        else:
            content += event.content
    return {
        "role": response.role,
        "reasoning": reasoning,
        "content": content,
        "finish_reason": response.finish_reason().value,
        "usage": _usage(response.usage()),
    }


def _tool_result(result: Any) -> dict[str, Any]:
    if isinstance(result, ToolOutput):
        return {"ok": True, "contents": result.contents}
    return {"ok": False, "error": result.message}


def _document(document: Any) -> dict[str, Any]:
    return {
        "name": document.path.name,
        "contents": [
            {"type": "text", "text": c.text} if isinstance(c, Text) else {"type": "image"} for c in document.contents
        ],
        "metadata": document.metadata,
    }


def _search_result(result: Any) -> dict[str, Any]:
    return {
        "name": result.document_path.name,
        "content": result.content,
        "score": result.score,
        "start": [result.start.item, result.start.position],
        "end": [result.end.item, result.end.position],
    }


FILTERS = [
    With([MetadataFilter("kind", EqualTo("text")), MetadataFilter("rank", GreaterThan(0.5))]),
    Without([MetadataFilter("created", After(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))]),
    Without([MetadataFilter("missing", IsNull())]),
]


@skill
def kitchen_sink(csi: Csi, input: Input) -> Output:
    """Test skill for pharia:skill@0.4.0: echo, fail, or call one CSI function."""
    action, text, model = input.action, input.text, input.model
    texts = input.texts or [text]
    index = IndexPath("ns", "collection", "index")

    def path(name: str) -> DocumentPath:
        return DocumentPath("ns", "collection", name)

    names = input.names or [input.name or text]
    if action == "echo":
        result: Any = input.payload
    elif action == "raise":
        raise RuntimeError(text or "the skill failed on purpose")
    elif action == "select_language":
        language = csi.select_language(text, [Language(code) for code in input.languages])
        result = language.value if language else None
    elif action == "select_language_concurrent":
        requests = [SelectLanguageRequest(t, [Language(c) for c in input.languages]) for t in texts]
        result = [lang.value if lang else None for lang in csi.select_language_concurrent(requests)]
    elif action == "chunk":
        chunks = csi.chunk(text, ChunkParams(model, max_tokens=input.max_tokens or 5))
        result = [[c.text, c.character_offset] for c in chunks]
    elif action == "chunk_concurrent":
        requests = [ChunkRequest(t, ChunkParams(model, max_tokens=input.max_tokens or 5)) for t in texts]
        result = [[[c.text, c.character_offset] for c in chunks] for chunks in csi.chunk_concurrent(requests)]
    elif action == "complete":
        result = _completion(csi.complete(model, text, CompletionParams(max_tokens=input.max_tokens)))
    elif action == "complete_concurrent":
        requests = [CompletionRequest(model, t, CompletionParams(max_tokens=input.max_tokens)) for t in texts]
        result = [_completion(c) for c in csi.complete_concurrent(requests)]
    elif action == "completion_stream":
        with csi.completion_stream(model, text, CompletionParams(max_tokens=input.max_tokens)) as response:
            streamed = "".join(append.text for append in response.stream())
            result = {
                "text": streamed,
                "finish_reason": response.finish_reason().value,
                "usage": _usage(response.usage()),
            }
    elif action == "chat":
        result = _chat(csi.chat(model, [Message.user(text)], ChatParams(max_tokens=input.max_tokens)))
    elif action == "chat_concurrent":
        requests = [ChatRequest(model, [Message.user(t)], ChatParams(max_tokens=input.max_tokens)) for t in texts]
        result = [_chat(r) for r in csi.chat_concurrent(requests)]
    elif action == "chat_stream":
        # With `tools`, the SDK invokes the model's tool calls itself and streams the final answer.
        messages = [Message.user(text)]
        with csi.chat_stream(model, messages, ChatParams(max_tokens=input.max_tokens), tools=input.tools) as response:
            result = _stream(response)
        result["messages"] = [m.role.value for m in messages]
    elif action == "chat_stream_step":
        with csi.chat_stream_step(model, [Message.user(text)]) as response:
            result = _stream(response)
    elif action == "search":
        filters = FILTERS if input.filters else None
        result = [_search_result(r) for r in csi.search(index, text, max_results=3, filters=filters)]
    elif action == "search_concurrent":
        requests = [SearchRequest(index, t, max_results=3) for t in texts]
        result = [[_search_result(r) for r in results] for results in csi.search_concurrent(requests)]
    elif action == "document":
        result = _document(csi.document(path(names[0])))
    elif action == "documents":
        result = [_document(d) for d in csi.documents([path(n) for n in names])]
    elif action == "document_metadata":
        result = csi.document_metadata(path(names[0]))
    elif action == "documents_metadata":
        result = csi.documents_metadata([path(n) for n in names])
    elif action == "invoke_tool":
        try:
            result = {"ok": True, "contents": csi.invoke_tool(input.tool, **input.arguments).contents}
        except ToolError as error:
            result = {"ok": False, "error": error.message}
    elif action == "invoke_tool_concurrent":
        requests = [InvokeRequest(input.tool, input.arguments), InvokeRequest("no-such-tool", {})]
        result = [_tool_result(r) for r in csi.invoke_tool_concurrent(requests)]
    elif action == "list_tools":
        result = sorted(
            ({"name": t.name, "description": t.description, "parameters": t.parameters} for t in csi.list_tools()),
            key=lambda t: t["name"],
        )
    else:
        raise ValueError(f"unknown action {action!r}")
    return Output(action=action, result=result)
