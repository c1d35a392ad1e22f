"""A run read in a browser (issue 15): readable span names, attribute tables, links, UTC dates."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from skills import telemetry
from skills.models import Run, Skill, SkillVersion, Span
from tests.browser.conftest import log_in, shot
from tests.support.openai_server import OpenAITestServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "POST /v1/skills/{namespace}/{name}/run"
UTC_SECONDS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
UTC_MILLIS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$")


def _traced_completion(kernel, settings) -> Run:
    """A real run through the API: request span, skill.execute and an inference span, stored."""
    settings.TRACE_CAPTURE_CONTENT = True  # the GenAI messages, JSON in a string attribute
    with OpenAITestServer() as server:
        settings.OPENAI_INFERENCE_URL = server.url
        answer = kernel["alice"].run("test/sink", {"action": "complete", "text": "hello there world"})
    assert answer.status_code == 200, answer.content
    run = Run.objects.get(pk=answer["X-Run-Id"])
    deadline = time.monotonic() + 10
    while Span.objects.filter(run=run).count() < 3 and time.monotonic() < deadline:
        telemetry.flush()
        time.sleep(0.2)
    assert Span.objects.filter(run=run).count() == 3
    return run


def _older_runs(kernel) -> None:
    skill = Skill.objects.get(name="sink")
    version = SkillVersion.objects.get(skill=skill)
    runs = [
        Run(
            id=uuid.uuid4(),
            skill=skill,
            version=version,
            tag="latest",
            input="{}",
            status=Run.FAILED if i == 2 else Run.SUCCEEDED,
            error_kind="internal" if i == 2 else "",
            duration_ms=4.0 + i * 3.1,
            caller=kernel["alice"].user if i % 2 else None,
            trace_id=uuid.uuid4().hex,
            mode="stream" if i == 3 else "sync",
        )
        for i in range(6)
    ]
    Run.objects.bulk_create(runs)
    now = timezone.now()
    for i, run in enumerate(runs, start=1):
        run.queued_at = now - timedelta(minutes=17 * i, seconds=i)
    Run.objects.bulk_update(runs, ["queued_at"])


def test_a_run_page_and_the_history_read_well(page, kernel, settings):
    run = _traced_completion(kernel, settings)
    _older_runs(kernel)
    log_in(page, "alice")

    page.goto(f"/runs/{run.id}/")
    spans = page.locator("details.span-row")
    assert spans.count() == 3
    names = [name.strip() for name in page.locator(".span-head .span-name").all_inner_texts()]
    assert names == [ROOT, "skill.execute", "text_completion test-model"]
    assert "<str:" not in page.locator("#trace").inner_text()

    # Closed by default; a click opens a span's key/value table.
    completion = spans.nth(2)
    assert not completion.locator("table.kv").is_visible()
    completion.locator("summary").click()
    table = completion.locator("table.kv")
    assert table.is_visible()
    model = table.locator("tr", has=page.locator("th", has_text=re.compile(r"^gen_ai\.request\.model$")))
    assert model.locator("td").inner_text() == "test-model"
    tokens = table.locator("tr", has_text="gen_ai.usage.input_tokens").locator("td.kv-number")
    assert tokens.inner_text() == "3"
    messages = table.locator("tr", has_text="gen_ai.input.messages").locator("pre.kv-block").inner_text()
    assert messages.startswith("[\n  {") and '"role": "user"' in messages  # pretty JSON, not a wall
    spans.nth(1).locator("summary").click()
    execute = spans.nth(1).locator("table.kv")
    assert execute.locator("tr", has_text="skill.outcome").locator("td").inner_text() == "succeeded"
    root = spans.nth(0)
    root.locator("summary").click()
    route = root.locator("tr", has=page.locator("th", has_text=re.compile(r"^http\.route$")))
    assert route.locator("td").inner_text() == "/v1/skills/{namespace}/{name}/run"
    root.locator("summary").click()  # closed again, for the screenshot

    facts = page.locator("dl.facts")
    for stamp in facts.locator("time").all_inner_texts():
        assert UTC_MILLIS.match(stamp), stamp
    assert facts.locator("time").first.get_attribute("datetime").endswith("Z")
    assert facts.locator("a", has_text="alice").get_attribute("href") == "/runs/?caller=alice"
    assert facts.locator("a[href='#trace'] code").inner_text() == run.trace_id
    version = facts.locator(f"a[title='{run.version.digest}']")
    assert version.get_attribute("href") == f"/skills/test/sink/#version-{run.version.digest[:12]}"
    page.locator("#trace").scroll_into_view_if_needed()
    shot(page, "issue15-5-run-page")

    page.goto("/runs/")
    rows = page.locator("table.runs tbody tr")
    assert rows.count() == 7
    for stamp in page.locator("table.runs td.when time").all_inner_texts():
        assert UTC_SECONDS.match(stamp), stamp
    assert page.locator("input[name=since]").get_attribute("type") == "text"  # no mm/dd/yyyy picker
    newest = rows.first
    assert newest.locator("a.skill-link").get_attribute("href") == "/skills/test/sink/"
    assert newest.locator("a", has_text="alice").get_attribute("href") == "/runs/?caller=alice"
    assert newest.locator(f"a[href='/runs/{run.id}/#trace']").inner_text() == run.trace_id[:8]
    shot(page, "issue15-5-run-history")

    newest.locator("a", has_text="alice").click()
    page.wait_for_url("**/runs/?caller=alice")
    assert page.locator("table.runs tbody tr").count() == 4  # the traced run and three older ones
    page.locator("table.runs tbody tr").first.locator(f"a[href='/runs/{run.id}/#trace']").click()
    page.wait_for_url(f"**/runs/{run.id}/#trace")
    page.goto("/runs/")
    page.locator("table.runs tbody tr").first.locator(f"a[title='{run.version.digest}']").click()
    page.wait_for_url("**/skills/test/sink/#version-*")
    assert page.locator(f"tr#version-{run.version.digest[:12]}").is_visible()
    page.goto("/runs/")
    page.locator("table.runs tbody tr").first.locator("a.skill-link").click()
    page.wait_for_url("**/skills/test/sink/")
    assert page.locator("h1").inner_text() == "test/sink"
