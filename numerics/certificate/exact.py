"""The exact (rational) route of ``numerics.certificate``: Fractions throughout, the solver's point
rationalised and corrected by an exact solve to exact stationarity, PSD by exact LDL^T (see that module)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from iclcheck.numerics.certificate.bound import Certificate
from iclcheck.numerics.certificate.qp import _solve_qp, y_from_dual
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.lift import LiftedLoss, invariant, lift_moments, pairs, reduced, sym_coords
from iclcheck.theory.errors import InputError

__all__: list[str] = []


def _fr(x) -> Fraction:
    import sympy as sp

    if isinstance(x, Fraction):
        return x
    if isinstance(x, sp.Basic):
        x = sp.Rational(x)
        return Fraction(int(x.p), int(x.q))
    return Fraction(x)


def _fmat(A) -> np.ndarray:
    rows, cols = A.shape
    out = np.empty((rows, cols), dtype=object)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = _fr(A[i, j])
    return out


def _ldl_psd(M: np.ndarray) -> bool:
    """Exact PSD test of a symmetric rational matrix by symmetric elimination (zero pivot -> zero column)."""
    A = [[Fraction(x) for x in row] for row in M]
    n = len(A)
    for j in range(n):
        piv = A[j][j]
        if piv < 0:
            return False
        if piv == 0:
            if any(A[i][j] != 0 for i in range(j + 1, n)):
                return False
            continue
        for i in range(j + 1, n):
            f = A[i][j] / piv
            if f:
                for c in range(j + 1, n):
                    A[i][c] -= f * A[j][c]
    return True


def _solve_exact(M: np.ndarray, B: np.ndarray) -> np.ndarray | None:
    """A solution X of M X = B (rational, M symmetric PSD possibly singular) or None if inconsistent."""
    n, m = M.shape[0], B.shape[1]
    A = [[Fraction(x) for x in M[i]] + [Fraction(x) for x in B[i]] for i in range(n)]
    piv_cols, row = [], 0
    for col in range(n):
        p = next((i for i in range(row, n) if A[i][col] != 0), None)
        if p is None:
            continue
        A[row], A[p] = A[p], A[row]
        inv = 1 / A[row][col]
        A[row] = [x * inv for x in A[row]]
        for i in range(n):
            if i != row and A[i][col] != 0:
                f = A[i][col]
                A[i] = [x - f * y for x, y in zip(A[i], A[row], strict=True)]
        piv_cols.append(col)
        row += 1
    if any(any(A[i][n + c] != 0 for c in range(m)) for i in range(row, n)):
        return None
    X = np.full((n, m), Fraction(0), dtype=object)
    for r, col in enumerate(piv_cols):
        for c in range(m):
            X[col, c] = A[r][n + c]
    if not all(v == 0 for v in (M.dot(X) - B).reshape(-1)):  # checked, not assumed
        return None
    return X


def _certify_exact(ol: OneLayer, *, solver: str, gap_tol: float) -> Certificate:
    s = ol.setting
    if not s.is_exact:
        raise InputError("Sigma", "exact certificates need rational inputs (eye/diag/csv/json covariances, not "
                         "random or float .npy)")
    d = ol.d
    S = _fmat(s.Sigma_exact)
    W = _fmat(s.Sigma_w_exact)
    s2 = _fr(s.sigma2_exact)
    n = Fraction(int(ol.n))
    kk = _fr(s.kurtosis) - 3
    Sh = None
    if kk != 0:
        offdiag = any(S[i, j] != 0 for i in range(d) for j in range(d) if i != j)
        roots = [_rational_sqrt(S[i, i]) for i in range(d)]
        if offdiag or any(r is None for r in roots):
            raise InputError("Sigma", f"exact certificates with {s.covariates} covariates need Sigma^(1/2) rational: "
                             "a diagonal Sigma of rational squares")
        Sh = np.full((d, d), Fraction(0), dtype=object)
        for i in range(d):
            Sh[i, i] = roots[i]
    mo = lift_moments(S, W, s2, n, kk, Sh)
    Gs, amat = reduced(mo, exact=True)
    # With the unnormalised basis V (columns E_aa, E_ab + E_ba) and m = V Y: F = <Y, G Y S>/n^2 + 2<a, Y> + c0
    # where G = V^T EGG V and a = V^T a3 (exactly what ``reduced`` returns with exact=True).
    c0 = _fr(mo.c0)
    reasons = []
    psd = _ldl_psd(Gs) and _ldl_psd(S)
    if not psd:
        reasons.append("G_s or Sigma is not PSD in exact arithmetic (impossible for a valid setting)")
    L = LiftedLoss(ol)
    status, primal, dual, nu, F = _solve_qp(L, solver)
    P = Gs.shape[0]
    # rationalise the solver's point (float basis: Y_float = diag(w) Y_exact with w = 1 or sqrt 2)
    scale = np.array([1.0 if a == b else np.sqrt(2) for (a, b) in pairs(d)])
    Y0 = np.full((P, d), Fraction(0), dtype=object)
    if nu is not None:
        Yf = y_from_dual(L, F, nu) / scale[:, None]
        for i in range(P):
            for j in range(d):
                if np.isfinite(Yf[i, j]):
                    Y0[i, j] = Fraction(float(Yf[i, j])).limit_denominator(10**12)
    # exact stationarity: G Y S / n^2 + a = 0; correct Y0 by an exact solve of G dY S = -n^2 R
    R = Gs.dot(Y0).dot(S) / (n * n) + amat
    Sinv_sol = _solve_exact(S, np.eye(d, dtype=int).astype(object) * Fraction(1))
    dY = None if Sinv_sol is None else _solve_exact(Gs, -(n * n) * R.dot(Sinv_sol))
    lower_q, loss_q = None, None
    if dY is None:
        reasons.append("the stationarity system G_s Y Sigma = -n^2 a has no exact solution (relaxation unbounded)")
    else:
        Y = Y0 + dY
        R2 = Gs.dot(Y).dot(S) / (n * n) + amat
        if any(v != 0 for v in R2.reshape(-1)):
            reasons.append("exact correction left a residual (bug)")
        else:
            lower_q = c0 + sum((amat * Y).reshape(-1))  # at exact stationarity F(Y) = c0 + a^T Y
    # exact loss at the Gamma* point: Gamma* = W S M^-1 in rationals, m_s of (P, Q) = (e e^T, -Gamma*^T)
    Mx = (n + 1) / n * S.dot(W).dot(S) + (np.trace(S.dot(W)) + s2) / n * S
    if Sh is not None:
        nu_ = [Sh.dot(W).dot(Sh)[i, i] for i in range(d)]
        Hm = np.full((d, d), Fraction(0), dtype=object)
        for i in range(d):
            Hm[i, i] = kk * nu_[i]
        Mx = Mx + Sh.dot(Hm).dot(Sh) / n
    Gt = _solve_exact(Mx, S.dot(W))  # M^-1 S W = Gamma*^T (M, S W symmetric products: Gamma* = W S M^-1)
    if Gt is None:
        reasons.append("M is singular in exact arithmetic")
    else:
        theta = np.full(((d + 1) ** 2,), Fraction(0), dtype=object)
        theta[d] = Fraction(1)  # c = P[d, d] = 1
        Q11 = -Gt  # Q11 = -Gamma*^T = -(M^-1 S W)
        theta[d + 1 : d + 1 + d * d] = Q11.reshape(-1)
        ms = invariant(theta, d)
        Ys = sym_coords(ms, d, exact=True)
        loss_q = sum((Ys * (Gs.dot(Ys).dot(S))).reshape(-1)) / (n * n) + 2 * sum((amat * Ys).reshape(-1)) + c0
    lower = float(lower_q) if lower_q is not None else -np.inf
    upper = float(loss_q) if loss_q is not None else np.inf
    predicted = float(ol.loss(*ol.params_from_gamma(ol.gamma_star())))
    gap_q = (loss_q - lower_q) if (loss_q is not None and lower_q is not None) else None
    reasons_all = list(reasons)
    if status != "optimal":
        reasons_all.append(f"solver status {status!r} is not 'optimal' (the exact correction still applies)")
    if gap_q is not None and loss_q is not None:  # (gap_q is set only with loss_q)
        if gap_q < 0:
            reasons_all.append(f"contradiction: exact bound {lower_q} above the exact loss {loss_q} at Gamma*")
        elif loss_q == 0 or gap_q > Fraction(gap_tol) * loss_q:
            reasons_all.append(f"exact gap {float(gap_q):.3g} > tolerance {gap_tol:g} relative")
    # a solver failure does not void an exact bound: the correction is an exact solve; keep it informative
    certified = gap_q is not None and not [r for r in reasons_all if "solver status" not in r]
    tol = gap_tol * upper if math.isfinite(upper) else 0.0
    statement = (
        f"Exactly, for every P, Q in R^({d + 1}x{d + 1}): f(P, Q) >= {lower_q} = {lower:.15g} (rational; the dual "
        f"point rationalised and corrected to exact stationarity, PSD checked by exact LDL^T); the Gamma* point "
        f"has f = {loss_q} exactly (gap {gap_q}), so it is a global minimiser of the full one-layer loss."
        if certified else "Not certified: " + "; ".join(reasons_all) + "."
    )
    return Certificate(
        lower_bound=lower, predicted_loss=predicted, predicted_upper=upper,
        gap=float(gap_q) if gap_q is not None else float("nan"), solver_gap=primal - dual, primal=primal,
        dual=dual, status=status, solver=solver, dual_residual=float("nan"), lambda_lower=float("nan"),
        rounding_margin=0.0, minimiser_distance=float("nan"), gap_tol=tol, certified=certified,
        reason="; ".join(reasons_all) or "all checks passed", statement=statement, exact=True,
        exact_bound=lower_q, exact_loss=loss_q,
    )


def _rational_sqrt(q: Fraction) -> Fraction | None:
    q = Fraction(q)
    if q < 0:
        return None
    a, b = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(a, b) if a * a == q.numerator and b * b == q.denominator else None
