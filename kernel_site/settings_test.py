"""Settings for the test suite: a private data directory per session, a persistent artifact cache.

pytest-django loads settings before any conftest runs, so the environment is prepared here.
Servers and workers the tests start inherit it. Compiled artifacts are keyed by digest + wasmtime
version + engine settings, so sharing them across sessions (and CI runs) is safe.
"""

import os
import tempfile
from pathlib import Path

_cache = Path(os.environ.get("SKILL_KERNEL_CACHE", Path.home() / ".cache" / "skill-kernel"))
os.environ.setdefault("SKILL_KERNEL_DATA", tempfile.mkdtemp(prefix="skill-kernel-test-"))
os.environ.setdefault("ARTIFACT_ROOT", str(_cache / "test-storage"))
os.environ.setdefault("SKILL_TIMEOUT_SECONDS", "5")
os.environ.setdefault("SKILL_KERNEL_ENV", "development")  # live servers and clusters speak plain HTTP
os.environ.setdefault("SKILL_MEMORY_MB", "128")
# Tests change rows with bulk updates and expect the next request to see them; the resolve cache
# has its own tests (tests/kernel/test_resolve_cache.py).
os.environ.setdefault("SKILL_RESOLVE_CACHE_SECONDS", "0")

from kernel_site.settings import *  # noqa: E402,F403
