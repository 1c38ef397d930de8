"""iclcheck.theory: what should be true, exactly.

The canonical model (Ahn et al. 2023 convention; notes/STATEMENTS.md section 0), the data setting, moment
identities and closed-form losses derived with sympy. Imports nothing from ``numerics`` or ``proofs``.
The names below are loaded on first use, so importing the package (or its ``errors``) costs no sympy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["COVARIATE_LAWS", "ICLCheckError", "InputError", "Setting"]

_HOME = {"COVARIATE_LAWS": "setting", "Setting": "setting", "ICLCheckError": "errors", "InputError": "errors"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"iclcheck.theory.{_HOME[name]}"), name)
    raise AttributeError(f"module 'iclcheck.theory' has no attribute {name!r}")
