"""Per-run resource limits: wall-clock time, linear memory, and how much a run may hand back."""

from __future__ import annotations

from dataclasses import dataclass, replace

# wasmtime copies at most 128 MiB of lifted values out of a skill per call (its "hostcall fuel",
# not settable through wasmtime-py), and each byte of a ``list<u8>`` costs 48 of it (measured,
# wasmtime 50): a skill's output, or a stream item's payload, cannot pass ~2.67 MiB, whatever the
# limit says.
WASMTIME_MAX_LIST_BYTES = (128 * 1024 * 1024) // 48


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # seconds of wall-clock time, host calls included
    memory_bytes: int = 512 * 1024 * 1024  # cap per linear memory of the component
    max_output_bytes: int = 2 * 1024 * 1024  # the output of a ``skill`` run; 0: no limit but wasmtime's
    max_stream_items: int = 100_000  # items a message-stream run may write; 0: no limit
    max_stream_bytes: int = 16 * 1024 * 1024  # their size as stored (JSON); 0: no limit

    def override(self, timeout: float | None = None, memory_bytes: int | None = None) -> Limits:
        """Apply a skill's own limits where it sets them."""
        return replace(
            self,
            timeout=timeout if timeout else self.timeout,
            memory_bytes=memory_bytes if memory_bytes else self.memory_bytes,
        )


class OutputTooLarge(Exception):
    """A run handed back more than its limits allow; the message names the limit.

    Raised by the host while the skill writes (a stream item) or returns (its output); the runtime
    ends the run with ``ErrorKind.OUTPUT_TOO_LARGE``.
    """
