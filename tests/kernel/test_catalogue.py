"""The catalogue pages: browse, search, a skill's page, try it, run history and a run's trace."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from skills import selectors
from skills.models import Run, Skill, SkillVersion, Span

NESTED_SCHEMA = {
    "$defs": {
        "Options": {
            "type": "object",
            "properties": {
                "mode": {"enum": ["fast", "careful"], "default": "fast", "description": "How hard to try"},
                "limit": {"type": "integer", "default": 3},
            },
            "required": ["mode"],
        }
    },
    "type": "object",
    "properties": {
        "action": {"type": "string", "description": "What the skill does"},
        "payload": {"title": "Payload"},
        "options": {"$ref": "#/$defs/Options"},
        "words": {"type": "array", "items": {"type": "string"}},
        "strict": {"type": "boolean", "default": False},
    },
    "required": ["action", "options"],
}


def browser(caller) -> Client:
    client = Client()
    client.force_login(caller.user)
    return client


@pytest.fixture
def viewer(kernel):
    return browser(kernel["viewer"])


@pytest.fixture
def invoker(kernel):
    return browser(kernel["alice"])


def test_pages_require_login(kernel):
    for url in ["/", "/runs/", "/activity/", "/skills/test/sink/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_login_page_accepts_non_staff_users(kernel):
    client = Client()
    response = client.post("/login/", {"username": "viewer", "password": "pw"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_index_lists_visible_skills_with_type_and_figures(viewer, kernel):
    Run.objects.create(
        skill=Skill.objects.get(name="sink"),
        version=SkillVersion.objects.get(skill__name="sink"),
        input="{}",
        status=Run.SUCCEEDED,
        duration_ms=12.0,
    )
    page = viewer.get("/").content.decode()
    assert "test/</span>sink" in page and "test/</span>stream" in page
    assert "message-stream" in page and "programmable" in page
    assert "status-succeeded" in page  # last run status of sink
    assert "12.0 ms" in page  # p50 of that one run
    assert '<svg class="chart"' in page


def test_stranger_sees_an_empty_state_not_the_skills(kernel):
    page = browser(kernel["stranger"]).get("/").content.decode()
    assert "No skills yet" in page and "sink" not in page
    assert browser(kernel["stranger"]).get("/skills/test/sink/").status_code == 404


def test_search_matches_names_and_descriptions_word_by_word(viewer):
    def names(query):
        return [s.name for s in selectors.catalogue_skills(viewer_user(), query=query)]

    assert names("probe sandbox") == ["sink"]  # words from the kitchen sink's description
    assert names("ECHO csi") == ["sink"]  # case-insensitive, any order
    assert names("echo stream") == []  # every word must match
    assert names("stream") == ["stream"]
    assert names("nothing-like-this") == []
    page = viewer.get("/?q=nothing-like-this").content.decode()
    assert "No skill matches" in page


def viewer_user():
    from django.contrib.auth.models import User

    return User.objects.get(username="viewer")


def test_type_filter(viewer):
    page = viewer.get("/?type=chat").content.decode()
    assert "test/</span>stream" in page and "test/</span>sink" not in page


def test_skill_page_schema_tables_example_snippets_and_versions(viewer):
    page = viewer.get("/skills/test/sink/").content.decode()
    assert '<table class="schema">' in page
    assert '<code class="depth-0">action</code>' in page
    assert "Example input" in page and "&quot;action&quot;: &quot;text&quot;" in page
    assert "curl -X POST http://testserver/v1/skills/test/sink/run" in page
    assert "requests.post(" in page
    assert "Version history" in page and "(command line)" in page
    assert "You may view this skill but not invoke it" in page  # the viewer holds only 'view'


def test_nested_schema_renders_as_rows_and_form_fields(invoker):
    SkillVersion.objects.filter(skill__name="sink").update(input_schema=NESTED_SCHEMA)
    page = invoker.get("/skills/test/sink/").content.decode()
    assert 'class="depth-1">└ mode</code>' in page  # nested under options, from $defs
    assert "array of strings" in page
    assert "&quot;fast&quot;" in page  # enum values shown
    assert 'data-kind="object" data-key="options"' in page
    assert 'data-kind="enum" data-key="mode"' in page
    assert 'data-kind="array" data-key="words"' in page
    assert 'data-kind="json" data-key="payload"' in page
    assert 'data-kind="boolean" data-key="strict"' in page


def test_try_runs_the_skill_for_the_session_user(invoker, kernel):
    response = invoker.post(
        "/skills/test/sink/try",
        json.dumps({"action": "echo", "payload": [1, 2]}),
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["output"] == {"action": "echo", "result": [1, 2]}
    run = Run.objects.get(pk=body["run_id"])
    assert run.caller == kernel["alice"].user and body["run_url"] == f"/runs/{run.id}/"


def test_try_explains_a_skill_error(invoker):
    body = invoker.post(
        "/skills/test/sink/try",
        json.dumps({"action": "raise", "text": "boom"}),
        content_type="application/json",
    ).json()
    assert body["status"] == "failed" and "boom" in body["error"]["message"]
    assert "The skill raised an error" in body["error"]["explanation"]


def test_try_refuses_a_viewer(viewer):
    response = viewer.post("/skills/test/sink/try", "{}", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["kind"] == "forbidden"


def test_try_stream_answers_server_sent_events(invoker):
    response = invoker.post(
        "/skills/test/stream/try-stream", '{"text": "a b"}', content_type="application/json"
    )
    text = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/event-stream"
    assert 'data: {"type": "append", "text": "a "}' in text
    assert 'data: {"type": "end", "payload": {"words": 2}}' in text


def _bulk_runs(count: int, **fields) -> list[Run]:
    skill = Skill.objects.get(name="sink")
    version = SkillVersion.objects.get(skill=skill)
    now = timezone.now()
    runs = [
        Run(
            id=uuid.uuid4(),
            skill=skill,
            version=version,
            input="{}",
            status=Run.SUCCEEDED if i % 3 else Run.FAILED,
            duration_ms=float(i % 100 + 1),
            **fields,
        )
        for i in range(count)
    ]
    Run.objects.bulk_create(runs)
    # Several runs share each timestamp, so the keyset must break ties by id.
    for i, run in enumerate(runs):
        run.queued_at = now - timedelta(seconds=i // 4)
    Run.objects.bulk_update(runs, ["queued_at"])
    return runs


def test_run_list_pages_by_keyset_without_gaps_or_repeats(viewer, settings):
    settings.CATALOGUE_RUNS_PER_PAGE = 25
    runs = _bulk_runs(110)
    seen, url = [], "/runs/"
    while url:
        response = viewer.get(url)
        seen += [str(run.id) for run in response.context["runs"]]
        url = f"/runs/?{response.context['next_query']}" if response.context["next_query"] else None
    assert len(seen) == len(set(seen)) == 110
    assert set(seen) == {str(run.id) for run in runs}


def test_run_list_costs_the_same_few_queries_on_any_page(viewer, settings):
    settings.CATALOGUE_RUNS_PER_PAGE = 20
    _bulk_runs(60)
    first = viewer.get("/runs/")
    cursor_page = f"/runs/?{first.context['next_query']}"
    counts = []
    for url in ["/runs/", cursor_page, "/runs/?status=failed&skill=test/sink"]:
        with CaptureQueriesContext(connection) as queries:
            assert viewer.get(url).status_code == 200
        counts.append(len(queries))
        sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
        assert "COUNT(" not in sql and "OFFSET" not in sql
    # session + user + namespace choices + one page of runs (with skill, version, caller joined)
    assert counts[0] == counts[1] == counts[2] <= 5, counts


def test_run_list_filters(viewer, kernel):
    _bulk_runs(9)
    page = viewer.get("/runs/?status=failed")
    assert {run.status for run in page.context["runs"]} == {"failed"} and len(page.context["runs"]) == 3
    assert viewer.get("/runs/?caller=alice").context["runs"] == []
    assert (
        len(
            viewer.get("/runs/?version=" + SkillVersion.objects.get(skill__name="sink").digest[:12]).context[
                "runs"
            ]
        )
        == 9
    )
    assert viewer.get("/runs/?skill=test/stream").context["runs"] == []
    assert "No runs match these filters" in viewer.get("/runs/?skill=test/stream").content.decode()


def test_percentiles_match_postgresql_percentile_cont():
    values = [float(v) for v in range(1, 101)]
    assert selectors.percentile(values, 0.5) == pytest.approx(50.5)
    assert selectors.percentile(values, 0.95) == pytest.approx(95.05)
    assert selectors.percentile([7.0], 0.95) == 7.0
    assert selectors.percentile([], 0.5) is None


def test_latency_by_skill_over_the_last_day(kernel):
    runs = _bulk_runs(100)
    old = runs[0]
    Run.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(days=2), duration_ms=10_000)
    skill = Skill.objects.get(name="sink")
    stats = selectors.latency_by_skill([skill.pk], timezone.now() - timedelta(hours=24))[skill.pk]
    assert stats.runs == 99
    assert stats.p50 == pytest.approx(51.0) and stats.p95 == pytest.approx(95.1)


def test_run_page_shows_input_output_and_the_span_waterfall(invoker, kernel):
    body = invoker.post(
        "/skills/test/sink/try",
        json.dumps({"action": "echo", "payload": "hi"}),
        content_type="application/json",
    ).json()
    run = Run.objects.get(pk=body["run_id"])
    page = invoker.get(f"/runs/{run.id}/").content.decode()
    assert "No trace stored for this run" in page
    assert "&quot;payload&quot;: &quot;hi&quot;" in page
    Span.objects.filter(run=run).delete()
    start = timezone.now()
    Span.objects.create(
        run=run,
        trace_id="a" * 32,
        span_id="1" * 16,
        name="skill.run",
        start_time=start,
        end_time=start + timedelta(milliseconds=100),
        duration_ms=100,
    )
    Span.objects.create(
        run=run,
        trace_id="a" * 32,
        span_id="2" * 16,
        parent_span_id="1" * 16,
        name="csi.chat",
        start_time=start + timedelta(milliseconds=50),
        end_time=start + timedelta(milliseconds=75),
        duration_ms=25,
        attributes={"gen_ai.request.model": "tiny"},
    )
    page = invoker.get(f"/runs/{run.id}/").content.decode()
    assert '<rect class="span-bar" x="50.0" width="25.0"' in page
    assert "gen_ai.request.model" in page and "csi.chat" in page


def test_failed_stream_run_page_explains_the_error(invoker):
    response = invoker.post(
        "/skills/test/stream/try-stream",
        '{"text": "a b c", "fail_after": 1}',
        content_type="application/json",
    )
    b"".join(response.streaming_content)
    run = Run.objects.get()
    page = invoker.get(f"/runs/{run.id}/").content.decode()
    assert "failed after 1 words" in page and "Streamed message" in page and "a " in page


def test_activity_page_charts(viewer):
    _bulk_runs(30)
    page = viewer.get("/activity/").content.decode()
    assert page.count('<svg class="chart"') == 2
    assert "status-failed" in page and "p95" in page


def test_activity_page_empty_state(viewer):
    page = viewer.get("/activity/").content.decode()
    assert "No finished runs in the last 24 hours" in page
    assert "No runs in the last 24 hours" in page and "<svg" not in page


def test_skill_page_names_the_wit_version_and_what_its_world_offers(viewer):
    page = viewer.get("/skills/test/sink/").content.decode()
    assert "pharia:skill@0.3.11" in page
    assert "message streams" in page and "explain" in page
    assert "structured output" not in page  # a 0.4 feature: not offered to a 0.3 skill
