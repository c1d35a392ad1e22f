"""What a run ends as. The kernel stores these fields on the Run row verbatim."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ErrorKind(str, Enum):
    INVALID_INPUT = "invalid_input"  # the skill rejected its input (HTTP 400)
    INTERNAL = "internal"  # the skill returned its internal error (HTTP 400, the skill's message)
    CSI_ERROR = "csi_error"  # a CSI call failed: backend missing, unreachable, bad request
    TRAP = "trap"  # the component trapped (a bug in the skill or its toolchain)
    TIMEOUT = "timeout"  # the wall-clock limit was reached
    MEMORY_EXHAUSTED = "memory_exhausted"  # the memory cap was reached
    OUTPUT_TOO_LARGE = "output_too_large"  # the output, or the stream's items, passed their limit
    # Set by the kernel, never by the runtime:
    WORKER_LOST = "worker_lost"
    CANCELLED = "cancelled"
    UNAVAILABLE = "unavailable"


@dataclass
class RunOutcome:
    """The result of one call into a skill: output bytes, or an error kind with a message."""

    output: bytes | None = None
    error_kind: ErrorKind | None = None
    error_message: str = ""
    duration: float = 0.0
    items: list[dict[str, Any]] = field(default_factory=list)  # message-stream items, in order

    @property
    def succeeded(self) -> bool:
        return self.error_kind is None
