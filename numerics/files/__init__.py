"""User files, read and written safely: the one hardened reader and the weights dtype rule (``read``), output paths
checked before any work and opened without following FIFOs or devices (``write``). Import-light (no numpy).

This package is the old module ``iclcheck.numerics.files``: it exports every name that module did (those of ``read``).
Code inside iclcheck imports the defining module."""

from typing import Any

from iclcheck.numerics.files import read as _read
from iclcheck.numerics.files.read import (
    READABLE_FLOATS,
    as_path,
    file_kind,
    read_regular_file,
    show_name,
    weight_dtype_problem,
)

__all__ = ["READABLE_FLOATS", "as_path", "file_kind", "read_regular_file", "show_name", "weight_dtype_problem"]


def __getattr__(name: str) -> Any:
    """Any other name of the old module (constants, helpers) through the old path."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(_read, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
