"""An operator in a real browser (issue 15, items 6 and 7): the admin index grouped by task, the
upload's namespace choice, a sync's progress, and each version's compile state in the catalogue."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from skills.models import Namespace, NamespaceSource, Skill, SkillVersion
from skills.sources import sync
from tests.browser.conftest import SCREENSHOTS, admin_log_in, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator(page, kernel, settings):
    settings.ADMIN_REQUIRE_2FA = True
    admin = User.objects.get(username="admin")
    admin_log_in(page, admin, TOTPDevice.objects.create(user=admin, name="phone", confirmed=True))
    return admin


def test_the_index_groups_by_task_and_the_upload_offers_a_new_namespace(page, operator):
    captions = page.locator("#content-main .module caption").all_inner_texts()
    assert [c.strip().lower() for c in captions] == [
        "skills",
        "namespaces and access",
        "runs",
        "documents",
        "evaluations",
        "security",
    ]
    shot(page, "issue15-6-admin-index")

    page.goto("/admin/skills/skillversion/upload/")
    sidebar = page.locator("#nav-sidebar").inner_text()  # the same groups, without the index's page
    assert "OTP_" not in sidebar and "Api tokens" not in sidebar and "MCP servers" in sidebar
    new_name = page.locator("#id_new_namespace")
    assert not new_name.is_visible()  # only with "New namespace…"
    page.select_option("#id_namespace", "__new__")
    assert new_name.is_visible()
    new_name.fill("research")
    page.fill("#id_name", "summarise")
    shot(page, "issue15-6-upload")
    page.select_option("#id_namespace", "test")
    assert not new_name.is_visible()


def test_sync_now_shows_progress_until_done(page, operator, skill_wasm, tmp_path, monkeypatch):
    monkeypatch.setattr(sync, "SETTLE_SECONDS", 0.0)
    describe = sync.describe

    def slow_describe(source):  # a sync that takes a few seconds, as pulling and compiling does
        time.sleep(3)
        return describe(source)

    monkeypatch.setattr(sync, "describe", slow_describe)
    for name in ("dev", "staging"):
        skills = tmp_path / name
        skills.mkdir()
        shutil.copy(skill_wasm["kitchen_sink"], skills / "greet.wasm")
        NamespaceSource.objects.create(
            namespace=Namespace.objects.create(name=name),
            kind=NamespaceSource.DIRECTORY,
            directory=str(skills),
        )
    page.goto("/admin/skills/namespacesource/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "sync_now")
    page.click("button[name=index]")
    page.wait_for_url("**/namespacesource/sync/**")
    page.wait_for_selector(".status-syncing")
    expect(page.locator(".elapsed").first).to_have_text(re.compile(r"^[1-9]\d* s$"))
    shot(page, "issue15-7-sync-progress")
    expect(page.locator("#sync-summary")).to_have_text("Done.", timeout=90_000)
    assert page.locator(".status-ok").count() == 2
    assert "added greet" in page.locator(".sync-list").inner_text()


def test_the_catalogue_shows_each_versions_compile_state(page, kernel):
    sink = Skill.objects.get(name="sink")
    served = sink.versions.get()
    for digest, status, key, reason in [
        (
            "c" * 64,
            SkillVersion.FAILED,
            "",
            "the component imports pharia:skill@9.0, which this kernel does not host",
        ),
        ("b" * 64, SkillVersion.READY, "wasmtime-41.0.0-winch", ""),
        ("a" * 64, SkillVersion.PENDING, "", ""),
    ]:
        SkillVersion.objects.create(
            skill=sink,
            digest=digest,
            size=served.size,
            component=served.component,
            status=status,
            artifact_key=key,
            failure_reason=reason,
            world=served.world if status == SkillVersion.READY else "",
            wit_version=served.wit_version if status == SkillVersion.READY else "",
        )
        time.sleep(0.01)  # distinct creation times, newest first
    log_in(page, "alice")
    page.goto("/skills/test/sink/")
    history = page.locator("section.card", has_text="Version history")
    history.scroll_into_view_if_needed()
    text = history.inner_text()
    assert "compiling…" in text and "optimising" in text and "failed" in text and "ready" in text
    history.screenshot(path=str(SCREENSHOTS / "issue15-7-compile-state.png"))
