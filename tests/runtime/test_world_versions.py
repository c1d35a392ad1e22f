"""Which pharia:skill versions the kernel hosts, and the reasons it gives for the others."""

from __future__ import annotations

import pytest

from runtime import worlds


@pytest.mark.parametrize(
    ("export", "world", "minor"),
    [
        ("pharia:skill/skill-handler@0.2.0", "skill", 2),
        ("pharia:skill/skill-handler@0.2.10", "skill", 2),
        ("pharia:skill/skill-handler@0.3.0", "skill", 3),
        ("pharia:skill/message-stream@0.3.6", "message-stream-skill", 3),
        ("pharia:skill/skill-handler@0.4.0", "skill", 4),
        ("pharia:skill/message-stream@0.4.0", "message-stream-skill", 4),
        ("pharia:skill/skill-handler@0.5.0", "skill", 5),
        ("pharia:skill/message-stream@0.5.0", "message-stream-skill", 5),
    ],
)
def test_the_exported_interface_names_world_and_version(export, world, minor):
    found_world, wit_version, name, version = worlds.resolve(["exports", export])
    assert (found_world, name, version.minor) == (world, export, minor)
    assert wit_version == export.rsplit("@", 1)[1]


@pytest.mark.parametrize("version", ["0.2.11", "0.3.12", "0.4.1", "0.5.1", "0.6.0", "1.0.0"])
def test_newer_versions_ask_for_a_kernel_upgrade(version):
    with pytest.raises(worlds.UnsupportedWorld, match="does not support yet.*upgrade the kernel"):
        worlds.resolve([f"pharia:skill/skill-handler@{version}"])


def test_0_1_is_no_longer_supported():
    with pytest.raises(worlds.UnsupportedWorld, match="no longer supported.*0.2.0 to 0.5.0"):
        worlds.resolve(["pharia:skill/skill-handler@0.1.4"])


def test_a_component_without_a_pharia_world_is_refused_with_its_exports():
    with pytest.raises(worlds.UnsupportedWorld, match="exports no pharia:skill world.*wasi:cli/run@0.2.0"):
        worlds.resolve(["wasi:cli/run@0.2.0"])


def test_features_grow_with_the_version():
    by_minor = {world.minor: world for world in worlds.WORLD_VERSIONS}
    assert not by_minor[2].has_metadata and by_minor[2].worlds == ("skill",)
    assert "explain" in by_minor[3].features and "explain" not in by_minor[4].features
    assert any("tool calling" in feature for feature in by_minor[4].features)
    assert by_minor[5].features == by_minor[4].features
    assert len({world.stream_output for world in worlds.WORLD_VERSIONS if world.stream_output}) == 3
