"""iclcheck: exact theory checks for in-context learning in linear transformers.

The installed package has four rooms: ``iclcheck.theory`` (what should be true, exactly: sympy and plain
data), ``iclcheck.numerics`` (what is true, computed: numpy / scipy / cvxpy), ``iclcheck.proofs`` (the
published claims as proof-checks, their verdicts and reports) and ``iclcheck.cli`` (the ``iclcheck``
command). Imports run one way: theory -> numerics -> proofs -> cli.

In the source tree the first three live in the top-level folders ``theory/``, ``numerics/`` and
``proofs/``; ``pyproject.toml`` maps them under ``iclcheck`` (setuptools ``package-dir``), so after
``pip install .`` (editable or not) ``iclcheck`` is the only top-level import package.

Importing ``iclcheck`` is cheap: nothing heavy (numpy, sympy, cvxpy) is imported until it is used.
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]
