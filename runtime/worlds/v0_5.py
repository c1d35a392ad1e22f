"""Host bindings of ``pharia:skill@0.5.0``: the interfaces of 0.4.0 under a new package version.

PhariaEngine's 0.5 worlds ``skill`` and ``message-stream-skill`` are ``@unstable(feature = alpha)``
(guests build with ``--all-features``); their interfaces, and so what a 0.5 skill can do, are
identical to 0.4's. The version exists so that the next breaking change has a home.
"""

from __future__ import annotations

from typing import Any

from runtime.worlds import v0_4

VERSION = "0.5.0"
RESOURCES = v0_4.ResourceIds(500)


def add_to_linker(root: Any) -> None:
    v0_4.add_to_linker(root, VERSION, RESOURCES)
