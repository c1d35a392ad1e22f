"""Operators in a real browser: log in with a TOTP code, upload a version, watch it compile, roll back."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice

from skills.models import Skill, SkillVersion, Tag
from tests.browser.conftest import admin_log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_totp_login_upload_and_move_a_tag_back(page, kernel, skill_wasm, settings):
    settings.ADMIN_REQUIRE_2FA = True
    admin = User.objects.get(username="admin")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)

    page.goto("/admin/")
    assert "/admin/login/" in page.url
    shot(page, "11-admin-login-2fa")
    admin_log_in(page, admin, device)

    sink = Skill.objects.get(name="sink")
    original = sink.versions.get()
    page.goto("/admin/skills/skillversion/upload/")
    page.select_option("#id_namespace", "test")
    page.fill("#id_name", "sink")
    page.set_input_files("#id_component", str(skill_wasm["stream_skill"]))  # other bytes: a new version
    page.click("#upload-form input[type=submit]")
    page.wait_for_selector("#upload-links:not([hidden])", timeout=90_000)
    assert page.locator("#upload-status").inner_text().startswith("Ready: test/sink")
    assert page.locator("[data-step=ready]").get_attribute("class") == "done"
    shot(page, "12-admin-upload-ready")
    new = sink.versions.exclude(pk=original.pk).get()
    assert new.status == SkillVersion.READY and new.created_by == admin
    assert Tag.objects.get(skill=sink, name="latest").version == new

    page.goto(f"/admin/skills/skillversion/{original.pk}/change/")
    page.select_option("#tag_name", "latest")
    page.click("input[name=move_tag]")
    page.wait_for_selector(".messagelist")
    assert "now points at" in page.locator(".messagelist").inner_text()
    assert Tag.objects.get(skill=sink, name="latest").version == original
    shot(page, "13-admin-version-tag-moved")
