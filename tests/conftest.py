"""Shared fixtures: test skills built from source with the official SDK, users, a registry.

Built components and compiled artifacts are cached by content hash under
``~/.cache/skill-kernel`` (override with SKILL_KERNEL_CACHE), so only changed sources rebuild.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("SKILL_KERNEL_CACHE", Path.home() / ".cache" / "skill-kernel"))
SKILL_SOURCES = Path(__file__).parent / "skills"
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
