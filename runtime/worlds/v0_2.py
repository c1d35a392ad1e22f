"""Host bindings of ``pharia:skill@0.2.x`` (the first SDK generation): world ``skill`` only, with no
``metadata`` export and no message stream.

Everything sits in one interface, ``csi``, with single-request functions: ``complete``,
``complete-return-special-tokens``, ``complete-all`` (a batch), ``chat`` (roles user, assistant,
system as an enum), ``chunk`` (no overlap), ``select-language`` (languages as an enum: eng, deu),
``search`` (no filters, no cursors in the results), ``documents`` and ``document-metadata``.
Completions are text and finish reason only: no logprobs, no usage.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wasmtime import component as wc

from runtime.csi import types as t
from runtime.worlds import common as c
from runtime.worlds.common import RunContext, get, record

VERSION = "0.2.10"
_ROLES = ("user", "assistant", "system")


_finish_reason = c.finish_reason_before_0_4


def _completion_params(value: Any, return_special_tokens: bool = False) -> t.CompletionParams:
    return replace(c.completion_params(value), return_special_tokens=return_special_tokens)


def _completion(value: t.Completion) -> wc.Record:
    return record(text=value.text, finish_reason=_finish_reason(value.finish_reason))


def _complete_one(context: RunContext, request: t.CompletionRequest) -> wc.Record:
    return _completion(context.csi.complete([request])[0])


def _complete(context: RunContext, model: str, prompt: str, params: Any) -> wc.Record:
    return _complete_one(context, t.CompletionRequest(model, prompt, _completion_params(params)))


def _complete_return_special_tokens(context: RunContext, model: str, prompt: str, params: Any) -> wc.Record:
    return _complete_one(context, t.CompletionRequest(model, prompt, _completion_params(params, True)))


def _complete_all(context: RunContext, requests: list[Any]) -> list[wc.Record]:
    completions = context.csi.complete(
        [t.CompletionRequest(r.model, r.prompt, _completion_params(r.params)) for r in requests]
    )
    return [_completion(completion) for completion in completions]


def _chat(context: RunContext, model: str, messages: list[Any], params: Any) -> wc.Record:
    request = t.ChatRequest(
        model=model,
        messages=[t.Message(role=m.role, content=m.content) for m in messages],
        params=t.ChatParams(
            max_tokens=get(params, "max_tokens"), temperature=params.temperature, top_p=get(params, "top_p")
        ),
    )
    response = context.csi.chat([request])[0]
    role = response.message.role if response.message.role in _ROLES else "assistant"
    return record(
        message=record(role=role, content=response.message.content or ""),
        finish_reason=_finish_reason(response.finish_reason),
    )


def _chunk(context: RunContext, text: str, params: Any) -> list[str]:
    request = t.ChunkRequest(text, t.ChunkParams(model=params.model, max_tokens=get(params, "max_tokens")))
    return [chunk.text for chunk in context.csi.chunk([request])[0]]


def _select_language(context: RunContext, text: str, languages: list[str]) -> str | None:
    return context.csi.select_language([t.SelectLanguageRequest(text, list(languages))])[0]


def _search(
    context: RunContext, index: Any, query: str, max_results: int, min_score: float | None
) -> list[wc.Record]:
    request = t.SearchRequest(c.index_path(index), query, max_results, min_score)
    return [
        record(document_path=c.path_record(r.document_path), content=r.content, score=float(r.score))
        for r in context.csi.search([request])[0]
    ]


def _documents(context: RunContext, paths: list[Any]) -> list[wc.Record]:
    return [c.document_record(d) for d in context.csi.documents([c.document_path(p) for p in paths])]


def _document_metadata(context: RunContext, path: Any) -> bytes | None:
    return context.csi.document_metadata([c.document_path(path)])[0]


def add_to_linker(root: Any) -> None:
    with root.add_instance(f"{c.PACKAGE}/csi@{VERSION}") as instance:
        instance.add_func("complete", c.host(_complete))
        instance.add_func("complete-return-special-tokens", c.host(_complete_return_special_tokens))
        instance.add_func("complete-all", c.host(_complete_all))
        instance.add_func("chat", c.host(_chat))
        instance.add_func("chunk", c.host(_chunk))
        instance.add_func("select-language", c.host(_select_language))
        instance.add_func("search", c.host(_search))
        instance.add_func("documents", c.host(_documents))
        instance.add_func("document-metadata", c.host(_document_metadata))
