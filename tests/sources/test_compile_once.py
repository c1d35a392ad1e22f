"""The same bytes are compiled once, however many skills register them at the same time."""

from __future__ import annotations

import threading

from skills.models import SkillVersion
from skills.services import execution, registry
from tests.support.components import fresh_copy


def test_concurrent_registrations_of_the_same_bytes_compile_once(settled_db, skill_wasm, monkeypatch):
    wasm = fresh_copy(skill_wasm["kitchen_sink"].read_bytes(), "compile-once")
    versions = [
        registry.register_version(namespace, "same", wasm, compile_now=False).version
        for namespace in ("team-a", "team-b", "team-c")
    ]
    runtime = execution.runtime()
    compiles: list[bool] = []
    original = runtime.compile

    def counting(data, **options):
        compiles.append(options.get("fast", False))
        return original(data, **options)

    monkeypatch.setattr(runtime, "compile", counting)
    threads = [
        threading.Thread(target=registry.compile_version, args=(version.pk,), kwargs={"fast": True})
        for version in versions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    registry._optimiser().submit(lambda: None).result(timeout=300)  # and the Cranelift swaps

    # one baseline compile, then one optimised compile (just one, on a host without Winch)
    assert compiles == ([True, False] if runtime.fast_tier_available else [True])
    stored = SkillVersion.objects.filter(pk__in=[v.pk for v in versions])
    assert {v.status for v in stored} == {"ready"}
    assert {v.artifact_key for v in stored} == {runtime.artifact_key}
    assert len({v.artifact for v in stored}) == 1
