"""The full-text index of chunks: an FTS5 table kept in step by triggers on SQLite, a generated
``tsvector`` column with a GIN index on PostgreSQL (``skills.documents.search``)."""

from django.conf import settings
from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE documents_chunk_fts USING fts5("
    "text, content='documents_chunk', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER documents_chunk_ai AFTER INSERT ON documents_chunk BEGIN "
    "INSERT INTO documents_chunk_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER documents_chunk_ad AFTER DELETE ON documents_chunk BEGIN "
    "INSERT INTO documents_chunk_fts(documents_chunk_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER documents_chunk_au AFTER UPDATE OF text ON documents_chunk BEGIN "
    "INSERT INTO documents_chunk_fts(documents_chunk_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO documents_chunk_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS documents_chunk_au",
    "DROP TRIGGER IF EXISTS documents_chunk_ad",
    "DROP TRIGGER IF EXISTS documents_chunk_ai",
    "DROP TABLE IF EXISTS documents_chunk_fts",
]


def postgres() -> list[str]:
    config = settings.DOCUMENTS_PG_TEXT_SEARCH_CONFIG.replace("'", "")
    return [
        "ALTER TABLE documents_chunk ADD COLUMN search tsvector "
        f"GENERATED ALWAYS AS (to_tsvector('{config}'::regconfig, text)) STORED",
        "CREATE INDEX documents_chunk_search ON documents_chunk USING gin (search)",
    ]


POSTGRES_REVERSE = ["DROP INDEX IF EXISTS documents_chunk_search", "ALTER TABLE documents_chunk DROP COLUMN search"]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        chosen = statements.get(vendor, [])
        for statement in chosen() if callable(chosen) else chosen:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": postgres}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
