"""`manage.py quickstart` ends with a short block that works: a login, `export TOKEN=...` and a curl;
the second factor (QR code, recovery codes) goes to a 0600 file whose path the block prints."""

from __future__ import annotations

import io
import json
import re
import shlex
import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from skills.models import SkillVersion

URL = "http://127.0.0.1:8123"


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def quickstart(*args) -> str:
    out = io.StringIO()
    call_command("quickstart", "--url", URL, *args, stdout=out)
    return out.getvalue()


def block_of(text: str) -> str:
    """The last block: from the first rule line of the final two to the end."""
    rules = [i for i, line in enumerate(text.splitlines()) if line.startswith("─" * 20)]
    assert len(rules) >= 2, text
    return "\n".join(text.splitlines()[rules[-2] :])


def curl_request(block: str) -> tuple[str, str, dict]:
    """The token, the path and the JSON body of the block's ``export``/``curl`` lines."""
    token = re.search(r"export TOKEN=(\S+)", block).group(1)
    curl = block[block.index("curl ") :].replace("\\\n", " ")
    words = shlex.split(curl.splitlines()[0])
    assert words[words.index("-H") + 1] == "Authorization: Bearer $TOKEN"
    body = json.loads(words[words.index("-d") + 1])
    url = words[-1]
    assert url.startswith(URL + "/v1/skills/")
    return token, url[len(URL) :], body


def test_the_block_is_last_and_its_curl_works(transactional_db, data_dir, example_wasm):
    text = quickstart()
    block = block_of(text)
    assert text.rstrip().endswith(block.rstrip())  # nothing after it
    assert f"Skill Kernel   {URL}/" in block

    password = re.search(r"Log in\s+admin / (\S+)", block).group(1)
    assert User.objects.get(username="admin").check_password(password)

    token, path, body = curl_request(block)
    response = Client().post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"greeting": "Hallo, Ada!", "language": "deu"}

    # The QR code and recovery codes are not in the terminal but in the file the block names.
    secrets_file = data_dir / "quickstart-admin.txt"
    assert str(secrets_file) in block
    assert "otpauth://" not in text and "Recovery codes" not in text
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = secrets_file.read_text()
    assert TOTPDevice.objects.get(user__username="admin").config_url in stored
    codes = StaticToken.objects.filter(device__user__username="admin").values_list("token", flat=True)
    assert len(codes) == 10 and all(code in stored for code in codes)
    assert f"password of admin: {password}" in stored
    assert "█" in stored  # the QR code


def test_a_second_run_shows_the_same_block_and_keeps_the_second_factor(
    transactional_db, data_dir, example_wasm
):
    first = block_of(quickstart())
    again = quickstart()
    assert block_of(again) == first  # same login (from the file) and the same token
    assert TOTPDevice.objects.count() == 1 and StaticToken.objects.count() == 10
    # Without the file, the block says how to get the password and the second factor back.
    (data_dir / "quickstart-admin.txt").unlink()
    block = block_of(quickstart())
    assert "manage.py changepassword admin" in block and "--show-second-factor" in block


def test_show_second_factor_prints_the_qr_code_and_the_codes(transactional_db, data_dir, example_wasm):
    quickstart()
    text = quickstart("--show-second-factor")
    assert TOTPDevice.objects.get().config_url in text
    assert all(code.token in text for code in StaticToken.objects.all())
    assert text.rstrip().endswith(block_of(text).rstrip())  # still last


def test_every_example_skill_has_a_description_and_an_example_input(transactional_db, data_dir, example_wasm):
    quickstart()
    versions = SkillVersion.objects.filter(skill__namespace__name="examples")
    assert sorted(v.skill.name for v in versions) == ["haiku", "hello", "rag"]
    for version in versions:
        assert version.description, version
        assert version.input_schema["examples"], version
        assert version.output_schema["properties"], version
    haiku = versions.get(skill__name="haiku")
    assert haiku.world == "message-stream-skill"  # no metadata of its own: haiku.json gives it
