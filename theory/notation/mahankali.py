"""Mahankali, Hashimoto, Ma (ICLR 2024), arXiv 2307.03576: notation map and the (reconstructed) printed forms.

The paper's body was not retrievable (STATEMENTS.md section 2); its theorems are reconstructed IN the
canonical model, so the map is the identity on the model and explicit on the data law:
- prompt, mask, 1/n placement, TF = -[Z]_{d+1,n+1}, loss without 1/2: canonical (a 1/2 would not move
  minimisers);
- "one step of GD" predictor y_hat = eta (1/n) sum_i y_i x_i^T x_q (Thm 1, 3) or
  eta (1/n) sum_i y_i x_i^T Sigma^{-1} x_q (Thm 2): canonical Gamma = eta I or eta Sigma^{-1};
- data: x ~ N(0, I) (Thm 1, 3) or N(0, Sigma) (Thm 2); w ~ N(0, I) (Thm 1) or N(0, Sigma^{-1}) (Thm 2);
  label noise eps ~ N(0, sigma^2) on the in-context labels; the query target is noiseless (a noisy query
  target adds sigma^2 to every loss and moves no minimiser);
- prior normalisation: the printed eta = n/(n+d+1+sigma^2) is the w ~ N(0, I) normalisation. Under
  w ~ N(0, I/d) the derived optimum is n/(n+1+d(1+sigma^2)) instead (equal only when sigma^2 = 0):
  mahankali2023.thm1 checks both, so a reader using the other normalisation sees the right formula.
- Thm 3: y = f(x) + eps, f ~ D rotation invariant; single-index families f(x) = g(beta^T x), beta uniform
  on the unit sphere; target f(x_q).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from iclcheck.theory.errors import InputError

__all__ = ["FAMILIES", "NOTATION", "eta_non_gaussian", "eta_printed", "eta_thm3_printed", "eta_w_over_d", "family_moments"]

NOTATION = (
    "Reconstructed in the canonical model: y_hat = eta (1/n) sum y_i x_i^T x_q is canonical Gamma = eta I "
    "(Thm 2: eta Sigma^{-1}); x ~ N(0, I) or N(0, Sigma), w ~ N(0, I) or N(0, Sigma^{-1}), noise eps ~ N(0, sigma^2) "
    "on in-context labels, noiseless query target, loss without 1/2. Printed eta uses w ~ N(0, I); with "
    "w ~ N(0, I/d) the optimum is n/(n+1+d(1+sigma^2))."
)

FAMILIES = ("relu", "cubic")


def eta_printed(n: Any, d: Any, sigma2: Any) -> Any:
    """Reconstructed Thm 1 / Thm 2: eta = n / (n + d + 1 + sigma^2)."""
    return n / (n + d + 1 + sigma2)


def eta_w_over_d(n: Any, d: Any, sigma2: Any) -> Any:
    """Derived optimum under the other normalisation w ~ N(0, I/d): n / (n + 1 + d (1 + sigma^2))."""
    return n / (n + 1 + d * (1 + sigma2))


def eta_thm3_printed(n: Any, m: Any, e2: Any) -> Any:
    """Reconstructed Thm 3: eta = n m / (E[(f^2 + sigma^2) |x|^2] + (n-1) m), m = E_f |E_x f(x) x|^2."""
    return n * m / (e2 + (n - 1) * m)


def family_moments(family: str, d: Any, sigma2: Any) -> tuple[Any, Any]:
    """(m, E[(f(x)^2 + sigma^2) |x|^2]) for f(x) = g(beta^T x), |beta| = 1, x ~ N(0, I_d), in closed form.

    Stein: E_x[f(x) x] = beta E[g'(t)], t ~ N(0,1), so m = E[g'(t)]^2 for every beta. With x = t beta + x_perp,
    |x|^2 = t^2 + |x_perp|^2, E[f^2 |x|^2] = E[g(t)^2 t^2] + (d-1) E[g(t)^2].
      relu:  E g' = 1/2 -> m = 1/4;  E[g^2 t^2] = E[t^4]/2 = 3/2, E[g^2] = 1/2 -> (d+2)/2.
      cubic: E g' = E[3t^2] = 3 -> m = 9;  E[t^8] = 105, E[t^6] = 15 -> 15 d + 90.
    Noise adds sigma^2 E|x|^2 = sigma^2 d."""
    if family == "relu":
        m, e2 = sp.Rational(1, 4), (d + 2) / sp.Integer(2)
    elif family == "cubic":
        m, e2 = sp.Integer(9), 15 * d + 90
    else:
        raise InputError("family", f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    return m, e2 + sigma2 * d


def eta_non_gaussian(n, d, sigma2, kappa):
    """Derived: the M of theory.one_layer gains (1/n) S^{1/2} diag((kappa-3) nu) S^{1/2} with
    nu = diag(S^{1/2} S^{-1} S^{1/2}) = 1, i.e. (kappa-3)/n S, so eta' = n/(n+d+1+sigma^2+kappa-3)."""
    return n / (n + d + 1 + sigma2 + kappa - 3)
