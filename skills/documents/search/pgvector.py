"""Vector search with pgvector: one table per index with an HNSW index (cosine), rows deleted with
their chunk (foreign key). Filtered searches use pgvector's iterative index scans (0.8+)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from skills.documents.models import Index
from skills.documents.search import Hit, table


def _literal(vector: bytes) -> str:
    """pgvector's text form of a float32 vector."""
    import array

    values = array.array("f")
    values.frombytes(vector)
    return "[" + ",".join(repr(value) for value in values) + "]"


class PgVectors:
    def create(self, index: Index) -> None:
        name = table(index)
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} ("
                "chunk_id bigint PRIMARY KEY REFERENCES documents_chunk(id) ON DELETE CASCADE "
                "DEFERRABLE INITIALLY DEFERRED, document_id bigint NOT NULL, "
                f"embedding vector({int(index.dimensions)}) NOT NULL)"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_hnsw ON {name} USING hnsw (embedding vector_cosine_ops)"
            )

    def drop(self, index: Index | int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table(index)}")

    def add(self, index: Index, vectors: Sequence[tuple[int, int, bytes]]) -> None:
        rows = [(chunk, document, _literal(vector)) for chunk, document, vector in vectors]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table(index)} (chunk_id, document_id, embedding) VALUES (%s, %s, %s::vector)",
                rows,
            )

    def delete(self, index: Index, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table(index)} WHERE chunk_id = ANY(%s)", [list(chunk_ids)])

    def search(self, index: Index, vector: bytes, limit: int, documents: Sequence[int] | None) -> list[Hit]:
        if documents == []:
            return []
        sql = f"SELECT chunk_id, embedding <=> %s::vector AS distance FROM {table(index)}"
        literal = _literal(vector)
        params: list = [literal]
        if documents is not None:
            sql += " WHERE document_id = ANY(%s)"
            params.append(list(documents))
        sql += " ORDER BY distance LIMIT %s"
        params.append(limit)
        with connection.cursor() as cursor:
            if documents is not None:
                cursor.execute("SET hnsw.iterative_scan = relaxed_order")
            cursor.execute(sql, params)
            return [(chunk, 1.0 - float(distance)) for chunk, distance in cursor.fetchall()]
