"""Output files (plots, arrays) written safely: only regular files, never a FIFO, device or directory.

``check_output_path`` is called before any work (a bad path costs nothing); ``open_output`` opens the file
for writing with O_NONBLOCK, so a FIFO without a reader fails at once (ENXIO) instead of blocking in open(),
and re-checks with fstat that what was opened is a regular file (a symlink to /dev/zero, a FIFO with a
reader, a file swapped after the check are refused). Errors are ``InputError`` naming ``what`` (the library
parameter, e.g. "plot file"; the CLI maps it to its flag). Imports only the standard library.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

from iclcheck.numerics.files.read import (
    file_kind as _kind,  # one description of a file type, reading and writing
)
from iclcheck.numerics.files.read import show_name
from iclcheck.theory.errors import InputError

__all__ = ["check_output_path", "open_output"]

_FLAGS = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _show(path: object) -> str:
    return show_name(str(path), limit=80)


def _path(path: object, what: str, suffixes: tuple[str, ...] | None) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip() or "\0" in str(path):
        raise InputError(what, f"needs a file name, got {_show(path)}")
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(what, f"must end in {', '.join(suffixes)}, got {_show(path)}")
    return p


def check_output_path(path: object, *, what: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Refuse, before any work, an output path that could not be written as a regular file: a wrong suffix, an
    existing FIFO / device / directory / socket (also behind a symlink), a dangling symlink, a missing or
    unwritable directory (a new file is probed by creating and removing it: /proc, read-only mounts)."""
    p = _path(path, what, suffixes)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(what, f"cannot write {_show(p)} ({exc.strerror or type(exc).__name__})") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise InputError(what, f"{_show(p)} is {_kind(st.st_mode)}, not a regular file; refusing to write to it")
        if not os.access(p, os.W_OK):
            raise InputError(what, f"cannot write {_show(p)} (permission denied)")
        return p
    if os.path.islink(p):
        raise InputError(what, f"{_show(p)} is a symlink to a missing file; refusing to write through it")
    parent = p.parent
    if not parent.is_dir():
        raise InputError(what, f"cannot write {_show(p)}: directory {_show(parent)} does not exist")
    try:  # probe: the file can be created here (a new, empty file, removed at once)
        fd = os.open(p, _FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:  # created meanwhile: judged when it is opened
        return p
    except OSError as exc:
        raise InputError(what, f"cannot create {_show(p)} ({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    try:
        os.unlink(p)
    except OSError:
        pass
    return p


def open_output(path: object, *, what: str, suffixes: tuple[str, ...] | None = None) -> IO[bytes]:
    """The file opened for binary writing (created or truncated), guaranteed a regular file (see the module
    docstring); the caller closes it."""
    p = _path(path, what, suffixes)
    try:
        st = os.stat(p)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):  # checked before O_TRUNC touches anything
        raise InputError(what, f"{_show(p)} is {_kind(st.st_mode)}, not a regular file; refusing to write to it")
    try:
        fd = os.open(p, _FLAGS | os.O_CREAT, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no reader (O_NONBLOCK)
            raise InputError(what, f"{_show(p)} is a FIFO, not a regular file; refusing to write to it") from None
        raise InputError(what, f"cannot write {_show(p)} ({exc.strerror or type(exc).__name__})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(what, f"{_show(p)} is {_kind(st.st_mode)}, not a regular file; refusing to write to it")
        os.ftruncate(fd, 0)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
    return f
