"""Admin of the document index: collections with their indexes, documents (saved through the
services, so their chunks follow), and namespaces served by an external DocumentIndex."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from runtime.csi.types import CsiError
from skills.documents import services
from skills.documents.models import Collection, Document, ExternalDocumentIndex, Index
from skills.services.errors import KernelError


class IndexInline(admin.TabularInline):
    model = Index
    extra = 0
    fields = ["name", "kind", "chunk_tokens", "chunk_overlap", "embedding_model", "dimensions"]
    readonly_fields = ["embedding_model", "dimensions"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "namespace", "document_count", "created_at"]
    list_filter = ["namespace"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]
    inlines = [IndexInline]
    actions = ["reindex"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(document_count=Count("documents"))

    @admin.display(description="Documents", ordering="document_count")
    def document_count(self, collection: Collection) -> int:
        return collection.document_count

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not form.instance.indexes.exists():  # a new collection gets the default index
            services.put_index(form.instance, settings.DOCUMENTS_DEFAULT_INDEX)

    @admin.action(description="Chunk and embed every document of the selected collections again")
    def reindex(self, request, queryset):
        for collection in queryset:
            for index in collection.indexes.all():
                try:
                    services.reindex(index)
                except (KernelError, CsiError) as error:
                    self.message_user(request, f"{index}: {error}", messages.ERROR)
        self.message_user(request, "Reindexed.", messages.SUCCESS)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["name", "collection", "version", "chunk_count", "updated_at"]
    list_filter = ["collection__namespace", "collection"]
    search_fields = ["name", "collection__name"]
    list_select_related = ["collection__namespace"]
    readonly_fields = ["version", "created_at", "updated_at"]
    fields = ["collection", "name", "contents", "metadata", "version", "created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(chunk_count=Count("chunks"))

    @admin.display(description="Chunks", ordering="chunk_count")
    def chunk_count(self, document: Document) -> int:
        return document.chunk_count

    def save_model(self, request, obj, form, change):
        """Through the service: the document's chunks (and vectors) are replaced with it."""
        try:
            services.validate_contents(obj.contents)
            if change and "name" in form.changed_data:
                services.delete_document(Document.objects.get(pk=obj.pk))
                obj.pk = None
            saved = services.put_document(obj.collection, obj.name, obj.contents, obj.metadata)
        except (KernelError, CsiError) as error:
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            return
        obj.pk, obj.version = saved.pk, saved.version


@admin.register(ExternalDocumentIndex)
class ExternalDocumentIndexAdmin(admin.ModelAdmin):
    list_display = ["namespace", "url", "enabled"]
    list_filter = ["enabled"]
    list_select_related = ["namespace"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
