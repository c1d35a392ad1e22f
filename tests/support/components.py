"""Component bytes for deployment tests."""

from __future__ import annotations

import uuid


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def fresh_copy(wasm: bytes, label: str = "") -> bytes:
    """The same component with a custom section appended: new bytes (a new digest, so never
    compiled before, like a freshly built skill) that behave exactly like the original."""
    name = b"skill-kernel-test"
    payload = _leb128(len(name)) + name + f"{label}{uuid.uuid4()}".encode()
    return wasm + b"\x00" + _leb128(len(payload)) + payload
