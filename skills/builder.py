"""Build skill sources into WebAssembly components, cached by content hash.

A built component is ~40-50 MB and takes ~15 s to build, so builds are cached outside the
repository (``SKILL_KERNEL_CACHE``, default ``~/.cache/skill-kernel``): a second build of unchanged
source is a file lookup. Builds are atomic (a unique partial file, then a rename) and serialised per
target with a file lock, so concurrent test processes never see half a file or build twice.

Toolchains
----------
Each toolchain lives in its own venv under the cache (the SDKs pin a pydantic the kernel must not
inherit) and is installed on first use:

``sdk-0.20.0``
    ``pharia-skill==0.20.0`` from PyPI (``PHARIA_SKILL_SDK_VERSION`` overrides the version). Builds
    ``pharia:skill@0.3.x`` components.
``sdk-main-e5b293f``
    The SDK at commit e5b293f, installed from the upstream tarball
    ``pharia-kernel-sdk-py-e5b293f.tar.gz``. Builds ``pharia:skill@0.4.0`` components.
``componentize-py-0.17.2``
    Plain ``componentize-py`` (the version the SDK resolves to), for *raw guests* written with the
    standard library only against PhariaEngine's WIT (``wit/skill@0.X`` taken from the upstream
    tarball ``pharia-engine-329c933-reference.tar.gz``).

The upstream tarballs are looked up in ``SKILL_KERNEL_UPSTREAM`` (a directory), default
``<repo>/../shared/upstream``.

Which toolchain builds a source is decided by the name of the directory the source sits in:

* ``.../sdk_main/<module>.py``  -> ``sdk-main-e5b293f``
* ``.../wit_0_<minor>/<module>.py`` -> ``componentize-py`` against ``wit/skill@0.<minor>``
  (e.g. ``wit_0_2`` -> ``skill@0.2``, ``wit_0_5`` -> ``skill@0.5``)
* anything else (``tests/skills/*.py``, ``examples/*/*.py``) -> ``sdk-0.20.0``

Which world a source targets:

* SDK sources: ``message-stream-skill`` if the source contains ``@message_stream``, else ``skill``
  (as the SDK's ``--skill-type``).
* raw guests: a header line ``# world: <name>`` in the first 20 lines (default ``skill``). Raw guests
  are built with ``--all-features`` (0.5's worlds are ``@unstable(feature = alpha)``; it is a no-op
  for the stable worlds). The module imports its bindings from ``wit_world`` (componentize-py's
  default world module) and defines the exported interface class, e.g. ``class SkillHandler``.

The cache key is the sha256 of the toolchain name, the world, the source bytes and (for raw guests)
the bytes of every WIT file of the world's directory; for ``sdk-0.20.0`` it stays the original key
(source bytes + SDK version) so existing caches remain valid. Built components are named
``skills/<dir>-<module>-<key>.wasm`` (``<module>-<key>.wasm`` for ``sdk-0.20.0``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STREAM_MARKER = "@message_stream"
REPO = Path(__file__).resolve().parent.parent

SDK_VERSION = os.environ.get("PHARIA_SKILL_SDK_VERSION", "0.20.0")
SDK_MAIN_COMMIT = "e5b293f"
SDK_MAIN_TARBALL = f"pharia-kernel-sdk-py-{SDK_MAIN_COMMIT}.tar.gz"
ENGINE_TARBALL = "pharia-engine-329c933-reference.tar.gz"
# The version pharia-skill (0.20.0 and main) resolves `componentize-py>=0.17.0,<0.18` to.
COMPONENTIZE_PY_VERSION = "0.17.2"

SDK_MAIN_DIR = "sdk_main"
RAW_DIR = re.compile(r"^wit_0_(\d+)$")
WORLD_HEADER = re.compile(r"^#\s*world:\s*([a-z][a-z0-9-]*)\s*$")


def cache_root() -> Path:
    root = Path(os.environ.get("SKILL_KERNEL_CACHE", Path.home() / ".cache" / "skill-kernel"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def upstream_dir() -> Path:
    override = os.environ.get("SKILL_KERNEL_UPSTREAM")
    return Path(override) if override else REPO.parent / "shared" / "upstream"


def _upstream(name: str) -> Path:
    path = upstream_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (set SKILL_KERNEL_UPSTREAM to the directory holding it)")
    return path


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive inter-process lock, held while a toolchain installs or a target builds."""
    locks = cache_root() / "locks"
    locks.mkdir(exist_ok=True)
    with open(locks / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- toolchains ---------------------------------------------------------------------------------


def _venv(name: str, requirements: list[str], executable: str) -> Path:
    """A venv ``cache/<name>`` with ``requirements`` installed; returns its bin directory."""
    venv = cache_root() / name
    bin_dir = venv / "bin"
    stamp = venv / ".installed"
    # pip installs the requested package after its dependencies, so its executable marks a finished
    # install too (venvs made before the stamp existed have only that).
    if stamp.exists() or (bin_dir / executable).exists():
        return bin_dir
    with _locked(f"venv-{name}"):
        if stamp.exists() or (bin_dir / executable).exists():
            return bin_dir
        if venv.exists():  # a half-finished install: start again
            shutil.rmtree(venv)
        print(f"[skill-kernel builder] installing toolchain {name} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", *requirements], check=True)
        if not (bin_dir / executable).exists():
            raise RuntimeError(f"toolchain {name}: {executable} missing after install")
        stamp.write_text(" ".join(requirements) + "\n")
    return bin_dir


def sdk_bin(toolchain: str | None = None) -> Path:
    """The bin directory of an SDK toolchain (default: ``sdk-<SDK_VERSION>``)."""
    toolchain = toolchain or f"sdk-{SDK_VERSION}"
    if toolchain == f"sdk-main-{SDK_MAIN_COMMIT}":
        return _venv(toolchain, [str(_upstream(SDK_MAIN_TARBALL))], "pharia-skill")
    if toolchain.startswith("sdk-"):
        return _venv(toolchain, [f"pharia-skill=={toolchain.removeprefix('sdk-')}"], "pharia-skill")
    raise ValueError(f"not an SDK toolchain: {toolchain}")


def sdk_python(toolchain: str | None = None) -> Path:
    """The SDK lives in its own venv: it pins pydantic, which the kernel must not inherit."""
    return sdk_bin(toolchain) / "python"


def sdk_version() -> str:
    return SDK_VERSION


def componentize_py_bin() -> Path:
    name = f"componentize-py-{COMPONENTIZE_PY_VERSION}"
    return _venv(name, [f"componentize-py=={COMPONENTIZE_PY_VERSION}"], "componentize-py")


def wit_dir(minor: int) -> Path:
    """PhariaEngine's ``wit/skill@0.<minor>``, extracted once from the upstream tarball."""
    tarball = _upstream(ENGINE_TARBALL)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()[:16]
    root = cache_root() / "wit" / digest
    if not root.exists():
        with _locked(f"wit-{digest}"):
            if not root.exists():
                root.parent.mkdir(parents=True, exist_ok=True)
                partial = Path(tempfile.mkdtemp(prefix=".wit-", dir=root.parent))
                with tarfile.open(tarball) as archive:
                    for member in archive.getmembers():
                        parts = Path(member.name).parts
                        if "wit" not in parts or not member.isfile():
                            continue
                        relative = Path(*parts[parts.index("wit") + 1 :])
                        if not relative.parts or ".." in relative.parts:
                            continue
                        target = partial / relative
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with archive.extractfile(member) as source:  # type: ignore[union-attr]
                            target.write_bytes(source.read())
                partial.rename(root)
    path = root / f"skill@0.{minor}"
    if not path.is_dir():
        raise FileNotFoundError(f"{ENGINE_TARBALL} has no wit/skill@0.{minor}")
    return path


# -- sources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    source: Path
    toolchain: str  # sdk-0.20.0 | sdk-main-e5b293f | componentize-py-0.17.2
    world: str  # skill | message-stream-skill
    wit_minor: int | None = None  # raw guests only

    @property
    def raw(self) -> bool:
        return self.wit_minor is not None


def _declared_world(source: Path) -> str:
    for line in source.read_text().splitlines()[:20]:
        if match := WORLD_HEADER.match(line.strip()):
            return match.group(1)
    return "skill"


def skill_type(source: Path) -> str:
    return "message-stream-skill" if STREAM_MARKER in source.read_text() else "skill"


def plan(source: Path) -> Plan:
    source = source.resolve()
    directory = source.parent.name
    if match := RAW_DIR.match(directory):
        return Plan(
            source, f"componentize-py-{COMPONENTIZE_PY_VERSION}", _declared_world(source), int(match.group(1))
        )
    if directory == SDK_MAIN_DIR:
        return Plan(source, f"sdk-main-{SDK_MAIN_COMMIT}", skill_type(source))
    return Plan(source, f"sdk-{SDK_VERSION}", skill_type(source))


def _wit_digest(directory: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.wit")):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def source_key(source: Path) -> str:
    p = plan(source)
    if p.toolchain == f"sdk-{SDK_VERSION}":  # the original key: keeps existing caches valid
        digest = hashlib.sha256(p.source.read_bytes())
        digest.update(sdk_version().encode())
        return digest.hexdigest()[:16]
    digest = hashlib.sha256()
    for part in (p.toolchain.encode(), p.world.encode(), p.source.read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    if p.raw:
        digest.update(_wit_digest(wit_dir(p.wit_minor)))  # type: ignore[arg-type]
    return digest.hexdigest()[:16]


def target_path(source: Path) -> Path:
    p = plan(source)
    stem = p.source.stem if p.toolchain == f"sdk-{SDK_VERSION}" else f"{p.source.parent.name}-{p.source.stem}"
    return cache_root() / "skills" / f"{stem}-{source_key(source)}.wasm"


# -- building -----------------------------------------------------------------------------------


def _command(p: Plan, workdir: Path) -> tuple[list[str], Path]:
    module = p.source.stem
    if p.raw:
        binary = componentize_py_bin()
        command = [
            str(binary / "componentize-py"),
            "-d",
            str(wit_dir(p.wit_minor)),  # type: ignore[arg-type]
            "-w",
            p.world,
            "--all-features",
            "componentize",
            module,
            "-p",
            str(workdir),
            "-o",
            f"{module}.wasm",
        ]
    else:
        binary = sdk_bin(p.toolchain)
        command = [str(binary / "pharia-skill"), "build", module, "--no-interactive", "--skill-type", p.world]
    return command, binary


def build(source: Path) -> Path:
    """Return the path of the built component for ``source``, building it on a cache miss."""
    p = plan(source)
    target = target_path(p.source)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(f"build-{target.stem}"):
        if target.exists():
            return target
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="skill-build-") as tmp:
            workdir = Path(tmp)
            shutil.copy(p.source, workdir / p.source.name)
            command, binary = _command(p, workdir)
            env = {**os.environ, "PATH": f"{binary}{os.pathsep}{os.environ.get('PATH', '')}"}
            completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=env)
            built = workdir / f"{p.source.stem}.wasm"
            if completed.returncode != 0 or not built.exists():
                raise RuntimeError(
                    f"building {p.source} with {p.toolchain} ({p.world}) failed:\n"
                    f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
                )
            handle, partial = tempfile.mkstemp(
                prefix=f".{target.stem}-", suffix=".partial", dir=target.parent
            )
            os.close(handle)
            shutil.move(str(built), partial)
            os.replace(partial, target)
        shown = p.source.relative_to(REPO) if p.source.is_relative_to(REPO) else p.source
        print(
            f"[skill-kernel builder] built {shown}"
            f" with {p.toolchain} ({p.world}) in {time.monotonic() - started:.1f} s -> {target.name}",
            file=sys.stderr,
            flush=True,
        )
    return target


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(build(Path(argument)))
