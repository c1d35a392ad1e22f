"""Collections of documents per namespace, their chunks and the indexes that search them.

The concepts and shapes are the Pharia DocumentIndex's: a document's ``contents`` is a list of
modality items (``{"modality": "text", "text": ...}`` or ``{"modality": "image", "bytes": ...}``),
its ``metadata`` any JSON; an index chunks the text items of every document of its collection and
searches them full-text, semantically or both (hybrid). The full-text and vector indexes themselves
live beside these tables (FTS5 / tsvector, sqlite-vec / pgvector): ``skills.documents.search``.
"""

from __future__ import annotations

import json

from django.core.validators import RegexValidator
from django.db import models

from skills.models import Namespace

collection_name = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", "letters, digits, '.', '_' and '-', at most 63, no leading dot"
)


class Collection(models.Model):
    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=63, validators=[collection_name])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace__name", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="one_collection_name")]

    def __str__(self) -> str:
        return f"{self.namespace.name}/{self.name}"


class Document(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=500, help_text="May contain '/'.")
    contents = models.JSONField(default=list, help_text='[{"modality": "text", "text": "..."}, ...]')
    metadata = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Counts the times the document was put.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "name"]
        constraints = [models.UniqueConstraint(fields=["collection", "name"], name="one_document_name")]

    def __str__(self) -> str:
        return f"{self.collection}/{self.name}"

    @property
    def metadata_text(self) -> str:
        """The metadata as JSON text (what pages show)."""
        return "" if self.metadata is None else json.dumps(self.metadata, ensure_ascii=False)

    @property
    def text(self) -> str:
        return "\n\n".join(item.get("text", "") for item in self.contents if item.get("modality") == "text")


class Index(models.Model):
    """How a collection is chunked and searched. Semantic and hybrid need an embedding model."""

    FULLTEXT, SEMANTIC, HYBRID = "fulltext", "semantic", "hybrid"
    KINDS = [(FULLTEXT, "Full-text"), (SEMANTIC, "Semantic (vectors)"), (HYBRID, "Hybrid")]

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="indexes")
    name = models.CharField(max_length=63, validators=[collection_name])
    kind = models.CharField(max_length=10, choices=KINDS, default=FULLTEXT)
    chunk_tokens = models.PositiveIntegerField(default=256, help_text="Most tokens in one chunk.")
    chunk_overlap = models.PositiveIntegerField(default=0, help_text="Tokens shared by adjacent chunks.")
    embedding_model = models.CharField(
        max_length=200, blank=True, help_text="Set when vectors are first made."
    )
    dimensions = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["collection", "name"]
        verbose_name_plural = "indexes"
        constraints = [models.UniqueConstraint(fields=["collection", "name"], name="one_index_name")]

    def __str__(self) -> str:
        return f"{self.collection}/{self.name}"

    @property
    def uses_vectors(self) -> bool:
        return self.kind in (self.SEMANTIC, self.HYBRID)

    @property
    def uses_fulltext(self) -> bool:
        return self.kind in (self.FULLTEXT, self.HYBRID)


class Chunk(models.Model):
    """A piece of one text item of a document, as one index cut it; ``start``/``end`` are character
    positions in that item (``end`` inclusive, as the DocumentIndex answers)."""

    index = models.ForeignKey(Index, on_delete=models.CASCADE, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    item = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    embedding = models.BinaryField(null=True, blank=True, help_text="float32 vector, when the index has one")

    class Meta:
        indexes = [models.Index(fields=["index", "document"])]

    def __str__(self) -> str:
        return f"{self.document} #{self.item}:{self.start}"


class ExternalDocumentIndex(models.Model):
    """A namespace whose collections live in an external Pharia DocumentIndex instead."""

    namespace = models.OneToOneField(Namespace, on_delete=models.CASCADE, related_name="external_documents")
    url = models.URLField(max_length=500, help_text="Base URL of the DocumentIndex API")
    token = models.CharField(max_length=500, blank=True, help_text="Bearer token; empty sends none")
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = "external document index"

    def __str__(self) -> str:
        return f"{self.namespace.name} -> {self.url}"
