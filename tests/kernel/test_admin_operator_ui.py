"""The admin as an operator meets it (issue 15, items 6 and 7): the index grouped by task with human
labels, one token model, the upload's namespace as a choice, sync progress, compile state."""

from __future__ import annotations

import shutil
import time

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from skills.models import Namespace, NamespaceGrant, NamespaceSource, Skill, SkillVersion
from tests.kernel.test_admin import verified_client


@pytest.fixture
def admin_user(kernel):
    return kernel["admin"].user


def test_the_index_is_grouped_by_task_with_human_labels(admin_user):
    page = verified_client(admin_user).get("/admin/").content.decode()
    groups = ["Skills", "Namespaces and access", "Runs", "Security"]
    positions = [page.index(f'<span class="section">{group}</span>') for group in groups]
    assert positions == sorted(positions)
    for label in [
        "Skill versions",
        "MCP servers",
        "Namespace sources",
        "API tokens",
        "Authenticator apps (TOTP)",
        "Recovery codes",
    ]:
        assert label in page, label
    for raw in ["OTP_STATIC", "OTP_TOTP", "Otp_", "Mcp servers", "Api tokens", "Auth Token"]:
        assert raw not in page, raw
    # the security group holds the tokens and the second factors, in that order
    security = page[page.index(">Security<") :]
    assert (
        security.index("API tokens") < security.index("Authenticator apps") < security.index("Recovery codes")
    )


def test_one_token_model_in_the_admin_and_both_still_authenticate(admin_user, kernel):
    client = verified_client(admin_user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert not admin.site.is_registered(TokenProxy)  # unregistered when the URLs load
    alice = kernel["alice"].user
    Token.objects.get_or_create(user=alice)  # the callers of the tests hold one already
    listing = client.get("/admin/skills/apitoken/").content.decode()
    assert "drf_create_token -r USERNAME" in listing and "Users holding one: admin, alice," in listing
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.get(user=alice).key}")
    assert api.get("/v1/skills").status_code == 200


def test_upload_offers_the_namespaces_one_may_deploy_to_and_a_new_one(admin_user, kernel, skill_wasm):
    client = verified_client(admin_user)
    page = client.get("/admin/skills/skillversion/upload/").content.decode()
    assert '<select name="namespace"' in page and '<option value="test"' in page
    assert '<option value="__new__">New namespace…</option>' in page
    assert "`" not in page  # help text in plain words, no literal backticks
    with open(skill_wasm["kitchen_sink"], "rb") as component:
        response = client.post(
            "/admin/skills/skillversion/upload/",
            {
                "namespace": "__new__",
                "new_namespace": "fresh",
                "name": "sink",
                "tag": "latest",
                "component": component,
            },
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200, response.content
    assert Skill.objects.get(namespace__name="fresh", name="sink")

    response = client.post(
        "/admin/skills/skillversion/upload/",
        {"namespace": "__new__", "new_namespace": "", "name": "x", "tag": "latest"},
        headers={"Accept": "application/json"},
    )
    assert response.json()["errors"]["new_namespace"] == ["Name the new namespace."]


def test_a_deployer_sees_only_their_namespaces_and_no_new_one(kernel, settings):
    settings.ADMIN_REQUIRE_2FA = False
    deployer = kernel["viewer"].user
    deployer.is_staff = True
    deployer.save()
    deployer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_skillversion", "change_skillversion"])
    )
    Namespace.objects.create(name="other")
    team = Namespace.objects.create(name="team")
    group = Group.objects.create(name="team-deployers")
    group.user_set.add(deployer)
    NamespaceGrant.objects.create(namespace=team, group=group, role=NamespaceGrant.DEPLOY)
    client = APIClient()
    client.force_login(deployer)
    page = client.get("/admin/skills/skillversion/upload/").content.decode()
    assert '<option value="team" selected>' in page  # the only one: chosen already
    assert 'value="other"' not in page and 'value="test"' not in page and "__new__" not in page


def test_help_texts_show_no_literal_backticks(admin_user):
    client = verified_client(admin_user)
    for url in [
        "/admin/skills/namespacesource/add/",
        "/admin/skills/apitoken/add/",
        "/admin/skills/namespace/add/",
    ]:
        page = client.get(url).content.decode()
        assert "`" not in page, url
    assert (
        "<code>pharia-skill publish</code>"
        in client.get("/admin/skills/namespacesource/add/").content.decode()
    )


def test_sync_now_opens_a_progress_page_that_follows_the_sync(admin_user, skill_wasm, tmp_path, monkeypatch):
    monkeypatch.setattr("skills.sources.sync.SETTLE_SECONDS", 0.0)
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(skill_wasm["kitchen_sink"], skills / "greet.wasm")
    source = NamespaceSource.objects.create(
        namespace=Namespace.objects.create(name="dev"), kind=NamespaceSource.DIRECTORY, directory=str(skills)
    )
    client = verified_client(admin_user)
    response = client.post(
        "/admin/skills/namespacesource/", {"action": "sync_now", "_selected_action": [source.pk]}
    )
    assert response.status_code == 302 and "/admin/skills/namespacesource/sync/?ids=" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "skills/sync.js" in page and f'data-source="{source.pk}"' in page
    status_url = response["Location"].replace("/sync/?", "/sync/status/?")
    deadline = time.monotonic() + 60
    while not (status := client.get(status_url).json())["done"] and time.monotonic() < deadline:
        assert status["sources"][0]["state"] in {"queued", "syncing"}
        time.sleep(0.2)
    row = status["sources"][0]
    assert row["state"] == "ok" and row["summary"] == "ok, 1 skill(s)", row
    assert [line.split(" (")[0] for line in row["lines"]] == ["dev: added greet"], row
    assert Skill.objects.filter(namespace__name="dev", name="greet").exists()


def test_the_source_list_shows_a_sync_in_progress(admin_user):
    from django.utils import timezone

    source = NamespaceSource.objects.create(
        namespace=Namespace.objects.create(name="dev"), kind=NamespaceSource.DIRECTORY, directory="/nowhere"
    )
    now = timezone.now()
    NamespaceSource.objects.filter(pk=source.pk).update(
        last_attempt_at=now - timezone.timedelta(seconds=3), syncing_until=now + timezone.timedelta(minutes=5)
    )
    page = verified_client(admin_user).get("/admin/skills/namespacesource/").content.decode()
    assert "syncing… (since 3 s)" in page


def test_the_catalogue_shows_each_versions_compile_state(admin_user):
    sink = Skill.objects.get(name="sink")
    ready = sink.versions.get()
    SkillVersion.objects.create(
        skill=sink, digest="a" * 64, size=1, component="x", status=SkillVersion.PENDING
    )
    fast = SkillVersion.objects.create(
        skill=sink,
        digest="b" * 64,
        size=1,
        component="y",
        status=SkillVersion.READY,
        artifact_key="wasmtime-41-winch",
    )
    SkillVersion.objects.create(
        skill=sink,
        digest="c" * 64,
        size=1,
        component="z",
        status=SkillVersion.FAILED,
        failure_reason="not a component",
    )
    page = verified_client(admin_user).get("/skills/test/sink/").content.decode()
    assert "compiling…" in page and "not a component" in page
    assert page.count(">optimising</span>") == 1
    assert ready.artifact_key and not ready.artifact_key.endswith("-winch")
    assert fast.digest[:12] in page
