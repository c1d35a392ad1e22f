"""Turning files into documents: text and Markdown as they are, PDFs one text item per page (pypdf)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from skills.documents import services
from skills.documents.models import Collection

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
SUFFIXES = TEXT_SUFFIXES | {".pdf"}


def contents_of(path: Path) -> list[dict[str, str]]:
    """The modality items of one file; empty when it holds no text."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        pages = [page.extract_text() or "" for page in PdfReader(path).pages]
        return [{"modality": "text", "text": text} for text in pages if text.strip()]
    text = path.read_text(encoding="utf-8", errors="replace")
    return [{"modality": "text", "text": text}] if text.strip() else []


def files_in(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith("."):
            yield path


def load_folder(collection: Collection, folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Put every text, Markdown and PDF file under ``folder`` as a document named by its relative
    path (``guides/setup.md``); yields each file with ``None`` or the reason it was skipped."""
    for path in files_in(folder):
        contents = contents_of(path)
        if not contents:
            yield path, "no text"
            continue
        metadata = {"source": str(path.relative_to(folder)), "type": path.suffix.lower().lstrip(".")}
        services.put_document(collection, path.relative_to(folder).as_posix(), contents, metadata)
        yield path, None
