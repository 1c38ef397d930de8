"""Wu et al. (2024), as recorded: one-layer linear attention pretrained on Gaussian linear regression, and its
Gamma* when the test context length differs from the training one.

Their x ~ N(0, H), beta ~ N(0, psi^2 I), y = x^T beta + eps with eps ~ N(0, sigma^2), the predictor
f(X, y, x; Gamma) = x^T Gamma (1/n) X^T y and the un-halved risk with a noisy query are the canonical model with
Sigma = H, Sigma_w = psi^2 I, sigma2 = sigma^2 (``NOTATION``, also ``WU_NOTATION``); ``wu_gamma_star`` is their
recorded optimum.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = ["NOTATION", "WU_NOTATION", "wu_gamma_star"]

NOTATION = ("Wu et al.: x ~ N(0, H), beta ~ N(0, psi^2 I), y = x^T beta + eps, eps ~ N(0, sigma^2); "
               "f(X, y, x; Gamma) = x^T Gamma (1/n) X^T y; risk R = E(f - y)^2 (un-halved, noisy query). Canonical: "
               "Sigma = H, Sigma_w = psi^2 I, sigma2 = sigma^2, n = the context length, the canonical Gamma is theirs "
               "(x_q^T Gamma h, h = (1/n) sum y_i x_i), R = L + sigma^2 (L the canonical, noiseless-target loss).")
WU_NOTATION = NOTATION


def wu_gamma_star(H: Any, n: Any, sigma2: Any, psi2: Any) -> Any:
    """Wu et al.'s Gamma* as recorded: ((n+1)/n H + (tr H + sigma2/psi2)/n I)^{-1} (sympy)."""
    d = H.shape[0]
    return ((n + 1) / n * H + (H.trace() + sigma2 / psi2) / n * sp.eye(d)).inv().applyfunc(sp.cancel)
