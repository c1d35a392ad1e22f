"""A newcomer after `make start`: logs in with what quickstart printed (and a recovery code from its
file), opens each example skill and runs its pre-filled try-it as it is."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from django.core.management import call_command

from tests.browser.conftest import SCREENSHOTS, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quickstarted(transactional_db, settings, tmp_path, example_wasm, live_server):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("quickstart", "--url", live_server.url, stdout=out)
    text = out.getvalue()
    password = re.search(r"Log in\s+admin / (\S+)", text).group(1)
    codes = re.search(r"Recovery codes[^:]*: (.+)", (tmp_path / "quickstart-admin.txt").read_text())
    return password, codes.group(1).split(), text


def log_in_as_admin(page, password: str, code: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("button[type=submit]")  # the password is right: the page asks for the code
    page.fill("#id_otp_token", code)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_each_example_skill_describes_itself_and_runs_its_prefilled_try_it(page, quickstarted):
    password, codes, _ = quickstarted
    log_in_as_admin(page, password, codes[0])
    shot(page, "issue15-4-examples-catalogue")

    page.goto("/skills/examples/hello/")
    assert "language" in page.locator("section.description").inner_text()
    assert page.locator("#generated [data-key=name] input").input_value() == "Ada"
    assert page.locator("#generated [data-key=note] textarea, #generated [data-key=note] input").input_value()
    page.click("#try-submit")
    page.wait_for_selector("#result-output:not([hidden])")
    assert json.loads(page.locator("#result-output").inner_text()) == {
        "greeting": "Hallo, Ada!",
        "language": "deu",
    }
    assert '"name": "Ada"' in page.locator("pre.code", has_text="curl").inner_text()
    page.locator("#try").scroll_into_view_if_needed()
    shot(page, "issue15-4-hello-try-it")

    page.goto("/skills/examples/haiku/")
    description = page.locator("section.description").inner_text()
    assert "word by word" in description and "no description" not in description
    text = page.locator("#generated [data-key=text] input, #generated [data-key=text] textarea").input_value()
    assert text.startswith("An old silent pond")
    assert "An old silent pond" in page.locator("pre.code", has_text="curl").inner_text()  # not '{}'
    page.click("#try-submit")
    page.wait_for_selector("#result-title:text-is('Streamed message')")
    assert page.locator("#stream-message").inner_text().split() == text.split()
    assert json.loads(page.locator("#result-output").inner_text()) == {"words": len(text.split())}
    page.locator("#try").scroll_into_view_if_needed()
    shot(page, "issue15-4-haiku-try-it")


def test_the_terminal_ends_with_the_short_block(page, quickstarted):
    """What the newcomer reads last, rendered for people to look at (no QR code, no recovery codes)."""
    *_, text = quickstarted
    lines = text.rstrip().splitlines()[-14:]
    assert not any("█" in line or "otpauth" in line for line in lines)
    page.set_content(
        '<pre style="background:#111;color:#ddd;padding:16px;font:14px monospace;width:fit-content">'
        + html.escape("$ make start\n...\n" + "\n".join(lines))
        + "</pre>"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("pre").screenshot(path=str(SCREENSHOTS / "issue15-3-terminal-block.png"))
