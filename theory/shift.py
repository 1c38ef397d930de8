"""Exact twin of ``numerics.one_layer.shift``: the training optimum Gamma*_train evaluated at a test setting, in sympy.

Both prompt lengths may be symbols (ZFB 2024's Thm 4.2 is a formula in the training length N and the test length
M): the training optimum is ``theory.one_layer.gamma_star_exact(train)`` and the test loss is
``theory.one_layer.reduced_loss_formula`` with the test setting's exact inputs, so there is one formula.
"""

from __future__ import annotations

from typing import Any

from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["shifted_loss_exact"]


def shifted_loss_exact(train: Setting, test: Setting, Gamma: Any = None) -> tuple[Any, Any, Any]:
    """(L_test(Gamma), L*_test, excess) exactly; Gamma defaults to the exact training optimum.

    Needs exact inputs for both settings; n and n_test may be (different) sympy Symbols."""
    import sympy as sp

    from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, exact_optimum, reduced_loss_formula

    if test.d != train.d:
        raise InputError("Sigma_test", f"is {test.d}x{test.d} but the training Sigma is {train.d}x{train.d}")
    G = exact_optimum(train)[0] if Gamma is None else sp.Matrix(Gamma)
    S, W, Sh, km3, s2, n = exact_inputs(test)
    loss = sp.factor(sp.cancel(reduced_loss_formula(S, W, Sh, km3, s2, n, G, SYMPY_OPS)))
    opt = exact_optimum(test)[1]
    return loss, opt, sp.factor(sp.cancel(loss - opt))
