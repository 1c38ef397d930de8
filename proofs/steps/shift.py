"""Checks and notation shared by the test-setting claims (ZFB 2024 Thm 4.2 / Sec 4.2 / Thm 4.5 / Thm 4.1's limit,
Wu et al. 2024). A claim imports these, never another claim's module.

- ``NT``, ``MT``: the training and test prompt lengths, symbolic;
- ``limit_at_infinity``: the exact limit of a rational function (faster than sympy's ``limit`` here).

Re-exported from their homes: ``ZFB_NOTATION`` (ZFB's notation map plus the test-time rules) and
``zfb_trained_gamma`` (the canonical preconditioner their trained LSA implements, Gamma_ZFB^{-1}) from
theory.notation.zhang; ``WU_NOTATION`` and ``wu_gamma_star`` (Wu et al.'s recorded Gamma*) from
theory.notation.wu; ``master_loss_symbolic`` and ``master_gamma_star_symbolic`` (the master loss and optimum for
Gaussian covariates with a possibly symbolic task covariance) from theory.one_layer; ``gaussian_expectation``
(exact E of a polynomial in iid N(0, 1) variables) from theory.moments.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from iclcheck.theory.moments import gaussian_expectation
from iclcheck.theory.notation.wu import WU_NOTATION, wu_gamma_star
from iclcheck.theory.notation.zhang import ZFB_NOTATION, zfb_trained_gamma
from iclcheck.theory.one_layer import (
    master_gamma_star_symbolic,
    master_loss_symbolic,
)

__all__ = ["MT", "NT", "WU_NOTATION", "ZFB_NOTATION", "gaussian_expectation", "limit_at_infinity", "master_gamma_star_symbolic",
           "master_loss_symbolic", "wu_gamma_star",
           "zfb_trained_gamma"]

NT = sp.Symbol("N", positive=True, integer=True)  # training prompt length
MT = sp.Symbol("M", positive=True, integer=True)  # test prompt length


def limit_at_infinity(expr: Any, sym: sp.Symbol) -> Any:
    """lim_{sym -> oo} of a rational function of sym, exactly: substitute sym = 1/t, cancel, set t = 0 (sympy's
    ``limit`` is 10x slower to load and run for this case). Returns sp.oo when the denominator vanishes at t = 0."""
    t = sp.Dummy("t", positive=True)
    num, den = sp.fraction(sp.cancel(sp.together(sp.sympify(expr).subs(sym, 1 / t))))
    d0 = sp.expand(den).subs(t, 0)
    if d0 == 0:
        return sp.oo if sp.expand(num).subs(t, 0) != 0 else sp.limit(expr, sym, sp.oo)
    return sp.cancel(sp.expand(num).subs(t, 0) / d0)


