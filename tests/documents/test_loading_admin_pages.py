"""``manage.py load_documents`` with text, Markdown and PDF files; the admin of collections and
documents; the catalogue's collection pages and their search box."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client

from skills.documents.models import Chunk, Collection, Document
from skills.models import Namespace, NamespaceGrant

pytestmark = pytest.mark.django_db


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose page shows ``text`` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "setup.md").write_text("# Setup\n\nRun make start to begin.")
    (tmp_path / "notes.txt").write_text("Tokens are created in the admin.")
    (tmp_path / "manual.pdf").write_bytes(pdf_with_text("The manual explains vector search."))
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty.txt").write_text("  ")
    return tmp_path


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_documents", *args, stdout=out)
    return out.getvalue()


def test_load_documents_reads_text_markdown_and_pdf(builtin, folder):
    Namespace.objects.create(name="docs")
    out = load("docs/manuals", str(folder))
    assert "Loaded 3 documents into docs/manuals" in out and "skipped" in out and "empty.txt" in out
    names = sorted(Document.objects.values_list("name", flat=True))
    assert names == ["guides/setup.md", "manual.pdf", "notes.txt"]
    pdf = Document.objects.get(name="manual.pdf")
    assert "vector search" in pdf.contents[0]["text"] and pdf.metadata == {
        "source": "manual.pdf",
        "type": "pdf",
    }
    assert Chunk.objects.filter(document=pdf).exists()
    assert "Loaded 3" in load("docs/manuals", str(folder))  # again: replaced, not duplicated
    assert Document.objects.count() == 3 and Document.objects.get(name="notes.txt").version == 2


def test_load_documents_refuses_unknown_namespaces_and_bad_arguments(builtin, folder):
    with pytest.raises(CommandError, match="does not exist"):
        load("nowhere/c", str(folder))
    with pytest.raises(CommandError, match="NAMESPACE/COLLECTION"):
        load("flat", str(folder))
    assert "Loaded 3" in load("fresh/c", str(folder), "--create-namespace")


@pytest.fixture
def admin_client(builtin, folder):
    Namespace.objects.create(name="docs")
    load("docs/manuals", str(folder))
    client = Client()
    client.force_login(User.objects.create_superuser("root", "", "pw"))
    return client


def test_admin_lists_collections_and_saves_documents_through_the_service(admin_client, settings):
    settings.ADMIN_REQUIRE_2FA = False
    assert b"docs/manuals" in admin_client.get("/admin/documents/collection/").content
    index = admin_client.get("/admin/")
    assert b"Documents" in index.content and b"/admin/documents/document/" in index.content
    document = Document.objects.get(name="notes.txt")
    page = admin_client.get(f"/admin/documents/document/{document.pk}/change/")
    assert page.status_code == 200
    answer = admin_client.post(
        f"/admin/documents/document/{document.pk}/change/",
        {
            "collection": document.collection_id,
            "name": "notes.txt",
            "contents": '[{"modality": "text", "text": "Admins rotate tokens monthly."}]',
            "metadata": "null",
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    chunk = Chunk.objects.get(document__name="notes.txt")
    assert (
        chunk.text == "Admins rotate tokens monthly." and Document.objects.get(name="notes.txt").version == 2
    )
    new = admin_client.post(
        "/admin/documents/collection/add/",
        {"namespace": Namespace.objects.get(name="docs").pk, "name": "fresh", **_empty_inline()},
    )
    assert new.status_code == 302, new.content[:3000]
    assert list(Collection.objects.get(name="fresh").indexes.values_list("name", flat=True)) == ["default"]


def _empty_inline() -> dict[str, str]:
    prefix = "indexes"
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}


def test_catalogue_pages_show_collections_documents_and_scored_chunks(builtin, folder):
    Namespace.objects.create(name="docs")
    Namespace.objects.create(name="secret")
    load("docs/manuals", str(folder))
    load("secret/plans", str(folder))
    user = User.objects.create_user("reader", password="pw")
    group = Group.objects.create(name="readers")
    user.groups.add(group)
    NamespaceGrant.objects.create(namespace=Namespace.objects.get(name="docs"), group=group, role="view")
    client = Client()
    client.force_login(user)

    listing = client.get("/documents/").content.decode()
    assert "docs/</span>manuals" in listing and "plans" not in listing
    assert 'href="/documents/"' in client.get("/runs/").content.decode()  # the nav link
    page = client.get("/documents/docs/manuals/", {"q": "vector search"}).content.decode()
    assert "manual.pdf" in page and "The manual explains vector search." in page
    assert 'class="num score"' in page and "guides/setup.md" in page
    document = client.get("/documents/docs/manuals/docs/guides/setup.md").content.decode()
    assert (
        "Run make start to begin." in document
        and "{&quot;source&quot;: &quot;guides/setup.md&quot;" in document
    )
    assert client.get("/documents/secret/plans/").status_code == 404
    assert "<script>" not in page and "style=" not in page
