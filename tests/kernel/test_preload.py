"""At start, a kernel process loads the tagged versions and makes their spare instances."""

from __future__ import annotations

import time

from skills.models import Skill
from skills.services import execution, warmup


def _cached(version) -> bool:
    return version.artifact in execution.component_cache()._entries


def test_tagged_versions_are_loaded_and_given_spares_at_start(kernel):
    execution.component_cache().clear()
    versions = warmup.tagged_versions()
    assert {version.skill.name for version in versions} == {"sink", "stream"}
    assert not any(_cached(version) for version in versions)

    assert warmup.preload_tagged() == 2
    assert all(_cached(version) for version in versions)
    sink = execution.load(next(version for version in versions if version.skill.name == "sink"))
    deadline = time.monotonic() + 10
    while len(sink.spares) < execution.runtime().preparer.per_skill:
        assert time.monotonic() < deadline, "no spare instances were made"
        time.sleep(0.01)


def test_inactive_skills_and_what_the_cache_cannot_hold_are_not_preloaded(kernel, settings):
    Skill.objects.filter(name="stream").update(is_active=False)
    assert [version.skill.name for version in warmup.tagged_versions()] == ["sink"]
    cache = execution.component_cache()
    bound = cache.max_bytes
    cache.max_bytes = 1000  # smaller than any artifact
    try:
        assert warmup.tagged_versions() == []
    finally:
        cache.max_bytes = bound


def test_preloading_stops_at_its_time_budget_and_goes_on_in_the_background(kernel, settings):
    settings.SKILL_PRELOAD_SECONDS = 0
    execution.component_cache().clear()
    assert warmup.preload_tagged() == 1  # one before the deadline is checked again
    deadline = time.monotonic() + 20
    while not all(_cached(version) for version in warmup.tagged_versions()):
        assert time.monotonic() < deadline, "the rest was not loaded in the background"
        time.sleep(0.05)
