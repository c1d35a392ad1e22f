"""The built-in document index: collections, documents, chunked and searchable, behind the CSI."""

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "skills.documents"
    label = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import pre_delete

        from skills.documents import signals, sqlite

        connection_created.connect(sqlite.on_connection_created, dispatch_uid="documents-sqlite-vec")
        pre_delete.connect(signals.document_deleted, sender="documents.Document", dispatch_uid="doc-vectors")
        pre_delete.connect(signals.index_deleted, sender="documents.Index", dispatch_uid="index-vectors")
