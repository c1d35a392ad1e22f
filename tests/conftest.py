"""Shared fixtures: test skills built from source with the official SDK, users, a registry.

Built components and compiled artifacts are cached by content hash under
``~/.cache/skill-kernel`` (override with SKILL_KERNEL_CACHE), so only changed sources rebuild.
Which toolchain builds which source is described in ``skills/builder.py``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("SKILL_KERNEL_CACHE", Path.home() / ".cache" / "skill-kernel"))
SKILL_SOURCES = Path(__file__).parent / "skills"
# One directory per toolchain/world; see skills/builder.py for the rules.
WORLD_DIRS = ("wit_0_2", "sdk_main", "wit_0_5")
# The test environment (data directory, artifact cache, limits) is set in kernel_site.settings_test.


@pytest.fixture(scope="session")
def skill_wasm() -> dict[str, Path]:
    """name -> built component path, for every source under tests/skills."""
    from skills import builder

    return {source.stem: builder.build(source) for source in sorted(SKILL_SOURCES.glob("*.py"))}


@pytest.fixture(scope="session")
def example_wasm() -> dict[str, Path]:
    from skills import builder

    examples = Path(__file__).parent.parent / "examples"
    return {source.stem: builder.build(source) for source in sorted(examples.glob("*/*.py"))}


@pytest.fixture(scope="session")
def world_wasm(request) -> dict[str, Path]:
    """``"<dir>/<module>"`` -> built component, for every guest of every world the kernel hosts:

    * ``wit_0_2/*`` raw guests of ``pharia:skill@0.2``
    * ``sdk_0_20/*`` the ``tests/skills/*.py`` sources (pharia-skill 0.20.0, ``pharia:skill@0.3``)
    * ``sdk_main/*`` the current SDK (``pharia:skill@0.4.0``)
    * ``wit_0_5/*`` raw guests of ``pharia:skill@0.5`` (feature ``alpha``)
    """
    from skills import builder

    sources = {f"sdk_0_20/{source.stem}": source for source in sorted(SKILL_SOURCES.glob("*.py"))}
    for directory in WORLD_DIRS:
        for source in sorted((SKILL_SOURCES / directory).glob("*.py")):
            sources[f"{directory}/{source.stem}"] = source
    capture = request.config.pluginmanager.getplugin("capturemanager")
    disabled = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    built: dict[str, Path] = {}
    with disabled:
        for name, source in sources.items():
            cached = builder.target_path(source).exists()
            built[name] = builder.build(source)
            print(f"world_wasm: {name} -> {built[name].name} ({'cached' if cached else 'built'})", flush=True)
    return built
