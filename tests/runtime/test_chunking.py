"""TextChunking: token-bounded chunks with byte and character offsets, offline tokenizers."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.csi import InvalidCsiRequest
from runtime.csi.chunking import ENCODING_MODELS, TextChunking, encoding_for, known_models
from runtime.csi.types import ChunkParams, ChunkRequest

TEXT = (
    "Software entities are more complex for their size than perhaps any other human construct. "
    "No two parts are alike, at least above the statement level.\n\n"
    "Digital computers are themselves more complex than most things people build; they have very "
    "large numbers of states. Software systems have orders of magnitude more states than computers do."
)
UMLAUTS = "Grüße aus Köln! Schöne Grüße an alle Größen. Übermorgen fahren wir nach Zürich. " * 6


def chunk(text: str, model: str = "gpt-4o", max_tokens: int = 20, overlap: int = 0, chars: bool = False):
    return TextChunking().chunk([ChunkRequest(text, ChunkParams(model, max_tokens, overlap), chars)])[0]


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize("text", [TEXT, UMLAUTS])
def test_chunks_cover_the_text_without_overlap(text):
    chunks = chunk(text, chars=True)
    assert len(chunks) > 2
    assert squeeze("".join(c.text for c in chunks)) == squeeze(text)
    # Chunks are trimmed: sliced at their offsets, with only whitespace between them, they rebuild the text.
    rebuilt, end = "", 0
    for c in chunks:
        assert c.character_offset >= end and text[end : c.character_offset].strip() == ""
        assert text[c.character_offset : c.character_offset + len(c.text)] == c.text
        rebuilt += text[end : c.character_offset] + c.text
        end = c.character_offset + len(c.text)
    assert rebuilt + text[end:] == text


def test_byte_offsets_are_utf8_offsets():
    data = UMLAUTS.encode("utf-8")
    chunks = chunk(UMLAUTS, max_tokens=8, chars=True)
    for c in chunks:
        raw = c.text.encode("utf-8")
        assert data[c.byte_offset : c.byte_offset + len(raw)] == raw
        assert c.byte_offset == len(UMLAUTS[: c.character_offset].encode("utf-8"))
    later = chunks[1:]
    assert later and all(c.byte_offset > c.character_offset for c in later)


def test_character_offsets_only_when_asked():
    assert all(c.character_offset is None for c in chunk(UMLAUTS))
    assert [c.byte_offset for c in chunk(UMLAUTS)] == [c.byte_offset for c in chunk(UMLAUTS, chars=True)]


def test_ascii_offsets_agree():
    assert all(c.byte_offset == c.character_offset for c in chunk(TEXT, chars=True))


def test_chunks_respect_max_tokens():
    small, large = chunk(TEXT, max_tokens=10), chunk(TEXT, max_tokens=200)
    assert len(large) == 1 and large[0].text == TEXT
    assert len(small) > len(chunk(TEXT, max_tokens=30))


def test_encodings_count_differently():
    # German takes more tokens in p50k_base (Mistral 7B's stand-in) than in o200k_base: more chunks.
    assert len(chunk(UMLAUTS, model="gpt-4o", max_tokens=15)) < len(
        chunk(UMLAUTS, model="mistral-7b-instruct-v0.3", max_tokens=15)
    )


def test_overlap_repeats_text():
    plain, overlapping = chunk(TEXT, max_tokens=8), chunk(TEXT, max_tokens=8, overlap=4, chars=True)
    assert len(overlapping) > len(plain)
    assert any(
        b.character_offset < a.character_offset + len(a.text)
        for a, b in zip(overlapping, overlapping[1:], strict=False)
    )


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (-1, 0), (10, 10), (10, 11), (10, -1)])
def test_invalid_params_are_refused(max_tokens, overlap):
    with pytest.raises(InvalidCsiRequest):
        chunk(TEXT, max_tokens=max_tokens, overlap=overlap)


def test_unknown_model_lists_known_models():
    with pytest.raises(InvalidCsiRequest, match="unknown model 'no-such-model'") as error:
        chunk(TEXT, model="no-such-model")
    assert "gpt-4o" in str(error.value) and "llama-3.1-8b-instruct" in str(error.value)


def test_fallback_encoding_for_unknown_models():
    fallback = TextChunking(fallback_encoding="cl100k_base")
    request = ChunkRequest(TEXT, ChunkParams("no-such-model", 20))
    assert fallback.chunk([request]) == TextChunking().chunk([ChunkRequest(TEXT, ChunkParams("gpt-4", 20))])
    with pytest.raises(ValueError):
        TextChunking(fallback_encoding="no-such-encoding")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("text-embedding-3-large", "cl100k_base"),
        ("Pharia-1-LLM-7B-control", "cl100k_base"),
        ("meta-llama/Llama-3.3-70B-Instruct", "cl100k_base"),
        ("llama-3.1-8b-instruct", "cl100k_base"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "p50k_base"),
        ("mistral-nemo-instruct-2407", "cl100k_base"),
        ("Qwen/Qwen2.5-7B-Instruct", "cl100k_base"),
        ("ft:gpt-4o-mini:acme::abc123", "o200k_base"),
        ("gpt-4x", None),
        ("llama-2-7b", None),
    ],
)
def test_model_to_encoding(model, encoding):
    assert encoding_for(model) == encoding


def test_known_models_all_resolve_offline():
    models = known_models()
    assert {"gpt-4o", "gpt-4", "llama-3.1-8b-instruct", "pharia-1-llm-7b-control"} <= set(models)
    assert set(models.values()) <= set(ENCODING_MODELS)
    for encoding in set(models.values()):
        assert chunk(TEXT, model=next(m for m, e in models.items() if e == encoding), max_tokens=50)


def test_empty_text_gives_no_chunks():
    assert chunk("") == [] and chunk("   \n") == []


def test_concurrent_calls_agree():
    backend = TextChunking(max_splitters=2)  # evictions while the threads race
    requests = [
        ChunkRequest(text, ChunkParams(model, max_tokens, overlap), True)
        for text in (TEXT, UMLAUTS)
        for model, max_tokens, overlap in [
            ("gpt-4o", 12, 0),
            ("gpt-4", 20, 5),
            ("llama-3.1-8b-instruct", 7, 2),
        ]
    ]
    expected = TextChunking().chunk(requests)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: backend.chunk(requests), range(32)))
    assert all(result == expected for result in results)
