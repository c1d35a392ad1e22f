"""Full-text search with SQLite FTS5: ``documents_chunk_fts`` is an external-content table over
``documents_chunk.text``, kept in step by triggers (migration 0002); BM25 ranks."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from skills.documents.models import Index
from skills.documents.search import Hit, words


def match_expression(query: str) -> str | None:
    """Any of the query's words (each quoted, so no word is FTS5 syntax); ``None`` without words."""
    found = words(query)
    return " OR ".join(f'"{word}"' for word in dict.fromkeys(found)) or None


class SqliteFulltext:
    def search(self, index: Index, query: str, limit: int, documents: Sequence[int] | None) -> list[Hit]:
        expression = match_expression(query)
        if expression is None or documents == []:
            return []
        sql = (
            "SELECT c.id, bm25(documents_chunk_fts) AS rank FROM documents_chunk_fts "
            "JOIN documents_chunk c ON c.id = documents_chunk_fts.rowid "
            "WHERE documents_chunk_fts MATCH %s AND c.index_id = %s"
        )
        params: list = [expression, index.pk]
        if documents is not None:
            sql += f" AND c.document_id IN ({', '.join(str(int(d)) for d in documents)})"
        sql += " ORDER BY rank LIMIT %s"
        params.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [(chunk, -rank / (1 - rank)) for chunk, rank in rows]  # bm25 is negative: s / (1 + s)
