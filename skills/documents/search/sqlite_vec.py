"""Vector search with sqlite-vec: one ``vec0`` table per index (cosine distance, the document id as a
metadata column so filtered searches stay k-nearest within the allowed documents)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from skills.documents.models import Index
from skills.documents.search import Hit, table


class SqliteVectors:
    def create(self, index: Index) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {table(index)} USING vec0("
                f"document_id integer, embedding float[{int(index.dimensions)}] distance_metric=cosine)"
            )

    def drop(self, index: Index | int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table(index)}")

    def add(self, index: Index, vectors: Sequence[tuple[int, int, bytes]]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table(index)}(rowid, document_id, embedding) VALUES (%s, %s, %s)",
                list(vectors),
            )

    def delete(self, index: Index, chunk_ids: Sequence[int]) -> None:
        if not chunk_ids:
            return
        ids = ", ".join(str(int(chunk)) for chunk in chunk_ids)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table(index)} WHERE rowid IN ({ids})")

    def search(self, index: Index, vector: bytes, limit: int, documents: Sequence[int] | None) -> list[Hit]:
        if documents == []:
            return []
        sql = f"SELECT rowid, distance FROM {table(index)} WHERE embedding MATCH %s AND k = %s"
        if documents is not None:
            sql += f" AND document_id IN ({', '.join(str(int(d)) for d in documents)})"
        with connection.cursor() as cursor:
            cursor.execute(sql + " ORDER BY distance", [vector, limit])
            return [(chunk, 1.0 - distance) for chunk, distance in cursor.fetchall()]
