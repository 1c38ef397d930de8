"""Exact algebra of Iterative Newton for the pseudo-inverse (Fu et al. 2023, eq. 5; Pan & Schreiber 1991).

    M_0 = alpha S,    M_{k+1} = 2 M_k - M_k S M_k,    w_k = M_k X^T y,    S = X^T X (symmetric PSD).

Every M_k is a polynomial in S with no constant term, so everything happens per eigenvalue lambda of S:
m_0 = alpha lambda, m_{k+1} = m_k (2 - lambda m_k). With the error e_k = 1 - lambda m_k,

    e_{k+1} = 1 - 2 lambda m_k + lambda^2 m_k^2 = e_k^2,   hence   e_k = (1 - alpha lambda^2)^(2^k)

and m_k(lambda) = (1 - (1 - alpha lambda^2)^(2^k)) / lambda (a polynomial of degree 2^(k+1) - 1). On
null(S) every M_k vanishes, so M_k S -> the projector onto range(S) and w_k -> S^+ X^T y = X^+ y (the
minimum-norm OLS solution, also for n < d) iff |1 - alpha lambda^2| < 1 for every eigenvalue lambda > 0,
i.e. iff 0 < alpha < 2 / lambda_max^2 = 2 / ||S S^T||_2. At the boundary alpha = 2/lambda_max^2,
e_0 = -1 on the top eigenvector, e_1 = 1, and e_k = 1 for all k >= 1: M_k annihilates that direction forever.

On null(S) (lambda = 0) the recursion reads m_{k+1} = 2 m_k: exactly 0 stays 0, but in floats a rounding-level
component of M_k there doubles every step, so for n < d the float iterates converge and then leave again (the
error rises after ~60 more steps in float64); stop at the iteration bound. At the boundary alpha the float
outcome is decided by rounding (e_0 = -1 + O(1e-16)): divergence or a delay of ~50-60 iterations, never a
number to report from one run.

Here ``s`` is a commuting symbol standing for S (polynomials), and matrices are exact sympy matrices.
"""

from __future__ import annotations

import sympy as sp

from iclcheck.theory.errors import InputError

__all__ = [
    "cayley_orthogonal",
    "eigen_error",
    "newton_closed_form",
    "newton_matrices",
    "newton_polys",
    "poly_at_matrix",
    "safe_alpha_interval",
]


def newton_polys(k: int, *, alpha: sp.Expr, s: sp.Symbol) -> list[sp.Expr]:
    """[M_0, ..., M_k] as expanded polynomials in the commuting symbol s, by the recursion itself."""
    if k < 0:
        raise InputError("k", f"must be >= 0, got {k}")
    ms = [sp.expand(alpha * s)]
    for _ in range(k):
        m = ms[-1]
        ms.append(sp.expand(2 * m - m * s * m))
    return ms


def newton_closed_form(k: int, *, alpha: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """M_k = (1 - (1 - alpha s^2)^(2^k)) / s, expanded (an independent route to ``newton_polys``)."""
    num = sp.expand(1 - (1 - alpha * s**2) ** (2**k))
    q, r = sp.div(sp.Poly(num, s), sp.Poly(s, s))
    if not r.is_zero:  # pragma: no cover - num has no constant term by construction
        raise AssertionError("closed form is not a polynomial")
    return sp.expand(q.as_expr())


def eigen_error(e0: sp.Expr, k: int) -> sp.Expr:
    """e_k = e_0^(2^k): the Newton error on one eigen-direction (e = 1 - lambda m)."""
    return e0 ** (2**k)


def poly_at_matrix(p: sp.Expr, s: sp.Symbol, S: sp.Matrix) -> sp.Matrix:
    """p(S) by Horner's rule (exact)."""
    coeffs = sp.Poly(p, s).all_coeffs()
    out = sp.zeros(*S.shape)
    for c in coeffs:
        out = out @ S + c * sp.eye(S.shape[0])
    return out


def newton_matrices(S: sp.Matrix, *, alpha: sp.Expr, steps: int) -> list[sp.Matrix]:
    """[M_0, ..., M_steps] by the matrix recursion, exactly."""
    Ms = [alpha * S]
    for _ in range(steps):
        M = Ms[-1]
        Ms.append((2 * M - M @ S @ M).applyfunc(sp.expand))
    return Ms


def safe_alpha_interval(eigenvalues: list[sp.Expr]) -> tuple[sp.Expr, sp.Expr]:
    """The open interval (0, 2 / lambda_max^2) of alpha for which Newton converges (module docstring)."""
    lam_max = max(eigenvalues)
    if lam_max <= 0:
        raise InputError("S", "needs a nonzero eigenvalue")
    return sp.Integer(0), 2 / lam_max**2


def cayley_orthogonal(A: sp.Matrix) -> sp.Matrix:
    """A rational orthogonal matrix U = (I - K)(I + K)^{-1} from any square matrix A (K = A - A^T skew)."""
    K = A - A.T
    eye = sp.eye(A.shape[0])
    return (eye - K) @ (eye + K).inv()
