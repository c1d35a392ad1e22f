"""Loading sqlite-vec into Django's SQLite connections.

CPython builds without ``--enable-loadable-sqlite-extensions`` (pyenv's default, as on this project's
machines) have no ``Connection.enable_load_extension``; the SQLite library they link still loads
extensions, so then the C API is called through ctypes on the connection's ``sqlite3*`` handle (the
first field after the object header of CPython's connection struct).
"""

from __future__ import annotations

import ctypes
import logging
import sqlite3

log = logging.getLogger(__name__)

_SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION = 1005
_library: ctypes.CDLL | None = None


def _sqlite_library() -> ctypes.CDLL:
    global _library
    if _library is None:
        import _sqlite3

        _library = ctypes.CDLL(_sqlite3.__file__)  # its symbols include the SQLite it links
        _library.sqlite3_db_config.restype = ctypes.c_int
        _library.sqlite3_load_extension.restype = ctypes.c_int
    return _library


def _load_with_ctypes(connection: sqlite3.Connection, path: str) -> None:
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError("not a sqlite3 connection")
    library = _sqlite_library()
    handle = ctypes.c_void_p.from_address(id(connection) + object.__basicsize__).value
    if not handle:
        raise RuntimeError("the SQLite connection is closed")
    db = ctypes.c_void_p(handle)
    library.sqlite3_db_config(db, _SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, ctypes.c_int(1), ctypes.c_void_p(0))
    error = ctypes.c_char_p()
    try:
        if library.sqlite3_load_extension(db, path.encode(), None, ctypes.byref(error)):
            raise RuntimeError(f"sqlite-vec did not load: {(error.value or b'').decode(errors='replace')}")
    finally:
        library.sqlite3_db_config(
            db, _SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, ctypes.c_int(0), ctypes.c_void_p(0)
        )


def load_sqlite_vec(connection: sqlite3.Connection) -> None:
    """Make ``vec0`` tables and ``vec_*`` functions available on ``connection``."""
    import sqlite_vec

    path = sqlite_vec.loadable_path()
    if hasattr(connection, "enable_load_extension"):
        connection.enable_load_extension(True)
        try:
            connection.load_extension(path)
        finally:
            connection.enable_load_extension(False)
    else:
        _load_with_ctypes(connection, path)


def on_connection_created(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: every SQLite connection of Django gets sqlite-vec."""
    if connection.vendor != "sqlite":
        return
    try:
        load_sqlite_vec(connection.connection)
    except Exception:  # noqa: BLE001 - full-text search keeps working; vector search says why
        log.exception("sqlite-vec could not be loaded; semantic search is unavailable on SQLite")
