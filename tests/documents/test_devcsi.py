"""The official SDK 0.20.0's ``DevCsi`` search and document calls through the CSI shell of a live
kernel, answered by the built-in index (SQLite FTS5) holding the stand-in DocumentIndex's corpus."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from skills import builder
from skills.models import Namespace, NamespaceGrant
from tests.documents.conftest import load_corpus
from tests.kernel.test_csi_shell_devcsi import failed, ok, run_devcsi


def developer_token() -> str:
    namespace = Namespace.objects.create(name="test")
    Namespace.objects.create(name="other")
    user = User.objects.create_user("dev")
    group = Group.objects.create(name="devs")
    user.groups.add(group)
    NamespaceGrant.objects.create(namespace=namespace, group=group, role=NamespaceGrant.INVOKE)
    return Token.objects.create(user=user).key


def test_devcsi_searches_and_reads_documents_of_the_builtin_index(transactional_db, builtin, live_server):
    load_corpus("kernel", "handbook", "asym-64")
    r = run_devcsi(
        f"sdk-{builder.SDK_VERSION}",
        live_server.url,
        developer_token(),
        document=["kernel", "handbook", "kernel-docs"],
        index=["kernel", "handbook", "asym-64"],
    )
    search = ok(r, "search")
    assert search[0]["document_path"] == {
        "namespace": "kernel",
        "collection": "handbook",
        "name": "kernel-docs",
    }
    assert search[0]["content"] == "The Pharia Kernel runs skills as WebAssembly components."
    assert {"item", "position"} <= set(search[0]["start"]) and 0 < search[0]["score"] < 1
    assert [hit["document_path"]["name"] for hit in ok(r, "search_filtered")] == ["kernel/faq"]
    document = ok(r, "documents")[0]
    assert document["path"]["name"] == "kernel-docs"
    assert document["contents"][0]["text"] == "The Pharia Kernel runs skills as WebAssembly components."
    assert ok(r, "document_metadata") == [{"url": "https://pharia-kernel.product.pharia.com/"}]
    assert "kernel/handbook/missing not found" in failed(r, "document_missing")
