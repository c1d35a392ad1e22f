"""Which version a tag names is kept for SKILL_RESOLVE_CACHE_SECONDS, and forgotten on a change."""

from __future__ import annotations

import time

import pytest

from skills.models import Skill, SkillVersion
from skills.services import registry


@pytest.fixture
def cached(settings):
    settings.SKILL_RESOLVE_CACHE_SECONDS = 0.5
    registry.forget_resolved()
    yield
    registry.forget_resolved()


def _version_of(name: str) -> SkillVersion:
    return registry.find_tagged("test", name)[2]


def test_a_tag_moved_in_this_process_is_seen_at_once(kernel, cached, skill_wasm):
    before = _version_of("sink")
    other = registry.register_version("test", "sink", skill_wasm["stream_skill"].read_bytes()).version
    assert _version_of("sink").pk == other.pk != before.pk
    registry.move_tag(Skill.objects.get(name="sink"), registry.DEFAULT_TAG, before)
    assert _version_of("sink").pk == before.pk
    response = kernel["alice"].run("test/sink", {"action": "echo", "payload": 1})
    assert response.status_code == 200, response.content


def test_a_bulk_change_is_seen_within_the_cache_time(kernel, cached):
    assert registry.find_tagged("test", "sink") is not None
    Skill.objects.filter(name="sink").update(is_active=False)  # no signal: another process's change
    assert registry.find_tagged("test", "sink") is not None  # still answered from memory
    time.sleep(0.6)
    assert registry.find_tagged("test", "sink") is None
    assert kernel["alice"].run("test/sink", {"action": "echo"}).status_code == 404


def test_the_cache_never_skips_the_access_check(kernel, cached):
    assert kernel["alice"].run("test/sink", {"action": "echo"}).status_code == 200
    assert kernel["stranger"].run("test/sink", {"action": "echo"}).status_code == 404
    assert kernel["viewer"].run("test/sink", {"action": "echo"}).status_code == 403
