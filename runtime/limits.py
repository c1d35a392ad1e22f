"""Per-run resource limits: wall-clock time and linear memory."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds of wall-clock time, host calls included
    memory_bytes: int = 512 * 1024 * 1024  # cap per linear memory of the component

    def override(self, timeout: float | None = None, memory_bytes: int | None = None) -> Limits:
        """Apply a skill's own limits where it sets them."""
        return replace(
            self,
            timeout=timeout if timeout else self.timeout,
            memory_bytes=memory_bytes if memory_bytes else self.memory_bytes,
        )
