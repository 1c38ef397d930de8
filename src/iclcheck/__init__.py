"""iclcheck: exact theory checks for in-context learning in linear transformers.

The installed package has four rooms: ``iclcheck.theory`` (what should be true, exactly: sympy and plain
data), ``iclcheck.numerics`` (what is true, computed: numpy / scipy / cvxpy), ``iclcheck.proofs`` (the
published claims as proof-checks, their verdicts and reports) and ``iclcheck.cli`` (the ``iclcheck``
command). Imports run one way: theory -> numerics -> proofs -> cli.

In the source tree the first three live in the top-level folders ``theory/``, ``numerics/`` and
``proofs/``, linked into the package as ``src/iclcheck/{theory,numerics,proofs}`` (relative symbolic links), so
after ``pip install .`` (editable or not) ``iclcheck`` is the only top-level import package, and editors and
type checkers with ``src`` on their path see the same tree (the package ships ``py.typed``).

Importing ``iclcheck`` is cheap: nothing heavy (numpy, sympy, cvxpy) is imported until it is used. The public
Python API (docs/api.md) lives in ``iclcheck.api`` and is loaded on first access of one of its names
(``iclcheck.gamma_star``, ``iclcheck.verify``, ...): module ``__getattr__`` (PEP 562).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"

# the names of iclcheck.api (tests/api/test_exports.py checks that the two lists agree)
_API = (
    "ClaimResult",
    "Comparison",
    "InputError",
    "LayerLoss",
    "ModelLoss",
    "NumericalFailure",
    "Preconditioner",
    "Setting",
    "SweepReport",
    "TrainReport",
    "WeightsCheck",
    "certify",
    "check_weights",
    "claims",
    "compare",
    "critical_points",
    "gamma_star",
    "flow",
    "gd_error",
    "implements",
    "layer_loss",
    "load_weights",
    "loss",
    "min_loss",
    "optimal_layers",
    "precond",
    "save_weights",
    "setting",
    "sweep",
    "train",
    "verify",
)

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        value = getattr(importlib.import_module("iclcheck.api"), name)
        globals()[name] = value  # later accesses skip __getattr__
        return value
    raise AttributeError(f"module 'iclcheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
