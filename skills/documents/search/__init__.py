"""Search backends of the built-in document index: full-text and vector, one module per database.

* full-text: SQLite FTS5 (:mod:`.sqlite_fts`) on the embedded default, PostgreSQL ``tsvector`` with a
  GIN index (:mod:`.postgres_fts`) in distributed mode. Both keep themselves in step with the chunk
  table (FTS5 triggers, a generated column), so they only search.
* vectors: ``sqlite-vec`` (:mod:`.sqlite_vec`) or ``pgvector`` (:mod:`.pgvector`), one table per index
  (its dimensions are the embedding model's), cosine distance.

Scores are in [0, 1], higher is better: ``s / (1 + s)`` of the full-text rank, ``1 - cosine
distance`` of vectors; a hybrid search averages the two (a chunk one side did not find scores 0 there).
``documents`` restricts a search to those document ids (metadata filters), ``None`` to none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.db import connection

from skills.documents.models import Index

Hit = tuple[int, float]  # (chunk id, score)


class FulltextSearch(Protocol):
    def search(self, index: Index, query: str, limit: int, documents: Sequence[int] | None) -> list[Hit]: ...


class VectorSearch(Protocol):
    def create(self, index: Index) -> None: ...

    def drop(self, index: Index | int) -> None: ...

    def add(self, index: Index, vectors: Sequence[tuple[int, int, bytes]]) -> None:
        """``(chunk id, document id, float32 vector)`` triples."""

    def delete(self, index: Index, chunk_ids: Sequence[int]) -> None: ...

    def search(
        self, index: Index, vector: bytes, limit: int, documents: Sequence[int] | None
    ) -> list[Hit]: ...


def fulltext() -> FulltextSearch:
    if connection.vendor == "postgresql":
        from skills.documents.search.postgres_fts import PostgresFulltext

        return PostgresFulltext()
    from skills.documents.search.sqlite_fts import SqliteFulltext

    return SqliteFulltext()


def vectors() -> VectorSearch:
    if connection.vendor == "postgresql":
        from skills.documents.search.pgvector import PgVectors

        return PgVectors()
    from skills.documents.search.sqlite_vec import SqliteVectors

    return SqliteVectors()


def table(index: Index | int) -> str:
    """The vector table of an index or index id (an integer: safe to format into SQL)."""
    return f"documents_vectors_{int(index if isinstance(index, int) else index.pk)}"


def words(query: str) -> list[str]:
    """The words of a query, as both full-text engines would find them (letters and digits)."""
    import re

    return re.findall(r"\w+", query.lower())
