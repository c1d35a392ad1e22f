"""``POST /csi``: the versioned CSI shell of SDKs before the ``/csi/v1`` routes (PhariaEngine's
``src/csi_shell.rs``, ``v0_2.rs`` and ``v0_3.rs``).

The body names its version and function next to the request: ``{"version": "0.3", "function":
"complete", "requests": [...]}``. Version ``0.2`` takes one request inline (``chat``, ``chunk``,
``complete``, ``search``, ``select_language``), ``complete_all`` and ``documents`` a ``requests`` list
and ``document_metadata`` one ``document_path``; version ``0.3`` takes a ``requests`` list for every
function (``explain``, ``chat``, ``chunk``, ``chunk_with_offsets``, ``complete``, ``documents``,
``document_metadata``, ``search``, ``select_language``). The answers carry what those versions knew:
no tool calls (finish reason ``tool_calls`` reads ``stop``), no reasoning, and 0.2 has no logprobs,
usage, search cursors or filters.

Errors are a JSON string, as PhariaEngine answers them; a version or function this shell does not
serve is a 400 with PhariaEngine's words (``UNKNOWN_FUNCTION``, ``NOT_SUPPORTED``,
``NO_LONGER_SUPPORTED``, ``INVALID_VERSION``). Which of the last three applies follows PhariaEngine:
the version is read as a semver requirement; one that parses to exactly one comparator is "not
supported yet" if it is newer than the newest WIT package the kernel hosts (0.5) and "no longer
supported" otherwise (so ``"0.1"``, but also ``"0.3.0"`` or ``"0.4"``, which are not the tags ``0.2``
and ``0.3``); anything else (missing, ``"*"``, ``">=0.2, <0.4"``, ``"latest"``) is "invalid".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.csi import types as t
from skills.csi_shell import conversions as c
from skills.csi_shell.shell import batch, kernel_csi
from skills.services.errors import InvalidInput

UNKNOWN_FUNCTION = (
    "The CSI function {} is not supported by this Kernel installation yet. "
    "Try updating your Kernel version or downgrading your SDK."
)
NOT_SUPPORTED = (
    "The specified CSI version is not supported by this Kernel installation yet. "
    "Try updating your Kernel version or downgrading your SDK."
)
NO_LONGER_SUPPORTED = "This CSI version is no longer supported by the Kernel. Try upgrading your SDK."
INVALID_VERSION = "A valid CSI version is required. Try upgrading your SDK."

#: (major, minor) of the newest ``pharia:skill`` WIT package the kernel hosts (``runtime.worlds``).
LATEST_WIT = (0, 5)


class ShellError(InvalidInput):
    """A version or function the legacy shell does not serve: 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="unsupported_csi")


# -- the version a client names -------------------------------------------------------------------


def _numeric(text: str) -> tuple[int, str] | None:
    """A semver numeric identifier (no leading zeros, fits u64) and the rest of ``text``."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0 or (digits > 1 and text[0] == "0") or int(text[:digits]) >= 2**64:
        return None
    return int(text[:digits]), text[digits:]


def _identifiers(text: str, numeric_leading_zero: bool) -> str | None:
    """Skip ``.``-separated non-empty ``[0-9A-Za-z-]`` segments (pre-release or build); the rest."""
    allowed = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
    while True:
        length = len(text) - len(text.lstrip("".join(allowed)))
        segment = text[:length]
        if not segment:
            return None
        if not numeric_leading_zero and segment.isdigit() and len(segment) > 1 and segment[0] == "0":
            return None
        text = text[length:]
        if not text.startswith("."):
            return text
        text = text[1:]


def _single_comparator(version: str) -> tuple[int, int | None] | None:
    """``(major, minor)`` when ``version`` parses as a semver requirement with exactly one
    comparator (the Rust ``semver`` crate's grammar: ``[op] major[.minor[.patch[-pre][+build]]]``,
    ``*``/``x`` wildcards, spaces); ``None`` for anything else."""
    text = version.lstrip(" ")
    if text[:1] in ("*", "x", "X"):
        return None  # a lone wildcard has no comparator; one followed by more does not parse
    operator = next((op for op in (">=", "<=", "=", ">", "<", "~", "^") if text.startswith(op)), "")
    text = text[len(operator) :].lstrip(" ")
    parsed = _numeric(text)
    if parsed is None:
        return None
    major, text = parsed
    minor: int | None = None
    patch: int | None = None
    wildcard = False
    if text.startswith("."):
        text = text[1:]
        if text[:1] in ("*", "x", "X"):
            wildcard, text = True, text[1:]
        else:
            parsed = _numeric(text)
            if parsed is None:
                return None
            minor, text = parsed
    if text.startswith("."):
        text = text[1:]
        if text[:1] in ("*", "x", "X"):
            text = text[1:]
        elif wildcard:
            return None
        else:
            parsed = _numeric(text)
            if parsed is None:
                return None
            patch, text = parsed
    if patch is not None and text.startswith("-"):
        rest = _identifiers(text[1:], numeric_leading_zero=False)
        if rest is None:
            return None
        text = rest
    if patch is not None and text.startswith("+"):
        rest = _identifiers(text[1:], numeric_leading_zero=True)
        if rest is None:
            return None
        text = rest
    if text.lstrip(" "):
        return None  # a second comparator, or trailing garbage: not exactly one comparator
    return major, minor


def version_error(version: Any) -> str:
    """PhariaEngine's answer to a ``version`` other than ``"0.2"`` and ``"0.3"``."""
    comparator = _single_comparator(version) if isinstance(version, str) else None
    if comparator is None:
        return INVALID_VERSION
    major, minor = comparator
    latest_major, latest_minor = LATEST_WIT
    if major > latest_major or (major == latest_major and minor is not None and minor > latest_minor):
        return NOT_SUPPORTED
    return NO_LONGER_SUPPORTED


# -- requests -------------------------------------------------------------------------------------


def _restricted(value: Any, path: str, keys: set[str]) -> dict[str, Any]:
    """The request with only the ``params`` its version knew (PhariaEngine ignores the others)."""
    o = c.obj(value, path)
    params = o.get("params")
    if isinstance(params, dict):
        return {**o, "params": {key: item for key, item in params.items() if key in keys}}
    return o


def _requests(o: dict[str, Any], read: Callable[[Any, str], Any]) -> list[Any]:
    if "requests" not in o:
        raise c.BadRequest("requests", "this field is required")
    return batch(o["requests"], read, "requests")


def _chat_params(keys: set[str]) -> Callable[[dict[str, Any], str], t.ChatParams]:
    return lambda p, where: c.chat_params({key: p[key] for key in p if key in keys}, where)


def _chat(keys: set[str]) -> Callable[[Any, str], t.ChatRequest]:
    return lambda value, path: c.chat_request(value, path, _chat_params(keys), c.plain_message)


_COMPLETION_0_2 = {"return_special_tokens", "max_tokens", "temperature", "top_k", "top_p", "stop"}
_COMPLETION_0_3 = _COMPLETION_0_2 | {"frequency_penalty", "presence_penalty", "logprobs"}
_CHAT_0_2 = {"max_tokens", "temperature", "top_p"}
_CHAT_0_3 = _CHAT_0_2 | {"frequency_penalty", "presence_penalty", "logprobs"}
_CHUNK_0_2 = {"model", "max_tokens"}
_LANGUAGES_0_2 = ("eng", "deu")


def _read_completion(keys: set[str]) -> Callable[[Any, str], t.CompletionRequest]:
    return lambda value, path: c.completion_request(_restricted(value, path, keys), path)


def _read_chunk_0_2(value: Any, path: str) -> t.ChunkRequest:
    return c.chunk_request(_restricted(value, path, _CHUNK_0_2), path)


def _search_0_2(value: Any, path: str) -> t.SearchRequest:
    o = c.obj(value, path)
    return c.search_request({key: o[key] for key in o if key != "filters"}, path)


def _select_language_0_2(value: Any, path: str) -> t.SelectLanguageRequest:
    request = c.select_language_request(value, path)
    for index, language in enumerate(request.languages):
        if language not in _LANGUAGES_0_2:
            where = f"{path}.languages[{index}]" if path else f"languages[{index}]"
            raise c.BadRequest(where, f"expected one of {', '.join(_LANGUAGES_0_2)}, got {language!r}")
    return request


# -- answers --------------------------------------------------------------------------------------


def _finish(value: t.FinishReason) -> str:
    return "stop" if value is t.FinishReason.TOOL_CALLS else c.finish_reason(value)


def _chat_message(value: t.ChatResponse) -> dict[str, str]:
    return {"role": "assistant", "content": value.message.content or ""}


def _completion_0_2(value: t.Completion) -> dict[str, Any]:
    return {"text": value.text, "finish_reason": _finish(value.finish_reason)}


def _completion_0_3(value: t.Completion) -> dict[str, Any]:
    return {**c.completion(value), "finish_reason": _finish(value.finish_reason)}


def _chat_0_3(value: t.ChatResponse) -> dict[str, Any]:
    return {
        "message": _chat_message(value),
        "finish_reason": _finish(value.finish_reason),
        "logprobs": c.distributions(value.logprobs),
        "usage": c.usage(value.usage),
    }


# -- functions ------------------------------------------------------------------------------------

LegacyHandler = Callable[[dict[str, Any]], Any]


def _v0_2_chat(o: dict[str, Any]) -> Any:
    [response] = kernel_csi().chat([_chat(_CHAT_0_2)(o, "")])
    return {"message": _chat_message(response), "finish_reason": _finish(response.finish_reason)}


def _v0_2_chunk(o: dict[str, Any]) -> Any:
    [chunks] = kernel_csi().chunk([_read_chunk_0_2(o, "")])
    return [piece.text for piece in chunks]


def _v0_2_complete(o: dict[str, Any]) -> Any:
    [completion] = kernel_csi().complete([_read_completion(_COMPLETION_0_2)(o, "")])
    return _completion_0_2(completion)


def _v0_2_complete_all(o: dict[str, Any]) -> Any:
    requests = _requests(o, _read_completion(_COMPLETION_0_2))
    return [_completion_0_2(completion) for completion in kernel_csi().complete(requests)]


def _v0_2_documents(o: dict[str, Any]) -> Any:
    return [c.document(d) for d in kernel_csi().documents(_requests(o, c.document_path))]


def _v0_2_document_metadata(o: dict[str, Any]) -> Any:
    if "document_path" not in o:
        raise c.BadRequest("document_path", "this field is required")
    [value] = kernel_csi().document_metadata([c.document_path(o["document_path"], "document_path")])
    return c.metadata(value)


def _v0_2_search(o: dict[str, Any]) -> Any:
    [results] = kernel_csi().search([_search_0_2(o, "")])
    return [
        {"document_path": c.path_of(r.document_path), "content": r.content, "score": r.score} for r in results
    ]


def _v0_2_select_language(o: dict[str, Any]) -> Any:
    [language] = kernel_csi().select_language([_select_language_0_2(o, "")])
    return language


V0_2: dict[str, LegacyHandler] = {
    "chat": _v0_2_chat,
    "chunk": _v0_2_chunk,
    "complete": _v0_2_complete,
    "complete_all": _v0_2_complete_all,
    "documents": _v0_2_documents,
    "document_metadata": _v0_2_document_metadata,
    "search": _v0_2_search,
    "select_language": _v0_2_select_language,
}


def _v0_3(
    read: Callable[[Any, str], Any], call: Callable[[Any, list[Any]], list[Any]], answer: Callable[[Any], Any]
) -> LegacyHandler:
    return lambda o: [answer(result) for result in call(kernel_csi(), _requests(o, read))]


def _chunk_with_offsets(value: Any, path: str) -> t.ChunkRequest:
    return c.chunk_request(value, path, offsets=True)


V0_3: dict[str, LegacyHandler] = {
    "explain": _v0_3(
        c.explanation_request, lambda csi, r: csi.explain(r), lambda per: [c.text_score(s) for s in per]
    ),
    "chat": _v0_3(_chat(_CHAT_0_3), lambda csi, r: csi.chat(r), _chat_0_3),
    "chunk": _v0_3(c.chunk_request, lambda csi, r: csi.chunk(r), lambda per: [p.text for p in per]),
    "chunk_with_offsets": _v0_3(
        _chunk_with_offsets, lambda csi, r: csi.chunk(r), lambda per: [c.chunk(p) for p in per]
    ),
    "complete": _v0_3(_read_completion(_COMPLETION_0_3), lambda csi, r: csi.complete(r), _completion_0_3),
    "documents": _v0_3(c.document_path, lambda csi, r: csi.documents(r), c.document),
    "document_metadata": _v0_3(c.document_path, lambda csi, r: csi.document_metadata(r), c.metadata),
    "search": _v0_3(
        c.search_request, lambda csi, r: csi.search(r), lambda per: [c.search_result(h) for h in per]
    ),
    "select_language": _v0_3(
        c.select_language_request, lambda csi, r: csi.select_language(r), lambda language: language
    ),
}

VERSIONS: dict[str, dict[str, LegacyHandler]] = {"0.2": V0_2, "0.3": V0_3}


def respond(body: Any) -> Any:
    """The answer to one legacy CSI request, or a :class:`ShellError` / CSI error."""
    o = c.obj(body, "")
    version = o.get("version")
    functions = VERSIONS.get(version) if isinstance(version, str) else None
    if functions is None:
        raise ShellError(version_error(version))
    function = o.get("function")
    if function is not None and not isinstance(function, str):
        raise c.BadRequest("function", f"expected a string, got {c._type_name(function)}")
    handler = functions.get(function) if function is not None else None
    if handler is None:
        raise ShellError(UNKNOWN_FUNCTION.format(function if function is not None else "specified"))
    return handler(o)
