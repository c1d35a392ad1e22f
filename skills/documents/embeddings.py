"""Embeddings from an OpenAI-compatible ``POST {url}/embeddings`` endpoint (OpenAI, vLLM, Ollama, ...).

Vectors are returned L2-normalised as float32 bytes, the form both vector indexes store.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass

import httpx

from runtime.csi.types import CsiError


class EmbeddingsUnavailable(CsiError):
    """No embedding model is configured, or the endpoint failed."""


@dataclass(frozen=True)
class EmbeddingsConfig:
    url: str
    model: str
    token: str | None = None
    batch: int = 64
    timeout: float = 30.0
    dimensions: int = 0  # 0: the model's own


def pack(vector: list[float]) -> bytes:
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return array.array("f", (value / norm for value in vector)).tobytes()


def dimensions(vector: bytes) -> int:
    return len(vector) // 4


class EmbeddingsClient:
    def __init__(self, config: EmbeddingsConfig) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._http = httpx.Client(base_url=config.url.rstrip("/"), headers=headers, timeout=config.timeout)

    def embed(self, texts: list[str]) -> list[bytes]:
        """One vector per text, in order, in batches of ``config.batch``."""
        vectors: list[bytes] = []
        for start in range(0, len(texts), self.config.batch):
            vectors.extend(self._embed(texts[start : start + self.config.batch]))
        return vectors

    def _embed(self, texts: list[str]) -> list[bytes]:
        where = f"embeddings endpoint {self.config.url}"
        try:
            body: dict = {"model": self.config.model, "input": texts}
            if self.config.dimensions:
                body["dimensions"] = self.config.dimensions
            response = self._http.post("/embeddings", json=body)
        except httpx.TimeoutException:
            raise EmbeddingsUnavailable(f"{where} did not answer within {self.config.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise EmbeddingsUnavailable(f"{where} unreachable: {error or type(error).__name__}") from None
        if response.status_code >= 300:
            raise EmbeddingsUnavailable(
                f"{where} answered HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = [pack([float(value) for value in item["embedding"]]) for item in data]
        except (KeyError, TypeError, ValueError) as error:
            raise EmbeddingsUnavailable(f"{where} answered an unexpected body: {error!r}") from None
        if len(vectors) != len(texts):
            raise EmbeddingsUnavailable(f"{where} answered {len(vectors)} vectors for {len(texts)} texts")
        return vectors
