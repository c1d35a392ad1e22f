"""Registering versions: compile once, idempotent, clear rejections, tags, the command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from skills.models import Skill, SkillVersion, Tag
from skills.services import registry
from skills.services.errors import Conflict, InvalidInput


def test_registered_version_is_ready_with_metadata(kernel):
    version = SkillVersion.objects.get(skill__name="sink")
    assert version.status == "ready" and version.world == "skill" and version.wit_version == "0.3.11"
    assert version.input_schema["required"] == ["action"]
    assert version.artifact.endswith(".cwasm") and version.artifact_size > version.size / 2
    assert Tag.objects.get(skill__name="sink", name="latest").version == version


def test_same_bytes_twice_is_idempotent(kernel, skill_wasm):
    again = registry.register_version("test", "sink", skill_wasm["kitchen_sink"].read_bytes())
    assert again.created is False
    assert SkillVersion.objects.filter(skill__name="sink").count() == 1


@pytest.mark.parametrize(
    ("wasm", "reason"),
    [
        (b"", "empty"),
        (b"MZ\x90\x00 an exe", "not WebAssembly"),
        (b"\0asm\x01\0\0\0", "not a WebAssembly component"),
        (b"\0asm\x0d\0\x01\0", "exports no pharia:skill world"),
    ],
)
def test_bad_uploads_are_rejected_with_a_reason(transactional_db, wasm, reason):
    try:
        result = registry.register_version("test", "bad", wasm)
    except InvalidInput as error:
        assert reason in error.message
    else:
        assert result.version.status == "failed"
        assert reason in result.version.failure_reason
        assert not Tag.objects.filter(skill__name="bad").exists()


def test_move_tag_back_to_an_older_version(kernel, skill_wasm):
    sink = Skill.objects.get(name="sink")
    old = SkillVersion.objects.get(skill=sink)
    new = registry.register_version("test", "sink", skill_wasm["stream_skill"].read_bytes()).version
    assert Tag.objects.get(skill=sink, name="latest").version == new
    registry.move_tag(sink, "latest", old)
    assert Tag.objects.get(skill=sink, name="latest").version == old


def test_only_ready_versions_can_be_tagged(kernel):
    failed = registry.register_version("test", "sink", b"\0asm\x01\0\0\0", tag=None).version
    with pytest.raises(Conflict):
        registry.move_tag(failed.skill, "latest", failed)


def test_register_skill_command(transactional_db, skill_wasm, capsys):
    call_command("register_skill", "cli", "echo", str(skill_wasm["kitchen_sink"]), "--tag", "stable")
    assert "cli/echo:stable -> sha256:" in capsys.readouterr().out
    assert Tag.objects.get(skill__name="echo").name == "stable"


def test_register_skill_command_reports_a_bad_file(transactional_db, tmp_path):
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0")
    with pytest.raises(CommandError, match="not a WebAssembly component"):
        call_command("register_skill", "cli", "bad", str(bad))


@pytest.mark.parametrize("namespace, name", [("../evil", "x"), ("ok", "../evil"), ("Upper", "x"), ("", "x")])
def test_names_that_are_not_slugs_are_refused(db, skill_wasm, namespace, name):
    with pytest.raises(InvalidInput, match="is not a valid"):
        registry.register_version(namespace, name, skill_wasm["kitchen_sink"].read_bytes())


def tiny_0_2_component() -> bytes:
    """A ``pharia:skill@0.2`` component (no metadata export) that compiles in milliseconds."""
    import uuid

    import wasmtime

    return bytes(
        wasmtime.wat2wasm(
            f"""(component
              (core module $m (func (export "f") (result i32) i32.const 1) (@custom "id" "{uuid.uuid4()}"))
              (core instance $i (instantiate $m))
              (func $run (result u32) (canon lift (core func $i "f")))
              (instance $h (export "run" (func $run)))
              (export "pharia:skill/skill-handler@0.2.10" (instance $h)))"""
        )
    )


def test_a_fast_registration_is_optimised_when_a_kernel_process_starts(transactional_db):
    from skills.services import execution, warmup

    runtime = execution.runtime()
    if not runtime.fast_tier_available:
        pytest.skip("no Winch on this host")
    version = registry.register_version("ns", "tiny", tiny_0_2_component(), fast=True).version
    assert version.status == "ready" and version.artifact_key == runtime.fast_artifact_key
    registry._optimiser().submit(lambda: None).result(timeout=60)
    version.refresh_from_db()
    assert version.artifact_key == runtime.fast_artifact_key  # the command leaves it for the kernel

    warmup.warm_worker_process()  # what a starting kernel process does
    registry._optimiser().submit(lambda: None).result(timeout=60)
    version.refresh_from_db()
    assert version.artifact_key == runtime.artifact_key
    assert registry.optimise_pending() == 0
