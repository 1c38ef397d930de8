"""Yedi Zhang, Singh, Latham, Saxe (2025): merged (ATTN_M) and separate (ATTN_S) key-query attention, as recorded.

Their Lambda is the canonical Sigma, D the dimension d, N the prompt length n; the loss is un-halved (tau = 1/2 in
their time scale). ``sigma_formula``: the recorded sigmoid of ATTN_M; ``printed``: the recorded plateau losses of
ATTN_S, L(M_m) = tr L - sum_{d<=m} lambda_d (1 + (1 + tr L/lambda_d)/N)^{-1}; ``block_minimum``: the master loss
minimised over Gamma supported on the top-m eigen-directions (theory.one_layer.reduced_M_formula), exactly.
(Not the Zhang, Frei, Bartlett paper: that is theory.notation.zhang.)
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from iclcheck.theory import one_layer
from iclcheck.theory.one_layer import reduced_M_formula

__all__ = ["block_minimum", "printed", "sigma_formula"]


def sigma_formula(t: np.ndarray, D: int, N: int, tau: float, w: float) -> np.ndarray:
    """The recorded sigma(t), in floats."""
    E = np.exp(2 * np.sqrt(D) * t / tau)
    return E / ((1 + (1 + D) / N) * (E - 1) + np.sqrt(D) / w**2)


def printed(lams, n):
    """The recorded plateau losses L(M_m), m = 0..D, for the spectrum ``lams`` (decreasing) and length n."""
    tr = sum(lams)
    return [tr - sum(lam / (1 + (1 + tr / lam) / n) for lam in lams[:m]) for m in range(len(lams) + 1)]


def block_minimum(lams, n, m):
    """min of the master loss over Gamma supported on the first m coordinates (Lambda diagonal, decreasing)."""
    D = len(lams)
    S = sp.diag(*lams)
    Mx = reduced_M_formula(S, sp.eye(D), sp.zeros(D, D), sp.zeros(D, 1), 0, n, one_layer.SYMPY_OPS)
    if m == 0:
        return S.trace()
    Sb, Mb, Bb = S[:m, :m], Mx[:m, :m], (S * S)[:m, :m]
    Gb = Sb.inv() * Bb * Mb.inv()  # stationarity of tr(G^T S G M) - 2 tr(G^T S W S) on the block
    return sp.cancel(S.trace() - (Gb.T * Bb).trace())
