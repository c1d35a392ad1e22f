"""The admin: two-factor login, upload with status polling, moving tags, API tokens."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from skills.models import ApiToken, Skill, SkillVersion, Tag
from skills.services import registry


@pytest.fixture
def admin_user(kernel):
    return kernel["admin"].user


def verified_client(user) -> Client:
    """A session that passed the second factor (what OTP login leaves in the session)."""
    device = TOTPDevice.objects.get_or_create(user=user, name="phone", defaults={"confirmed": True})[0]
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def test_admin_requires_a_second_factor_when_enforced(admin_user, settings):
    settings.ADMIN_REQUIRE_2FA = True
    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert "Authentication code" in client.get("/admin/login/").content.decode()
    assert verified_client(admin_user).get("/admin/").status_code == 200


def test_admin_without_enforcement_needs_only_the_password(admin_user, settings):
    settings.ADMIN_REQUIRE_2FA = False
    client = Client()
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert "Authentication code" not in Client().get("/admin/login/").content.decode()


def test_login_with_a_totp_code_and_with_a_recovery_code_once(admin_user, settings):
    settings.ADMIN_REQUIRE_2FA = True
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    recovery = StaticDevice.objects.create(user=admin_user, name="recovery", confirmed=True)
    StaticToken.objects.create(device=recovery, token="rescue12")

    def login(code):
        client = Client()
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "admin", "password": "pw", "otp_token": code}
        )
        return client, response

    client, response = login(f"{totp(device.bin_key):06d}")
    assert response.status_code == 302 and client.get("/admin/").status_code == 200
    client, response = login("rescue12")
    assert response.status_code == 302 and client.get("/admin/").status_code == 200
    _, response = login("rescue12")  # a recovery code works once
    assert response.status_code == 200 and "Invalid token" in response.content.decode()
    _, response = login(f"{(totp(device.bin_key) + 1) % 1_000_000:06d}")
    assert response.status_code == 200  # the form again: a wrong code does not log in


def test_upload_answers_json_and_the_status_view_reports_ready(admin_user, skill_wasm):
    client = verified_client(admin_user)
    with open(skill_wasm["kitchen_sink"], "rb") as component:
        response = client.post(
            "/admin/skills/skillversion/upload/",
            {"namespace": "test", "name": "uploaded", "tag": "latest", "component": component},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200, response.content
    status_url = response.json()["status_url"]
    deadline = time.monotonic() + 60
    while (status := client.get(status_url).json())["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status["status"] == "ready", status
    assert status["tags"] == ["latest"] and "action" in status["input_fields"]
    assert status["catalogue_url"] == "/skills/test/uploaded/"


def test_upload_rejects_a_file_that_is_not_webassembly(admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = verified_client(admin_user).post(
        "/admin/skills/skillversion/upload/",
        {
            "namespace": "test",
            "name": "bad",
            "tag": "latest",
            "component": SimpleUploadedFile("x.wasm", b"nope"),
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert "not WebAssembly" in response.json()["errors"]["component"][0]


def _second_version(skill: Skill) -> tuple[SkillVersion, SkillVersion]:
    first = skill.versions.get()
    second = SkillVersion.objects.create(
        skill=skill,
        digest="f" * 64,
        size=first.size,
        component=first.component,
        status=SkillVersion.READY,
        world=first.world,
        wit_version=first.wit_version,
        artifact=first.artifact,
    )
    registry.move_tag(skill, "latest", second)
    return first, second


def test_move_a_tag_back_from_the_version_page(admin_user):
    skill = Skill.objects.get(name="sink")
    first, _ = _second_version(skill)
    client = verified_client(admin_user)
    page = client.get(f"/admin/skills/skillversion/{first.pk}/change/").content.decode()
    assert "Point this tag here" in page
    assert '<table class="schema">' in page and "&quot;properties&quot;" not in page  # a table, not a dump
    response = client.post(
        f"/admin/skills/skillversion/{first.pk}/change/", {"move_tag": "1", "tag_name": "latest"}
    )
    assert response.status_code == 302
    assert Tag.objects.get(skill=skill, name="latest").version == first


def test_rollback_action_moves_latest_to_the_previous_ready_version(admin_user):
    skill = Skill.objects.get(name="sink")
    first, _ = _second_version(skill)
    response = verified_client(admin_user).post(
        "/admin/skills/skill/", {"action": "rollback_latest", "_selected_action": [skill.pk]}
    )
    assert response.status_code == 302
    assert Tag.objects.get(skill=skill, name="latest").version == first


def test_deactivate_action_hides_the_skill(admin_user, kernel):
    skill = Skill.objects.get(name="sink")
    verified_client(admin_user).post(
        "/admin/skills/skill/", {"action": "deactivate", "_selected_action": [skill.pk]}
    )
    assert kernel["alice"].run("test/sink", {"action": "echo"}).status_code == 404


def test_create_an_api_token_in_the_admin_shows_the_secret_once(admin_user, kernel):
    client = verified_client(admin_user)
    response = client.post(
        "/admin/skills/apitoken/add/",
        {"user": kernel["alice"].user.pk, "label": "notebook", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    page = response.content.decode()
    token = ApiToken.objects.get(label="notebook")
    assert token.user == kernel["alice"].user
    secret = (
        page.split("class='api-secret'>")[1].split("<")[0]
        if "class='api-secret'" in page
        else page.split('class="api-secret">')[1].split("<")[0]
    )
    assert secret.startswith(token.prefix)
    listing = client.get("/admin/skills/apitoken/").content.decode()
    assert "notebook" in listing and secret not in listing
    client.post("/admin/skills/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_staff_without_the_deploy_role_cannot_upload_to_a_namespace(kernel, settings):
    from django.contrib.auth.models import Permission
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ADMIN_REQUIRE_2FA = False
    alice = kernel["alice"].user  # holds 'invoke' in namespace test
    alice.is_staff = True
    alice.save()
    alice.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_skillversion", "change_skillversion"])
    )
    client = Client()
    client.force_login(alice)
    response = client.post(
        "/admin/skills/skillversion/upload/",
        {
            "namespace": "test",
            "name": "x",
            "tag": "latest",
            "component": SimpleUploadedFile("x.wasm", b"\0asm"),
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400  # not one of the choices (the namespaces where alice deploys)
    assert "may not deploy" in response.json()["errors"]["namespace"][0]
