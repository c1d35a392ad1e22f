"""Chunking for the CSI with semantic-text-splitter, counting tokens with offline tiktoken encodings.

semantic-text-splitter ships the OpenAI tiktoken vocabularies inside its wheel, so nothing is
downloaded. It only accepts OpenAI model names, so each encoding is reached through one such name
(:data:`ENCODING_MODELS`). Every model maps to one of those encodings (:data:`MODELS`, plus the
family prefixes in :data:`FAMILIES` for dated or sized variants).

Token counts are exact for OpenAI models and **approximations for every other model**, whose real
tokenizers are not available offline. The closest encoding was chosen by counting tokens of English,
German, French, Spanish and Python text with the real tokenizers (from the ``llama-models`` and
``mistral-common`` packages) against each encoding:

* Llama 3.x: cl100k_base, within 1% (Llama 3 extends cl100k_base's vocabulary).
* Llama 4: o200k_base, within 5%.
* Mistral Tekken models (Nemo, Small 3, Ministral, Pixtral, ...): cl100k_base, -4% to +10%.
* Mistral 7B / Mixtral (SentencePiece, 32k vocabulary): p50k_base, -3% to +24% (cl100k_base would
  undercount by up to 24%, giving chunks longer than ``max_tokens``).
* Qwen (a cl100k_base extension) and Pharia-1 (own 128k vocabulary): cl100k_base, not measured.

Names are matched as vLLM, OpenAI and Ollama spell them: ``meta-llama/Llama-3.1-8B-Instruct`` (the
organisation is dropped), ``ft:gpt-4o-mini:org::id`` and ``llama3.1:8b`` (the Ollama tag is dropped;
Ollama's bare ``mistral`` is Mistral 7B).

Chunks are trimmed of surrounding whitespace (the text-splitter default, as in the Pharia kernel), so
the text between two chunks is whitespace only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from semantic_text_splitter import TextSplitter

from runtime.csi.types import ChunkRequest, ChunkWithOffset, InvalidCsiRequest

__all__ = ["ENCODING_MODELS", "FAMILIES", "MODELS", "TextChunking", "encoding_for", "known_models"]

O200K, CL100K, P50K, R50K = "o200k_base", "cl100k_base", "p50k_base", "r50k_base"

#: Encoding -> the OpenAI model name semantic-text-splitter resolves to that encoding.
ENCODING_MODELS: dict[str, str] = {O200K: "gpt-4o", CL100K: "gpt-4", P50K: "text-davinci-003", R50K: "gpt2"}

#: Model name (lower case) -> encoding. Non-OpenAI entries are approximations (see module doc).
MODELS: dict[str, str] = {
    # OpenAI
    **dict.fromkeys(
        [
            "gpt-4o", "gpt-4o-mini", "chatgpt-4o-latest", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
            "gpt-4.5-preview", "gpt-5", "gpt-5-mini", "gpt-5-nano", "o1", "o1-mini", "o1-pro", "o3",
            "o3-mini", "o3-pro", "o4-mini", "gpt-oss-20b", "gpt-oss-120b",
        ],
        O200K,
    ),
    **dict.fromkeys(
        [
            "gpt-4", "gpt-4-turbo", "gpt-4-32k", "gpt-3.5-turbo", "text-embedding-3-small",
            "text-embedding-3-large", "text-embedding-ada-002",
        ],
        CL100K,
    ),
    # Aleph Alpha
    **dict.fromkeys(["pharia-1-llm-7b-control", "pharia-1-llm-7b-control-aligned"], CL100K),
    # Meta Llama
    **dict.fromkeys(
        [
            "llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "llama-3.1-405b-instruct",
            "llama-3.2-1b-instruct", "llama-3.2-3b-instruct", "llama-3.3-70b-instruct",
        ],
        CL100K,
    ),
    **dict.fromkeys(["llama-4-scout-17b-16e-instruct", "llama-4-maverick-17b-128e-instruct"], O200K),
    # Mistral ("mistral" alone is Ollama's name for Mistral 7B)
    **dict.fromkeys(
        ["mistral", "mistral-7b-instruct-v0.3", "mixtral-8x7b-instruct-v0.1", "mixtral-8x22b-instruct-v0.1"],
        P50K,
    ),
    **dict.fromkeys(
        ["mistral-nemo-instruct-2407", "mistral-small-24b-instruct-2501", "ministral-8b-instruct-2410"],
        CL100K,
    ),
    # Qwen
    **dict.fromkeys(
        ["qwen2.5-7b-instruct", "qwen2.5-72b-instruct", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "qwq-32b"],
        CL100K,
    ),
}  # fmt: skip

#: Family prefix -> encoding, for names not in MODELS. The longest prefix wins, and it must be followed
#: by the end of the name or a non-alphanumeric character ("gpt-4" matches "gpt-4-0613", not "gpt-4o").
FAMILIES: dict[str, str] = {
    **dict.fromkeys(
        ["gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss"]
        + ["llama-4", "llama4"],
        O200K,
    ),
    **dict.fromkeys(
        [
            "gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "pharia", "llama-3", "llama3", "meta-llama-3",
            "mistral", "ministral", "pixtral", "magistral", "devstral", "codestral", "qwen2", "qwen2.5",
            "qwen3", "qwq",
        ],
        CL100K,
    ),
    **dict.fromkeys(["mistral-7b", "mixtral"], P50K),
}  # fmt: skip


def known_models() -> dict[str, str]:
    """Model name -> tiktoken encoding used to count its tokens (exact names, for docs and UI)."""
    return dict(MODELS)


def encoding_for(model: str) -> str | None:
    """The encoding for ``model``, or None; case-insensitive, ``org/``, ``ft:`` and ``:tag`` ignored."""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    name = name.rsplit("/", 1)[-1].split(":", 1)[0]  # Ollama tags: "llama3.1:8b" -> "llama3.1"
    if name in MODELS:
        return MODELS[name]
    matches = [p for p in FAMILIES if name.startswith(p) and not name[len(p) : len(p) + 1].isalnum()]
    return FAMILIES[max(matches, key=len)] if matches else None


class TextChunking:
    """A :class:`~runtime.csi.ChunkingBackend`; safe to share between threads.

    ``fallback_encoding`` (e.g. ``"cl100k_base"``) counts tokens for models not known here; without
    it an unknown model is an :class:`InvalidCsiRequest`.
    """

    def __init__(self, fallback_encoding: str | None = None, max_splitters: int = 64) -> None:
        if fallback_encoding is not None and fallback_encoding not in ENCODING_MODELS:
            raise ValueError(f"fallback_encoding must be one of {', '.join(ENCODING_MODELS)}")
        self._fallback = fallback_encoding
        self._max_splitters = max_splitters
        self._splitters: OrderedDict[tuple[str, int, int], TextSplitter] = OrderedDict()
        self._lock = threading.Lock()

    def chunk(self, requests: list[ChunkRequest]) -> list[list[ChunkWithOffset]]:
        return [self._chunk(request) for request in requests]

    def _chunk(self, request: ChunkRequest) -> list[ChunkWithOffset]:
        params = request.params
        if params.max_tokens < 1:
            raise InvalidCsiRequest(f"max_tokens must be at least 1, got {params.max_tokens}")
        if not 0 <= params.overlap < params.max_tokens:
            raise InvalidCsiRequest(
                f"overlap must be at least 0 and less than max_tokens ({params.max_tokens}), "
                f"got {params.overlap}"
            )
        encoding = encoding_for(params.model) or self._fallback
        if encoding is None:
            raise InvalidCsiRequest(
                f"unknown model {params.model!r} for chunking; known models (and their dated or sized "
                f"variants): {', '.join(sorted(MODELS))}"
            )
        splitter = self._splitter(encoding, params.max_tokens, params.overlap)
        text, chunks = request.text, []
        char_pos = byte_pos = 0
        for char_offset, piece in splitter.chunk_indices(text):
            # chunk_indices gives character offsets; advance the UTF-8 byte offset incrementally.
            if char_offset < char_pos:
                char_pos = byte_pos = 0
            byte_pos += len(text[char_pos:char_offset].encode("utf-8"))
            char_pos = char_offset
            character_offset = char_offset if request.character_offsets else None
            chunks.append(ChunkWithOffset(piece, byte_pos, character_offset))
        return chunks

    def _splitter(self, encoding: str, max_tokens: int, overlap: int) -> TextSplitter:
        key = (encoding, max_tokens, overlap)
        with self._lock:
            splitter = self._splitters.get(key)
            if splitter is not None:
                self._splitters.move_to_end(key)
                return splitter
            splitter = TextSplitter.from_tiktoken_model(ENCODING_MODELS[encoding], max_tokens, overlap)
            self._splitters[key] = splitter
            if len(self._splitters) > self._max_splitters:
                self._splitters.popitem(last=False)
            return splitter
