"""Component bytes for deployment tests and benchmarks."""

from __future__ import annotations

import uuid


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def custom_section(name: bytes, payload: bytes) -> bytes:
    """A WebAssembly custom section: appended to a component, it changes the bytes (and the
    digest) but not the behaviour."""
    body = _leb128(len(name)) + name + payload
    return b"\x00" + _leb128(len(body)) + body


def fresh_copy(wasm: bytes, label: str = "") -> bytes:
    """The same component with a unique custom section appended: new bytes, never compiled before,
    like a freshly built skill."""
    return wasm + custom_section(b"skill-kernel-test", f"{label}{uuid.uuid4()}".encode())
