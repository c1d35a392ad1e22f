"""The kernel's one internal CSI: what CSI backends take and return, for every WIT version.

Field names are the WIT names in snake_case. The types are a superset of the worlds: they carry
what ``pharia:skill@0.4`` added (tool calling, structured output, reasoning) with defaults that
mean "not asked for", so an older world's request converts without inventing values. The
per-version bindings (``runtime/worlds/``) convert between these and wasmtime component values;
the CSI shell converts them from and to the JSON the official SDK's ``DevCsi`` sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Union


class CsiError(Exception):
    """A CSI call failed: the run ends with error kind ``csi_error`` and this message."""


class NotConfigured(CsiError):
    """No backend for this CSI function is configured on the kernel."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is not configured on this kernel")


class CsiNotFound(CsiError):
    """The request names something the backend does not have (a document, an index)."""


class Unsupported(CsiError):
    """The configured backend cannot do this at all (e.g. ``explain`` on an OpenAI-compatible API)."""


class InvalidCsiRequest(CsiError):
    """The request names an unknown model or carries parameters the backend refuses."""


#: PhariaEngine's words for an unknown model; SDK users and their tests match on them.
MODEL_NOT_FOUND_MESSAGE = (
    "The Skill tried to access a model that was not found. Please check the provided model name. "
    "You can query the list of available models at the `models` endpoint of the inference API. "
    "If you believe the model should be available, contact the operator of your PhariaAI instance."
)


class ModelNotFound(InvalidCsiRequest):
    """The model is not available. The message is exactly PhariaEngine's; ``detail`` says what the
    kernel knows (the model name, the allow-list, the backend's answer) for logs and spans."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(MODEL_NOT_FOUND_MESSAGE)
        self.detail = detail


# -- language ---------------------------------------------------------------------------------


@dataclass
class SelectLanguageRequest:
    text: str
    languages: list[str]


# -- chunking ---------------------------------------------------------------------------------


@dataclass
class ChunkParams:
    model: str
    max_tokens: int
    overlap: int = 0


@dataclass
class ChunkRequest:
    text: str
    params: ChunkParams
    character_offsets: bool = False


@dataclass
class ChunkWithOffset:
    text: str
    byte_offset: int
    character_offset: int | None = None


# -- inference --------------------------------------------------------------------------------


class FinishReason(str, Enum):
    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content-filter"
    TOOL_CALLS = "tool-calls"  # 0.4 and later; older worlds see ``stop``


@dataclass
class Logprobs:
    """``no``, ``sampled`` or ``top`` (with ``top`` alternatives, 0-20)."""

    kind: Literal["no", "sampled", "top"] = "no"
    top: int = 0


@dataclass
class Logprob:
    token: bytes
    logprob: float


@dataclass
class Distribution:
    sampled: Logprob
    top: list[Logprob] = field(default_factory=list)


@dataclass
class TokenUsage:
    prompt: int
    completion: int


@dataclass
class CompletionParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    return_special_tokens: bool = False
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logprobs: Logprobs = field(default_factory=Logprobs)
    echo: bool = False


@dataclass
class CompletionRequest:
    model: str
    prompt: str
    params: CompletionParams = field(default_factory=CompletionParams)


@dataclass
class Completion:
    text: str
    finish_reason: FinishReason
    logprobs: list[Distribution]
    usage: TokenUsage


@dataclass
class CompletionAppend:
    text: str
    logprobs: list[Distribution] = field(default_factory=list)


@dataclass
class ToolCall:
    """A function call the model asked for; ``arguments`` is the model's JSON text, unvalidated."""

    id: str
    name: str
    arguments: str


@dataclass
class Message:
    """A chat message. 0.4's variant maps onto it: ``assistant`` (``content`` may be ``None``,
    with ``reasoning_content`` and ``tool_calls``), ``tool`` (with ``tool_call_id``), ``other``."""

    role: str
    content: str | None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


@dataclass
class Function:
    """A tool the model may call; ``parameters`` is a JSON Schema (parsed JSON), ``None``: no parameters."""

    name: str
    description: str | None = None
    parameters: Any = None
    strict: bool | None = None


@dataclass
class ToolChoice:
    kind: Literal["none", "auto", "required", "named"]
    name: str | None = None  # for ``named``


@dataclass
class ResponseFormat:
    """``text``, ``json-object`` or ``json-schema`` (with name, description, schema, strict)."""

    kind: Literal["text", "json-object", "json-schema"]
    name: str | None = None
    description: str | None = None
    schema: Any = None
    strict: bool | None = None


@dataclass
class ChatParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logprobs: Logprobs = field(default_factory=Logprobs)
    # pharia:skill@0.4
    max_completion_tokens: int | None = None
    tools: list[Function] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


@dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    params: ChatParams = field(default_factory=ChatParams)


@dataclass
class ChatResponse:
    message: Message  # role ``assistant``; content, reasoning_content and tool_calls as the model sent
    finish_reason: FinishReason
    logprobs: list[Distribution]
    usage: TokenUsage


@dataclass
class MessageAppend:
    content: str
    logprobs: list[Distribution] = field(default_factory=list)


@dataclass
class ToolCallChunk:
    """A piece of a streamed tool call: chunks with the same ``index`` concatenate."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


# Stream events: (kind, value) pairs mirror the WIT variants.
@dataclass
class CompletionEvent:
    kind: Literal["append", "end", "usage"]
    value: CompletionAppend | FinishReason | TokenUsage


@dataclass
class ChatEvent:
    """``message-begin`` (role), ``reasoning`` (text, 0.4), ``message-append``, ``tool-call``
    (list of :class:`ToolCallChunk`, 0.4), ``message-end`` (finish reason), ``usage``."""

    kind: Literal["message-begin", "reasoning", "message-append", "tool-call", "message-end", "usage"]
    value: str | MessageAppend | list[ToolCallChunk] | FinishReason | TokenUsage


@dataclass
class ExplanationRequest:
    prompt: str
    target: str
    model: str
    granularity: Literal["auto", "word", "sentence", "paragraph"] = "auto"


@dataclass
class TextScore:
    start: int
    length: int
    score: float


# -- document index ---------------------------------------------------------------------------


@dataclass
class IndexPath:
    namespace: str
    collection: str
    index: str


@dataclass
class DocumentPath:
    namespace: str
    collection: str
    name: str


@dataclass
class TextCursor:
    item: int
    position: int


@dataclass
class SearchRequest:
    index_path: IndexPath
    query: str
    max_results: int
    min_score: float | None = None
    # Filters are kept in the JSON shape of the DocumentIndex API (see runtime.host for the mapping).
    filters: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SearchResult:
    document_path: DocumentPath
    content: str
    score: float
    start: TextCursor
    end: TextCursor


@dataclass
class Document:
    path: DocumentPath
    # Each item is ("text", str) or ("image", None).
    contents: list[tuple[str, str | None]]
    metadata: bytes | None = None


# -- tools ------------------------------------------------------------------------------------


@dataclass
class Argument:
    name: str
    value: bytes  # JSON


@dataclass
class InvokeRequest:
    tool_name: str
    arguments: list[Argument]


@dataclass
class ToolOutput:
    """A successful tool call: a list of text modalities."""

    texts: list[str]


@dataclass
class ToolFailure:
    message: str


ToolResult = Union[ToolOutput, ToolFailure]


@dataclass
class Tool:
    name: str
    description: str
    input_schema: bytes  # JSON
