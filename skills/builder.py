"""Build skill sources into components with the official SDK, cached by content hash.

A built component is ~48 MB and takes ~15 s to build, so builds are cached outside the
repository (``SKILL_KERNEL_CACHE``, default ``~/.cache/skill-kernel``) keyed by the sha256 of
the source file and the SDK version: a second build of unchanged source is a file lookup.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STREAM_MARKER = "@message_stream"


def cache_root() -> Path:
    root = Path(os.environ.get("SKILL_KERNEL_CACHE", Path.home() / ".cache" / "skill-kernel"))
    root.mkdir(parents=True, exist_ok=True)
    return root


SDK_VERSION = os.environ.get("PHARIA_SKILL_SDK_VERSION", "0.20.0")


def sdk_version() -> str:
    return SDK_VERSION


def sdk_python() -> Path:
    """The SDK lives in its own venv: it pins pydantic, which the kernel must not inherit."""
    venv = cache_root() / f"sdk-{SDK_VERSION}"
    python = venv / "bin" / "python"
    if not (venv / "bin" / "pharia-skill").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"pharia-skill=={SDK_VERSION}"], check=True
        )
    return python


def skill_type(source: Path) -> str:
    return "message-stream-skill" if STREAM_MARKER in source.read_text() else "skill"


def source_key(source: Path) -> str:
    digest = hashlib.sha256(source.read_bytes())
    digest.update(sdk_version().encode())
    return digest.hexdigest()[:16]


def build(source: Path) -> Path:
    """Return the path of the built component for ``source``, building it on a cache miss."""
    source = source.resolve()
    target = cache_root() / "skills" / f"{source.stem}-{source_key(source)}.wasm"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skill-build-") as workdir:
        shutil.copy(source, Path(workdir) / source.name)
        command = [
            str(sdk_python().with_name("pharia-skill")),
            "build",
            source.stem,
            "--no-interactive",
            "--skill-type",
            skill_type(source),
        ]
        sdk_bin = str(sdk_python().parent)
        env = {**os.environ, "PATH": f"{sdk_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env)
        built = Path(workdir) / f"{source.stem}.wasm"
        if completed.returncode != 0 or not built.exists():
            raise RuntimeError(
                f"building {source.name} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
            )
        partial = target.with_suffix(".partial")
        shutil.move(str(built), partial)
        partial.rename(target)
    return target


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(build(Path(argument)))
