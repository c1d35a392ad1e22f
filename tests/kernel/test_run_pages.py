"""The run pages (issue 15): readable span names, a key/value table of attributes, links, UTC dates."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from catalogue.templatetags.catalogue import attribute_rows, format_attribute, utc
from skills import telemetry
from skills.models import Run, Skill, SkillVersion, Span

WHEN = datetime(2026, 12, 3, 13, 5, 41, 304_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("route", "template"),
    [
        ("v1/skills/<str:namespace>/<str:name>/run", "/v1/skills/{namespace}/{name}/run"),
        ("skills/<str:namespace>/<str:name>/try", "/skills/{namespace}/{name}/try"),
        ("api/v1/runs/<uuid:run_id>", "/api/v1/runs/{run_id}"),
        ("runs/<run_id>/", "/runs/{run_id}/"),
        ("openapi.json", "/openapi.json"),
        ("", "/"),
        ("^admin/(?P<app_label>auth|skills)/$", "/admin/{app_label}/"),
    ],
)
def test_routes_become_semconv_templates(route, template):
    assert telemetry.route_template(route) == template


def test_request_span_is_named_method_and_template():
    class Recorder:
        name, attributes = "POST v1/skills/<str:namespace>/<str:name>/run", {}

        def is_recording(self):
            return True

        def update_name(self, name):
            self.name = name

        def set_attribute(self, key, value):
            self.attributes[key] = value

    span = Recorder()
    request = SimpleNamespace(
        method="POST", resolver_match=SimpleNamespace(route="v1/skills/<str:namespace>/<str:name>/run")
    )
    telemetry.name_request_span(span, request, None)
    assert span.name == "POST /v1/skills/{namespace}/{name}/run"
    assert span.attributes == {"http.route": "/v1/skills/{namespace}/{name}/run"}
    unmatched = Recorder()
    telemetry.name_request_span(unmatched, SimpleNamespace(method="GET", resolver_match=None), None)
    assert unmatched.name.startswith("POST v1/")  # a 404 keeps the instrumentation's name


def test_stored_raw_route_names_read_like_new_ones():
    assert telemetry.readable_span_name("POST v1/skills/<str:namespace>/<str:name>/run") == (
        "POST /v1/skills/{namespace}/{name}/run"
    )
    for name in [
        "skill.execute",
        "chat tiny",
        "execute_tool add",
        "csi chunk",
        "GET /runs/{run_id}/",
        "POST",
    ]:
        assert telemetry.readable_span_name(name) == name


def test_dates_render_as_utc_time_elements_whatever_the_zone():
    assert utc(WHEN) == '<time datetime="2026-12-03T13:05:41.304000Z">2026-12-03 13:05:41 UTC</time>'
    assert ">2026-12-03 13:05:41.304 UTC<" in utc(WHEN, "ms")
    berlin = WHEN.astimezone(ZoneInfo("Europe/Berlin"))
    assert utc(berlin) == utc(WHEN)
    assert utc(None) == "–"


def test_attribute_values_are_formatted_by_type():
    assert format_attribute("n", 12).text == "12" and format_attribute("n", 12).kind == "number"
    assert format_attribute("x", 5.213).text == "5.213"
    assert format_attribute("ok", True).text == "true"
    assert format_attribute("reasons", ["stop", "length"]).text == '["stop", "length"]'
    assert not format_attribute("reasons", ["stop"]).block
    short = format_attribute("skill.name", "sink")
    assert (short.text, short.block, short.kind) == ("sink", False, "text")
    assert format_attribute("agent", "x" * 200).block  # wrapped in a box of its own
    messages = format_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": []}]))
    assert messages.block and messages.kind == "json"
    assert json.loads(messages.text) == [{"role": "user", "parts": []}] and "\n  " in messages.text
    assert format_attribute("brace", "{not json").text == "{not json"
    assert [a.key for a in attribute_rows({"b": 1, "a": 2})] == ["a", "b"]
    assert attribute_rows(None) == []


def _run(kernel, **fields) -> Run:
    skill = Skill.objects.get(name="sink")
    run = Run.objects.create(
        id=uuid.uuid4(),
        skill=skill,
        version=SkillVersion.objects.get(skill=skill),
        input='{"action": "echo"}',
        output='{"result": 1}',
        status=Run.SUCCEEDED,
        duration_ms=12.5,
        caller=kernel["alice"].user,
        trace_id="ab" * 16,
        tag="latest",
        **fields,
    )
    Run.objects.filter(pk=run.pk).update(
        queued_at=WHEN,
        started_at=WHEN + timedelta(milliseconds=2),
        finished_at=WHEN + timedelta(milliseconds=15),
    )
    return run


def _span(run, span_id, name, start_ms, end_ms, parent="", **fields) -> Span:
    return Span.objects.create(
        run=run,
        trace_id=run.trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time=WHEN + timedelta(milliseconds=start_ms),
        end_time=WHEN + timedelta(milliseconds=end_ms),
        duration_ms=end_ms - start_ms,
        **fields,
    )


@pytest.fixture
def viewer(kernel) -> Client:
    client = Client()
    client.force_login(kernel["viewer"].user)
    return client


def test_run_page_shows_readable_span_names_and_an_attribute_table(viewer, kernel):
    run = _run(kernel)
    _span(run, "1" * 16, "POST v1/skills/<str:namespace>/<str:name>/run", 0, 20, kind="server")
    _span(
        run,
        "2" * 16,
        "skill.execute",
        2,
        15,
        parent="1" * 16,
        attributes={"skill.name": "sink", "skill.duration_ms": 12.5, "gen_ai.input.messages": '[{"a": 1}]'},
    )
    _span(run, "3" * 16, "chat tiny", 4, 9, parent="2" * 16, status="error", status_message="model down")
    page = viewer.get(f"/runs/{run.id}/").content.decode()
    assert "POST /v1/skills/{namespace}/{name}/run" in page and "&lt;str:" not in page
    assert page.count('<details class="span-row') == 3
    assert '<details class="span-row failed" open>' in page  # a failed span opens with its error
    assert re.search(
        r'<th scope="row"><code>skill.duration_ms</code></th>\s*<td class="kv-number">12.5</td>', page
    )
    assert '<pre class="kv-block">[\n  {\n    &quot;a&quot;: 1\n  }\n]</pre>' in page
    assert "model down" in page
    assert '<time datetime="2026-12-03T13:05:41.304000Z">2026-12-03 13:05:41.304 UTC</time>' in page
    digest = run.version.digest
    assert f'href="/skills/test/sink/#version-{digest[:12]}"' in page
    assert 'href="/runs/?caller=alice"' in page and 'href="#trace"' in page
    assert ' style="' not in page  # the CSP allows no inline styles


def test_run_history_links_skill_version_caller_and_trace(viewer, kernel):
    run = _run(kernel)
    page = viewer.get("/runs/").content.decode()
    digest = run.version.digest
    assert '<a class="skill-link" href="/skills/test/sink/"><span class="ns">test/</span>sink</a>' in page
    assert f'href="/skills/test/sink/#version-{digest[:12]}" title="{digest}"' in page
    assert 'href="/runs/?caller=alice" title="Runs by alice">alice</a>' in page
    assert f'href="/runs/{run.id}/#trace" title="Trace {run.trace_id}"' in page
    assert '<time datetime="2026-12-03T13:05:41.304000Z">2026-12-03 13:05:41 UTC</time>' in page
    assert 'type="datetime-local"' not in page and 'placeholder="2026-12-03 13:05"' in page
    skill_page = viewer.get("/skills/test/sink/").content.decode()
    assert f'<tr id="version-{digest[:12]}">' in skill_page  # the version links land here
    assert f'href="/runs/{run.id}/#trace"' in skill_page  # the skill page's recent runs, same table


def test_run_history_filters_by_utc_times_typed_as_shown(viewer, kernel):
    _run(kernel)
    assert len(viewer.get("/runs/?since=2026-12-03 13:05").context["runs"]) == 1
    assert viewer.get("/runs/?since=2026-12-03 13:06").context["runs"] == []
    assert len(viewer.get("/runs/?until=2026-12-03T13:06").context["runs"]) == 1  # the ISO "T" works too
