"""What a namespace should serve: a namespace file (PhariaEngine's ``namespace.toml``) or a directory.

A namespace file is TOML::

    skills = [{ name = "greet", tag = "v2" }, { name = "summarize" }]   # tag defaults to "latest"
    mcp-servers = ["http://localhost:8000/mcp"]
    native-tools = ["add", "subtract"]

read from a path (``file://`` or plain), an ``http(s)`` URL (with an optional bearer token) or a
Git repository (branch + path). A watched directory lists one skill per ``*.wasm``, named after
the file. Plain Python: no Django here.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

DEFAULT_TAG = "latest"
SKILL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
TAG_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")  # an OCI tag
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
GIT_TIMEOUT_SECONDS = 30


class SourceError(Exception):
    """The namespace's source cannot be read or is invalid; the message says where and why."""


@dataclass(frozen=True)
class SkillEntry:
    name: str
    tag: str = DEFAULT_TAG


@dataclass(frozen=True)
class NamespaceDescription:
    skills: tuple[SkillEntry, ...] = ()
    mcp_servers: tuple[str, ...] = ()
    native_tools: tuple[str, ...] = ()
    lists_tools: bool = False  # the file has mcp-servers or native-tools keys: they follow it
    revision: str = ""  # what was read (sha256 of the file, or the Git commit)
    files: dict[str, Path] = field(default_factory=dict, compare=False)  # directory: name -> file


def parse(text: str, where: str) -> NamespaceDescription:
    """Parse a namespace file; raise SourceError naming ``where`` and the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{where} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"skills", "mcp-servers", "native-tools"})
    if unknown:
        raise SourceError(
            f"{where}: unknown key(s) {', '.join(unknown)} (expected skills, mcp-servers, native-tools)"
        )
    raw_skills = data.get("skills")
    if not isinstance(raw_skills, list):
        raise SourceError(f'{where}: \'skills\' must be a list like [{{ name = "greet", tag = "latest" }}]')
    skills: list[SkillEntry] = []
    for index, raw in enumerate(raw_skills):
        skills.append(_skill_entry(raw, f"{where}: skills[{index}]"))
    names = [skill.name for skill in skills]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SourceError(f"{where}: skill(s) listed twice: {', '.join(duplicates)}")
    mcp_servers = _string_list(data, "mcp-servers", where)
    for url in mcp_servers:
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"{where}: mcp-servers entry {url!r} is not an http(s) URL")
    native_tools = _string_list(data, "native-tools", where)
    return NamespaceDescription(
        skills=tuple(skills),
        mcp_servers=tuple(mcp_servers),
        native_tools=tuple(native_tools),
        lists_tools="mcp-servers" in data or "native-tools" in data,
        revision=hashlib.sha256(text.encode()).hexdigest(),
    )


def _skill_entry(raw: object, where: str) -> SkillEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise SourceError(f'{where} must be a table with a name, like {{ name = "greet" }}')
    if raw.get("type") not in (None, "programmable"):
        raise SourceError(f"{where}: skill type {raw.get('type')!r} is not supported")
    name, tag = raw["name"], raw.get("tag", DEFAULT_TAG)
    if not SKILL_NAME.match(name):
        raise SourceError(f"{where}: {name!r} is not a valid skill name (lowercase letters, digits, - and _)")
    if not isinstance(tag, str) or not TAG_NAME.match(tag):
        raise SourceError(f"{where}: {tag!r} is not a valid tag")
    return SkillEntry(name=name, tag=tag)


def _string_list(data: dict, key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SourceError(f"{where}: '{key}' must be a list of strings")
    return value


def read_path(path: str) -> NamespaceDescription:
    """A namespace file on disk: ``file:///abs``, ``file://relative`` (as PhariaEngine) or a path."""
    local = Path(path[7:] if path.startswith("file://") else path)
    try:
        text = local.read_text()
    except OSError as error:
        raise SourceError(f"cannot read namespace file {local}: {error.strerror or error}") from None
    return parse(text, str(local))


def read_url(url: str, token: str = "") -> NamespaceDescription:
    """A namespace file over http(s), with ``Authorization: Bearer <token>`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url, headers=headers, timeout=HTTP_TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as error:
        raise SourceError(f"cannot fetch namespace file {url}: {error or type(error).__name__}") from None
    if response.status_code in (401, 403):
        raise SourceError(
            f"namespace file {url} answered {response.status_code}: the access token is missing, "
            "invalid or expired"
        )
    if response.status_code != 200:
        raise SourceError(f"namespace file {url} answered HTTP {response.status_code}")
    return parse(response.text, url)


def read_git(
    repository: str, branch: str, path: str, cache_dir: Path, token: str = ""
) -> NamespaceDescription:
    """The file at ``path`` on ``branch`` of a Git repository (URL or local path).

    Fetches only the branch tip (``--depth 1``) into a bare cache repository, then reads the file
    from it: no work tree, nothing but the one file is checked out."""
    cache = cache_dir / hashlib.sha256(repository.encode()).hexdigest()[:16]
    if not (cache / "HEAD").exists():
        cache.mkdir(parents=True, exist_ok=True)
        _git(["init", "--bare", "-q", str(cache)], repository)
    extra = ["-c", f"http.extraHeader=Authorization: Bearer {token}"] if token else []
    _git(
        [
            *extra,
            "-C",
            str(cache),
            "fetch",
            "-q",
            "--depth",
            "1",
            repository,
            f"+refs/heads/{branch}:refs/heads/{branch}",
        ],
        repository,
    )
    commit = _git(["-C", str(cache), "rev-parse", f"refs/heads/{branch}"], repository).strip()
    try:
        text = _git(["-C", str(cache), "show", f"{commit}:{path}"], repository)
    except SourceError:
        raise SourceError(f"{path} does not exist on branch {branch} of {repository}") from None
    description = parse(text, f"{repository}@{branch}:{path}")
    return _with_revision(description, f"git:{commit}")


def _git(args: list[str], repository: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS, env=env
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"git timed out after {GIT_TIMEOUT_SECONDS} s reading {repository}") from None
    except FileNotFoundError:
        raise SourceError("git is not installed on this machine") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise SourceError(f"git could not read {repository}: {reason}")
    return done.stdout


def _with_revision(description: NamespaceDescription, revision: str) -> NamespaceDescription:
    return NamespaceDescription(
        skills=description.skills,
        mcp_servers=description.mcp_servers,
        native_tools=description.native_tools,
        lists_tools=description.lists_tools,
        revision=revision,
    )


def scan_directory(directory: str) -> NamespaceDescription:
    """Every ``*.wasm`` in ``directory`` is a skill named after its file (``greet.wasm`` -> greet).

    Files whose names are not valid skill names, and partial files (``.*``), are skipped."""
    root = Path(directory)
    if not root.is_dir():
        raise SourceError(f"the watched directory {root} does not exist or is not a directory")
    files = {
        path.stem: path
        for path in sorted(root.glob("*.wasm"))
        if path.is_file() and SKILL_NAME.match(path.stem)
    }
    listing = "\n".join(
        f"{name} {path.stat().st_size} {path.stat().st_mtime_ns}" for name, path in files.items()
    )
    return NamespaceDescription(
        skills=tuple(SkillEntry(name) for name in files),
        revision=hashlib.sha256(listing.encode()).hexdigest(),
        files=files,
    )


def mcp_server_name(url: str, taken: set[str]) -> str:
    """A readable unique name for a server the file lists by URL only: its host and path."""
    parts = urlsplit(url)
    base = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname or 'mcp'}-{parts.port or ''}{parts.path}".lower())
    base = base.strip("-")[:56] or "mcp"
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}-{counter}", counter + 1
    return name
