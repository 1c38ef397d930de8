"""User files, read and written safely: the one hardened reader and the weights dtype rule (``read``), output paths
checked before any work and opened without following FIFOs or devices (``write``). Import-light (no numpy).

This package is the old module ``iclcheck.numerics.files``: it exports every name that module did (those of ``read``).
Code inside iclcheck imports the defining module."""

from iclcheck.numerics import names_of
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


__getattr__ = names_of(_read, __name__)  # any other name of the old module (constants, helpers)
