"""Issue 15, item 1, in a real browser: rejected input answers field errors next to the try-it form,
and the run page shows a skill's error trimmed, with its full text behind a toggle."""

from __future__ import annotations

import pytest

from skills.models import Run, SkillVersion
from tests.browser.conftest import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "minLength": 3, "description": "What the kitchen sink does"},
        "port": {"type": "integer", "minimum": 1, "description": "A port, at least 1"},
        "text": {"type": "string", "default": ""},
    },
    "required": ["action", "port"],
}

TRACEBACK = """Traceback (most recent call last):
  File "/2/pharia_skill/skill.py", line 91, in run
  File "/2/pydantic/main.py", line 746, in model_validate_json
pydantic_core._pydantic_core.ValidationError: 1 validation error for Input
action
  Field required [type=missing, input_value={'no_action': 1}, input_type=dict]
    For further information visit https://errors.pydantic.dev/2.11/v/missing
"""


def test_try_it_marks_the_fields_the_schema_rejects(page, kernel):
    SkillVersion.objects.filter(skill__name="sink").update(input_schema=SCHEMA)
    log_in(page, "alice")
    page.goto("/skills/test/sink/")
    form = page.locator("#try-form")
    form.locator("[data-key=action] input").fill("ec")
    form.locator("[data-key=port] input").fill("0")
    page.click("#try-submit")
    page.wait_for_selector("#result-error:not([hidden])")
    assert page.locator("#error-kind").inner_text() == "invalid_input"
    assert page.locator("#error-fields li").all_inner_texts() == [
        "action: must have at least 3 characters",
        "port: must be at least 1",
    ]
    assert (
        form.locator("[data-key=action].invalid .field-error").inner_text()
        == "must have at least 3 characters"
    )
    assert form.locator("[data-key=port].invalid .field-error").inner_text() == "must be at least 1"
    assert "Traceback" not in page.locator("#try").inner_text()
    assert not Run.objects.exists()
    page.locator("#try").scroll_into_view_if_needed()
    page.locator("#try").screenshot(path=str(_path("issue15-1-tryit-field-errors")))

    # Raw JSON: the same errors, listed; fixing the input clears the marks and runs the skill.
    page.check("#raw-toggle")
    page.fill("#raw-input", "{}")
    page.click("#try-submit")
    page.wait_for_selector("#error-fields li")
    assert page.locator("#error-fields li").all_inner_texts() == [
        "action: field required",
        "port: field required",
    ]
    page.locator("#try").screenshot(path=str(_path("issue15-1-tryit-raw-errors")))
    page.fill("#raw-input", '{"action": "nope", "port": 80}')
    page.click("#try-submit")
    page.wait_for_selector("#error-detail:not([hidden])")
    assert page.locator("#error-message").inner_text() == "ValueError: unknown action 'nope'"
    assert page.locator("#error-fields").is_hidden()
    page.click("#error-detail summary")
    assert "kitchen_sink.py" in page.locator("#error-detail-text").inner_text()
    page.locator("#try").screenshot(path=str(_path("issue15-1-tryit-skill-error")))


def test_run_page_trims_the_skills_message_and_shows_the_schema(page, kernel):
    version = SkillVersion.objects.get(skill__name="sink")
    run = Run.objects.create(
        skill=version.skill,
        version=version,
        tag="latest",
        caller=kernel["alice"].user,
        input='{"no_action": 1}',
        status=Run.FAILED,
        error_kind="invalid_input",
        error_message=TRACEBACK,  # what runs stored before the kernel checked input
    )
    log_in(page, "alice")
    page.goto(f"/runs/{run.id}/")
    box = page.locator("#run-error")
    assert box.locator(".message").inner_text() == "action: Field required"
    assert "input schema above" not in box.inner_text()
    assert box.locator(".error-schema table.schema code", has_text="action").count() == 1
    assert box.locator(".error-detail pre").is_hidden()
    box.locator(".error-detail summary").click()
    assert "pharia_skill/skill.py" in box.locator(".error-detail pre").inner_text()
    shot(page, "issue15-1-run-page-error")


def _path(name: str):
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
