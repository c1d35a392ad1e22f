"""A compiled artifact is native code: it is only deserialized when it matches the checksum
recorded when it was compiled; a tampered one is rebuilt from the (checked) component."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from skills.models import Run, SkillVersion
from skills.services import artifacts, execution, registry


@pytest.fixture
def private_storage(settings, tmp_path, skill_wasm):
    """Artifact storage of this test only, seeded with the shared cache's artifacts of the test
    skills (so nothing recompiles until the test tampers with it). Listed before ``alice``, whose
    ``kernel`` fixture registers the test skills."""
    shared = Path(django_settings.STORAGES["default"]["OPTIONS"]["location"])
    root = tmp_path / "storage"
    for name in ("kitchen_sink", "stream_skill"):
        digest = artifacts.sha256(skill_wasm[name].read_bytes())
        cached = shared / artifacts.path_for(digest, execution.runtime().artifact_key)
        if cached.exists():
            (root / cached.relative_to(shared)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(cached, root / cached.relative_to(shared))
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    execution.component_cache().clear()
    yield root
    execution.component_cache().clear()


def sink_version() -> SkillVersion:
    version = SkillVersion.objects.get(skill__name="sink")
    assert version.status == "ready", version.failure_reason
    return version


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_tampered_artifact_is_rebuilt_from_the_component_before_it_runs(private_storage, alice, skill_wasm):
    root = private_storage
    version = sink_version()
    assert version.artifact_sha256 == artifacts.sha256((root / version.artifact).read_bytes())
    flip_a_byte(root / version.artifact)
    execution.component_cache().clear()

    response = alice.run("test/sink", {"action": "echo", "payload": 1})
    assert response.status_code == 200, response.content
    assert response.json() == {"action": "echo", "result": 1}
    version.refresh_from_db()
    assert artifacts.sha256((root / version.artifact).read_bytes()) == version.artifact_sha256


def test_a_tampered_artifact_and_component_fail_the_run_clearly(private_storage, alice, skill_wasm):
    root = private_storage
    version = sink_version()
    flip_a_byte(root / version.artifact)
    flip_a_byte(root / version.component)
    execution.component_cache().clear()

    response = alice.run("test/sink", {"action": "echo", "payload": 1})
    assert response.status_code >= 500
    run = Run.objects.get(version=version)
    assert run.status == "failed"
    assert "does not match its digest" in run.error_message and "storage was modified" in run.error_message

    registry.register_version("test", "sink", skill_wasm["kitchen_sink"].read_bytes())  # repairs it
    assert artifacts.sha256((root / version.component).read_bytes()) == version.digest


def test_an_artifact_without_a_recorded_checksum_is_recorded_on_first_load(
    private_storage, alice, skill_wasm
):
    root = private_storage
    version = sink_version()
    SkillVersion.objects.filter(pk=version.pk).update(artifact_sha256="")  # stored before checksums
    execution.component_cache().clear()
    assert alice.run("test/sink", {"action": "echo", "payload": 1}).status_code == 200
    version.refresh_from_db()
    assert version.artifact_sha256 == artifacts.sha256((root / version.artifact).read_bytes())
