"""Every ``pharia:skill`` WIT version the kernel hosts, one module each, all in one linker.

A component says which version it targets by the interface it exports
(``pharia:skill/skill-handler@X`` or ``pharia:skill/message-stream@X``); :func:`resolve` reads that
and answers the :class:`WorldVersion` or a reason to refuse it. Each version's module converts its
WIT values into the kernel's one internal CSI (``runtime.csi.types``), so the backends stay single.
wasmtime matches imports semver-compatibly, so linking the newest patch of each minor version
(0.3.11) serves every older patch of it (0.3.0 to 0.3.11).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import component as wc

from runtime.worlds import v0_2, v0_3, v0_4, v0_5
from runtime.worlds.common import RunContext, bind, new_rep

SKILL_WORLD = "skill"
STREAM_WORLD = "message-stream-skill"
_EXPORTS = {"skill-handler": SKILL_WORLD, "message-stream": STREAM_WORLD}
_EXPORT_NAME = re.compile(r"^pharia:skill/(?P<interface>[a-z-]+)@(?P<version>\d+\.\d+\.\d+)$")

__all__ = [
    "SKILL_WORLD",
    "STREAM_WORLD",
    "WORLD_VERSIONS",
    "RunContext",
    "UnsupportedWorld",
    "WorldVersion",
    "bind",
    "build_linker",
    "resolve",
]


class UnsupportedWorld(ValueError):
    """The component targets no world, or a version this kernel cannot host; the message says why."""


@dataclass(frozen=True)
class WorldVersion:
    """One minor version of the ``pharia:skill`` package, as this kernel hosts it."""

    minor: int
    latest: str  # the newest patch linked; every older patch of the minor version runs too
    worlds: tuple[str, ...]
    has_metadata: bool  # the ``skill`` world exports ``metadata`` (description and schemas)
    features: tuple[str, ...]  # what a skill of this version can do, for people (README, catalogue)
    stream_output: int | None  # host resource type id of its ``stream-output``
    add_to_linker: Callable[[Any], None]

    @property
    def label(self) -> str:
        return f"0.{self.minor}"


_CORE = ("chunking", "language selection", "document search", "completion", "chat")
_BATCHED = (
    *_CORE,
    "metadata (description, input and output schema)",
    "batched requests",
    "logprobs and token usage",
    "completion and chat streams",
    "tools (invoke-tool, list-tools)",
    "search filters",
    "chunk offsets",
)
_V0_3_FEATURES = (*_BATCHED, "message streams", "explain")
_V0_4_FEATURES = (
    *_BATCHED,
    "message streams with reasoning",
    "chat tool calling (tools, tool-choice, parallel tool calls)",
    "structured output (JSON object, JSON schema)",
    "reasoning (effort, reasoning content and stream events)",
    "max-completion-tokens",
)
WORLD_VERSIONS: tuple[WorldVersion, ...] = (
    WorldVersion(
        2,
        v0_2.VERSION,
        (SKILL_WORLD,),
        False,
        _CORE,
        None,
        v0_2.add_to_linker,
    ),
    WorldVersion(
        3,
        v0_3.VERSION,
        (SKILL_WORLD, STREAM_WORLD),
        True,
        _V0_3_FEATURES,
        v0_3.STREAM_OUTPUT,
        v0_3.add_to_linker,
    ),
    WorldVersion(
        4,
        v0_4.VERSION,
        (SKILL_WORLD, STREAM_WORLD),
        True,
        _V0_4_FEATURES,
        v0_4.RESOURCES.stream_output,
        v0_4.add_to_linker,
    ),
    WorldVersion(
        5,
        v0_5.VERSION,
        (SKILL_WORLD, STREAM_WORLD),
        True,
        _V0_4_FEATURES,
        v0_5.RESOURCES.stream_output,
        v0_5.add_to_linker,
    ),
)
_BY_MINOR = {world.minor: world for world in WORLD_VERSIONS}
OLDEST, NEWEST = WORLD_VERSIONS[0], WORLD_VERSIONS[-1]


def supported_range() -> str:
    return f"pharia:skill@0.{OLDEST.minor}.0 to {NEWEST.latest}"


def _parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def check_version(version: str) -> WorldVersion:
    """The hosted version for ``version`` (e.g. ``0.3.7``), or :class:`UnsupportedWorld`."""
    major, minor, patch = _parse(version)
    newest = _parse(NEWEST.latest)
    world = _BY_MINOR.get(minor) if major == 0 else None
    if world is not None:
        if (major, minor, patch) <= _parse(world.latest):
            return world
        raise UnsupportedWorld(
            f"the component targets pharia:skill@{version}, which this kernel does not support yet "
            f"(it knows up to {world.latest}); upgrade the kernel or build the skill with an older SDK"
        )
    if (major, minor, patch) > newest:
        raise UnsupportedWorld(
            f"the component targets pharia:skill@{version}, which this kernel does not support yet "
            f"(it supports {supported_range()}); upgrade the kernel or build the skill with an older SDK"
        )
    raise UnsupportedWorld(
        f"the component targets pharia:skill@{version}, which is no longer supported "
        f"(this kernel supports {supported_range()}); rebuild the skill with a current SDK"
    )


def resolve(export_names: list[str]) -> tuple[str, str, str, WorldVersion]:
    """(world, wit_version, export name, version) from a component's export names."""
    found = []
    for name in export_names:
        match = _EXPORT_NAME.match(name)
        if match and match["interface"] in _EXPORTS:
            found.append((match["interface"], match["version"], name))
    if not found:
        names = ", ".join(sorted(export_names)) or "nothing"
        raise UnsupportedWorld(
            "the component exports no pharia:skill world (expected pharia:skill/skill-handler or "
            f"pharia:skill/message-stream); it exports {names}"
        )
    interface, version, name = found[0]
    return _EXPORTS[interface], version, name, check_version(version)


def stream_output(world: WorldVersion) -> wc.ResourceHost:
    """A fresh ``stream-output`` handle for one message-stream run of ``world``."""
    assert world.stream_output is not None, f"pharia:skill@{world.label} has no message stream"
    return wc.ResourceHost.own(new_rep(), world.stream_output)


def build_linker(engine: wasmtime.Engine) -> wc.Linker:
    """A linker providing WASI (no files, no network: nothing is preopened) and every world's CSI."""
    linker = wc.Linker(engine)
    linker.add_wasip2()
    with linker.root() as root:
        for world in WORLD_VERSIONS:
            world.add_to_linker(root)
    return linker
