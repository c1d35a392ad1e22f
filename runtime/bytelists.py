"""Copy ``list<u8>`` values (a run's input and output, stream payloads) across in one go.

wasmtime-py converts a ``list<u8>`` element by element in Python: about 2 s of CPU per MiB, with
the GIL held, so one large input or output stalls every run of the process (and an output near
the output limit would take longer than most runs). The C API keeps such a list as an array of
32-byte values; :func:`install` makes ``ListType`` read and write that array with one strided
copy for ``list<u8>`` only. Other lists keep wasmtime-py's code, and so does everything if the
value layout is not the one this was written against (wasmtime 50).
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi
from wasmtime.component import _types

_VAL = ffi.wasmtime_component_val_t
_STRIDE = ctypes.sizeof(_VAL)
_KIND = _VAL.kind.offset
_U8 = _VAL.of.offset + ffi.wasmtime_component_valunion_t.u8.offset
_KIND_U8 = bytes([ffi.WASMTIME_COMPONENT_U8.value])

_original_to_c = _types.ListType.convert_to_c
_original_from_c = _types.ListType.convert_from_c


def _layout_known() -> bool:
    return _STRIDE == 32 and ctypes.sizeof(ffi.wasmtime_component_valkind_t) == 1 and _U8 == 8


def _array(address: int, count: int) -> memoryview:
    return memoryview((ctypes.c_ubyte * (count * _STRIDE)).from_address(address)).cast("B")


def _to_c(self: Any, store: Any, val: Any, ptr: Any) -> None:
    if not self._is_bytes():
        return _original_to_c(self, store, val, ptr)
    if not isinstance(val, bytes):
        raise TypeError("expected bytes value")
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, len(val))
    if val:
        address = ctypes.addressof(raw.data.contents)
        ctypes.memset(address, 0, len(val) * _STRIDE)
        values = _array(address, len(val))
        values[_KIND::_STRIDE] = _KIND_U8 * len(val)
        values[_U8::_STRIDE] = val
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw
    return None


def _from_c(self: Any, c: Any) -> Any:
    if not self._is_bytes():
        return _original_from_c(self, c)
    assert c.kind == ffi.WASMTIME_COMPONENT_LIST.value
    try:
        count = c.of.list.size
        if not count:
            return b""
        return bytes(_array(ctypes.addressof(c.of.list.data.contents), count)[_U8::_STRIDE])
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(c.of.list))


def install() -> bool:
    """Use the fast copy from now on (idempotent); False if wasmtime's layout is not the known one."""
    if not _layout_known():
        return False
    _types.ListType.convert_to_c = _to_c  # type: ignore[method-assign]
    _types.ListType.convert_from_c = _from_c  # type: ignore[method-assign]
    return True
