"""A newcomer in a real browser: find a skill, understand its input, try it, inspect the run."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from skills.models import Run, Skill, SkillVersion, Span
from tests.browser.conftest import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "$defs": {
        "Options": {
            "type": "object",
            "description": "Knobs the skill ignores; here to show nested objects.",
            "properties": {
                "mode": {"enum": ["fast", "careful"], "default": "fast", "description": "How hard to try"},
                "retries": {"type": "integer", "default": 2},
            },
            "required": ["mode"],
        }
    },
    "type": "object",
    "properties": {
        "action": {
            "enum": ["echo", "raise", "select_language"],
            "description": "What the kitchen sink does with the input",
        },
        "payload": {"title": "Payload", "description": "Echoed back by the echo action", "default": None},
        "options": {"$ref": "#/$defs/Options"},
        "words": {"type": "array", "items": {"type": "string"}, "description": "A list, to show arrays"},
        "text": {"type": "string", "default": ""},
    },
    "required": ["action", "options"],
}


def _history():
    """A day of runs, so the lists and charts have something to show."""
    skill = Skill.objects.get(name="sink")
    version = SkillVersion.objects.get(skill=skill)
    now = timezone.now()
    runs = []
    for i in range(60):
        status = Run.FAILED if i % 7 == 0 else Run.SUCCEEDED
        runs.append(
            Run(
                id=uuid.uuid4(),
                skill=skill,
                version=version,
                tag="latest",
                input='{"action": "echo"}',
                output='{"action": "echo", "result": null}' if status == Run.SUCCEEDED else "",
                status=status,
                error_kind="internal" if status == Run.FAILED else "",
                error_message="the skill failed on purpose" if status == Run.FAILED else "",
                duration_ms=3.0 + (i % 10) * 1.7,
                mode="sync",
            )
        )
    Run.objects.bulk_create(runs)
    for i, run in enumerate(runs):
        run.queued_at = now - timedelta(minutes=23 * i)
        run.started_at = run.queued_at + timedelta(milliseconds=2)
        run.finished_at = run.started_at + timedelta(milliseconds=run.duration_ms)
    Run.objects.bulk_update(runs, ["queued_at", "started_at", "finished_at"])


def _settled_span_count(run, seconds: float = 3.0) -> int:
    """The number of spans stored for ``run`` once it stops changing (or after ``seconds``)."""
    deadline, last = time.monotonic() + seconds, -1
    while time.monotonic() < deadline:
        count = Span.objects.filter(run=run).count()
        if count == last:
            return count
        last = count
        time.sleep(0.5)
    return last


def test_browse_search_and_read_a_skill(page, kernel):
    _history()
    log_in(page, "alice")
    assert page.locator("table.skills tbody tr").count() == 2
    assert page.locator("svg.chart rect.bar").count() > 5
    shot(page, "01-catalogue")
    page.fill("input[name=q]", "probe sandbox")
    page.click("form.search button")
    assert page.locator("table.skills tbody tr").count() == 1
    page.fill("input[name=q]", "no-such-skill")
    page.click("form.search button")
    assert page.locator(".empty h2").inner_text() == "No skill matches"
    shot(page, "02-catalogue-no-match")
    page.goto("/")
    page.click("text=sink")
    assert page.locator("h1").inner_text() == "test/sink"
    assert page.locator("table.schema").first.locator("code", has_text="action").count() == 1
    assert (
        "curl -X POST " + page.url.split("/skills/")[0]
        in page.locator("pre.code", has_text="curl").inner_text()
    )
    shot(page, "03-skill")


def test_try_a_skill_through_its_generated_form(page, kernel):
    SkillVersion.objects.filter(skill__name="sink").update(input_schema=SCHEMA)
    log_in(page, "alice")
    page.goto("/skills/test/sink/")
    form = page.locator("#try-form")
    form.locator("[data-key=action] select").select_option(label="echo")
    form.locator("[data-key=payload] textarea").fill('{"greeting": "hello", "n": [1, 2]}')
    form.locator("[data-key=mode] select").select_option(label="careful")
    words = form.locator("[data-key=words]")
    words.locator(".add-item").click()
    words.locator(".add-item").click()
    words.locator(".items input").nth(0).fill("alpha")
    words.locator(".items input").nth(1).fill("beta")
    page.click("#try-submit")
    page.wait_for_selector("#result-output:not([hidden])")
    assert json.loads(page.locator("#result-output").inner_text()) == {
        "action": "echo",
        "result": {"greeting": "hello", "n": [1, 2]},
    }
    run = Run.objects.get()
    assert json.loads(run.input) == {
        "action": "echo",
        "payload": {"greeting": "hello", "n": [1, 2]},
        "options": {"mode": "careful", "retries": 2},
        "words": ["alpha", "beta"],
    }  # the empty optional "text" is left out, so the skill's default applies
    page.locator("#try").scroll_into_view_if_needed()
    shot(page, "04-try-it")

    # The error explained, through the raw-JSON fallback.
    page.check("#raw-toggle")
    page.fill("#raw-input", '{"action": "raise", "text": "no luck today", "options": {"mode": "fast"}}')
    page.click("#try-submit")
    page.wait_for_selector("#result-error:not([hidden])")
    assert "no luck today" in page.locator("#error-message").inner_text()
    assert "raised an error" in page.locator("#error-explanation").inner_text()
    shot(page, "05-try-it-error")


def test_watch_a_streamed_answer(page, kernel):
    log_in(page, "alice")
    page.goto("/skills/test/stream/")
    assert page.locator("#raw-input").is_visible()  # no declared schema: raw JSON straight away
    page.fill("#raw-input", json.dumps({"text": "streams arrive word by word", "delay_spins": 200000}))
    page.click("#try-submit")
    page.wait_for_selector("#result-title:text-is('Streamed message')")  # a selector: the CSP forbids eval
    assert page.locator("#stream-message").inner_text().strip() == "streams arrive word by word"
    assert json.loads(page.locator("#result-output").inner_text()) == {"words": 5}
    shot(page, "06-stream")


def test_open_a_run_and_its_trace(page, kernel):
    _history()
    log_in(page, "alice")
    page.goto("/skills/test/sink/")
    page.fill("[data-key=action] input", "echo")
    page.fill("[data-key=payload] textarea", '"traced"')
    page.click("#try-submit")
    page.wait_for_selector("#result-link:not([hidden])")
    run = Run.objects.filter(caller__username="alice").get()
    stored = _settled_span_count(run)  # the telemetry area stores real spans, in batches
    root = Span.objects.filter(run=run, parent_span_id="").first()
    start = run.started_at or timezone.now()
    if root is None:  # tracing off: a skill span of our own, so the waterfall has a parent
        root = Span.objects.create(
            run=run,
            trace_id="ab" * 16,
            span_id="a" * 16,
            name="skill.execute",
            start_time=start,
            end_time=start + timedelta(milliseconds=40),
            duration_ms=40,
            attributes={"skill": "test/sink"},
        )
    for index, (name, begin, end, attributes) in enumerate(
        [
            ("csi.select_language", 5, 9, {"csi.function": "select_language", "languages": 3}),
            ("chat tiny", 12, 31, {"gen_ai.request.model": "tiny", "gen_ai.usage.output_tokens": 12}),
        ],
        start=1,
    ):
        Span.objects.create(
            run=run,
            trace_id=root.trace_id,
            span_id=f"{index:016x}",
            parent_span_id=root.span_id,
            name=name,
            start_time=root.start_time + timedelta(milliseconds=begin),
            end_time=root.start_time + timedelta(milliseconds=end),
            duration_ms=end - begin,
            attributes=attributes,
        )
    expected = Span.objects.filter(run=run).count()
    assert expected >= stored + 2
    page.click("#result-link a")
    page.wait_for_selector(".waterfall")
    assert page.locator(".span-row").count() == expected
    page.locator("details.span-row", has_text="chat tiny").locator("summary").click()  # attributes: closed
    assert "gen_ai.request.model" in page.locator(".waterfall").inner_text()
    shot(page, "07-run")

    page.goto("/runs/")
    assert page.locator("table.runs tbody tr").count() == 50
    shot(page, "08-runs")
    page.click("text=Older →")
    assert page.locator("table.runs tbody tr").count() == 11
    page.goto("/runs/?status=failed")
    assert page.locator("table.runs tbody tr").count() == 9
    page.goto("/activity/")
    assert page.locator("svg.chart").count() == 2
    shot(page, "09-activity")


def test_empty_states(page, kernel):
    log_in(page, "stranger")
    assert "No skills yet" in page.locator(".empty").inner_text()
    shot(page, "10-empty-catalogue")
    page.goto("/runs/")
    assert "No runs" in page.locator(".empty").inner_text()
