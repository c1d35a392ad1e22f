"""Full-text search with PostgreSQL: ``documents_chunk.search`` is a generated ``tsvector`` column
with a GIN index (migration 0002); the query is ``websearch_to_tsquery`` of the words joined by ``or``
(it never fails on syntax); ``ts_rank_cd`` with normalisation 32 gives ``rank / (rank + 1)``."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import connection

from skills.documents.models import Index
from skills.documents.search import Hit, words


class PostgresFulltext:
    def search(self, index: Index, query: str, limit: int, documents: Sequence[int] | None) -> list[Hit]:
        found = list(dict.fromkeys(words(query)))
        if not found or documents == []:
            return []
        config = settings.DOCUMENTS_PG_TEXT_SEARCH_CONFIG
        sql = (
            "SELECT c.id, ts_rank_cd(c.search, q, 32) AS rank "
            "FROM documents_chunk c, websearch_to_tsquery(%s::regconfig, %s) q "
            "WHERE c.index_id = %s AND c.search @@ q"
        )
        params: list = [config, " or ".join(found), index.pk]
        if documents is not None:
            sql += " AND c.document_id = ANY(%s)"
            params.append(list(documents))
        sql += " ORDER BY rank DESC, c.id LIMIT %s"
        params.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(chunk, float(rank)) for chunk, rank in cursor.fetchall()]
