"""Reading user files safely: one hardened reader shared by the CLI (``cli.inputs``) and the library
(``numerics.weights``), and the dtype rule of weights files.

- ``read_regular_file``: FIFOs, devices, directories (also behind symlinks) are refused by ``os.stat`` before
  opening; the file is opened with O_NONBLOCK and re-checked with ``fstat`` (no race with a swapped file), and
  never more than ``limit`` + 1 bytes are read.
- ``weight_dtype_problem``: weights are real floating-point numbers (float16, bfloat16, float32, float64 and
  wider floats, read as float64). Complex, integer (e.g. quantized int8, whose scales live elsewhere), boolean,
  structured and object data are refused with a sentence that says what they are.

Imports nothing heavy (numpy only inside the functions that need it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TypeGuard

from iclcheck.theory.errors import InputError

__all__ = ["READABLE_FLOATS", "as_path", "file_kind", "read_regular_file", "show_name", "weight_dtype_problem"]

READABLE_FLOATS = "float16, bfloat16, float32 or float64"


def show_name(text: str, limit: int = 60) -> str:
    """A file name or user text quoted for a message, cut at ``limit`` characters."""
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path: str | os.PathLike, *, what: str, limit: int, limit_text: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (module docstring); every problem is an
    ``InputError`` naming ``what``."""
    name = show_name(str(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(what, f"no such file {name}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(what, f"cannot read {name} ({type(exc).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(what, f"{name} is {file_kind(st.st_mode)}, not a regular file; refusing to read it")
    if st.st_size > limit:
        raise InputError(what, f"file {name} is larger than {limit_text}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(what, f"cannot read {name} ({exc.strerror or type(exc).__name__})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(what, f"{name} is {file_kind(st.st_mode)}, not a regular file; refusing to read it")
        with os.fdopen(fd, "rb", closefd=True) as f:
            fd = -1
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(what, f"cannot read {name} ({exc.strerror or type(exc).__name__})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise InputError(what, f"file {name} is larger than {limit_text}")
    return data


def weight_dtype_problem(kind: str, dtype_name: str) -> str | None:
    """Why an array of this dtype is not a weight (None when it is a real float). ``kind`` is numpy's one-letter
    kind ('f', 'c', 'i', 'u', 'b', 'O', 'V', ...), ``dtype_name`` what the file called it (``complex64``,
    ``C64``, ``torch.int8``)."""
    if kind == "f":
        return None
    why = {"c": "complex weights are not a real model (refusing to keep only the real part)",
           "i": "integer weights (quantized weights need their scales; cast real values to float first)",
           "u": "integer weights (quantized weights need their scales; cast real values to float first)",
           "b": "boolean data, not weights",
           "O": "Python objects, not numbers (never unpickled)"}.get(kind, "not a plain number type")
    return f"has dtype {dtype_name}: {why}; weights must be {READABLE_FLOATS}"


def _is_path(x: object) -> TypeGuard[str | os.PathLike[str]]:
    return isinstance(x, (str, os.PathLike)) and not isinstance(x, bytes)


def as_path(x: object, *, what: str) -> Path:
    """``x`` as a Path, or an InputError naming ``what``."""
    if not _is_path(x):
        raise InputError(what, f"expected a file path (str or os.PathLike), got {type(x).__name__}")
    return Path(x)
