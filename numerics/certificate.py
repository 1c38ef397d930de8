"""A proven global lower bound for the one-layer loss, through the lift in which it is a convex quadratic.

The lift (``numerics.lift``): f(P, Q) = F(m) with m = p (x) vec(Qd) and, on the (k, i)-symmetric part,

    F(Y) = <Y, G_s Y S> / n^2 + 2 <a_mat, Y> + c0,        A_s = (G_s (x) S) / n^2 positive semidefinite.

Dropping the rank-one constraint on m gives f* = min_{P,Q} f >= min_Y F(Y) (the convex relaxation).

The bound (valid for ANY candidate point Y, whatever produced it). With r = A_s y + a_s and
lambda_lo <= lambda_min(A_s) = lambda_min(G_s) lambda_min(S) / n^2, for every m

    F(m) = F(y) + 2 r^T (m - y) + (m - y)^T A_s (m - y) >= F(y) - r^T A_s^{-1} r >= F(y) - |r|^2 / lambda_lo.

Here y comes from the solver's dual point nu of the QP  min |r|^2 + 2 a_s^T m + c0 s.t. r = F m  (KKT:
F y = -nu / 2), so a wrong, inaccurate or adversarial dual can only weaken the bound, never make it false.
Rigour in float64: F(y) is bounded below, |r| above and lambda_min below with explicit rounding margins:
gamma_K |terms| for every computed sum (the moment formulas have nonnegative coefficients, so the same code
run on |S|, |W|, |S^{1/2}| + delta gives a majorant of the terms, and delta covers the error of the computed
S^{1/2}); eigenvalues by Weyl's theorem with the backward error of eigvalsh (4 P u |G_s|_F) plus the
data margin. Rademacher covariates make d - 1 pair features vanish identically (s_i^2 = 1): that exact
kernel is quotiented out (``_rademacher_quotient``: F is constant along it, so inf F is the infimum over
a complement, where lambda_min > 0). If lambda_lo <= 0 otherwise (ill-conditioned lift, moments that
underflow) no float bound is stated: use ``exact``.

Exact (``exact=True``, rational inputs): G_s, a_mat, c0 in Fractions; the solver's point is rationalised
and corrected by an exact solve so that the stationarity G_s Y S = -n^2 a_mat holds exactly; G_s and S are
shown PSD by an exact LDL^T (pivots >= 0, zero pivots with zero columns); then min F = F(Y) exactly. The
loss at Gamma* is computed exactly from rational M (needs S^{1/2} rational for non-Gaussian covariates).

``certified`` means all of: solver status optimal; the bound is proven (lambda_lo > 0 or exact); the bound
is not above f at the Gamma* point (evaluated with its own upper rounding margin: a bound above an attained
value is a contradiction, reported as such); the gap f(Gamma* point) - bound <= gap_tol * f(Gamma* point)
(relative). Then: f >= lower_bound everywhere and Gamma*'s point is within the gap of the global minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from iclcheck.numerics.lift import (
    LiftedLoss,
    invariant,
    lift_moments,
    pair_basis,
    reduced,
    sym_coords,
)
from iclcheck.numerics.limits import MAX_CERT_DIM, MAX_EXACT_CERT_DIM, MAX_GAP_TOL, QP_SOLVERS
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.theory.errors import InputError

__all__ = ["Certificate", "MAX_CERT_DIM", "MAX_EXACT_CERT_DIM", "QP_SOLVERS", "certify", "float_bound",
           "y_from_dual"]


_U = np.finfo(float).eps / 2


def _round_outward(x: float, sig: int, *, down: bool) -> float:
    """x rounded down (or up) to ``sig`` significant decimal digits, exactly (Fractions): a lower bound stays
    a lower bound, and the printed digits do not depend on the last bits of BLAS rounding."""
    if not math.isfinite(x) or x == 0:
        return x
    e = math.floor(math.log10(abs(x))) - sig + 1
    q = Fraction(10) ** e
    v = (math.floor(Fraction(x) / q) if down else math.ceil(Fraction(x) / q)) * q
    return float(v)  # the float nearest v lies on the same side of x as v (x is itself a float)


def _gamma(K: int) -> float:
    return K * _U / (1 - K * _U)


@dataclass(frozen=True)
class Certificate:
    lower_bound: float  # proven lower bound of f over all P, Q (nan when none is proven)
    predicted_loss: float  # f at the Gamma* point (closed form OneLayer.loss)
    predicted_upper: float  # a proven upper bound of f at the Gamma* point (lift + rounding margin)
    gap: float  # predicted_upper - lower_bound
    solver_gap: float  # primal - dual objective of the relaxation as solved (information)
    primal: float
    dual: float
    status: str
    solver: str
    dual_residual: float  # |r| / |a_s| at the solver's point (information; the bound accounts for it)
    lambda_lower: float  # proven lower bound of lambda_min(A_s) (float path)
    rounding_margin: float  # total margin subtracted from the float bound
    minimiser_distance: float  # solver point vs the predicted point's coordinates (0: relaxation tight)
    gap_tol: float  # absolute tolerance = gap_tol * predicted_upper
    certified: bool
    reason: str
    statement: str
    exact: bool = False
    exact_bound: Fraction | None = None
    exact_loss: Fraction | None = None


# -- float path ---------------------------------------------------------------------------------------
class _Margins:
    """Majorants for rounding: Gabs, aabs, cabs (terms' absolute sums) and data errors EG, Ea, Ec."""

    def __init__(self, L: LiftedLoss):
        ol = L.ol
        d, k = L.d, L.d + 1
        K = 16 * k + 64  # sequential flops per entry (einsum sums of <= k terms, U^T X U, kron)
        self.g = _gamma(K)
        S, W = np.abs(ol.S), np.abs(ol.W)
        dW = 0.0
        if ol.setting.task_cov_kind == "inverse":  # W = fl(S^-1): |W - S^-1|_2 <= |W| |E| / (1 - |E|)
            Eres = np.linalg.norm(np.eye(d) - ol.S @ ol.W, 2) + _gamma(4 * d) * np.linalg.norm(S @ W, 2)
            dW = np.inf if Eres >= 0.5 else float(np.linalg.norm(ol.W, 2) * Eres / (1 - Eres))
        dSh, Sh = 0.0, None
        if L.Sh is not None:  # |Sh - S^1/2|_2 <= |Sh^2 - S|_2 / (2 lambda_min(Sh) - ...)
            Sh = np.abs(L.Sh)
            res = np.linalg.norm(L.Sh @ L.Sh - ol.S, 2) + _gamma(4 * d) * np.linalg.norm(Sh @ Sh, 2)
            lo = float(np.linalg.eigvalsh(L.Sh)[0]) - _gamma(4 * d) * np.linalg.norm(L.Sh, 2)
            dSh = np.inf if lo <= 0 else 2 * res / lo
        kk = abs(L.kk)
        n = L.n
        base = lift_moments(S, W, abs(float(ol.sigma2)), n, kk, Sh)
        pert = lift_moments(S, W + dW, abs(float(ol.sigma2)), n, kk, None if Sh is None else Sh + dSh)
        Gb, ab = reduced(base)
        Gp, ap = reduced(pert)
        self.finite = bool(np.isfinite(Gp).all() and np.isfinite(ap).all())
        self.Gabs, self.aabs, self.cabs = Gp, ap, float(pert.c0)
        self.EG = 2 * self.g * Gp + (Gp - Gb)
        self.Ea = 2 * self.g * ap + (ap - ab)
        self.Ec = 2 * self.g * self.cabs + (float(pert.c0) - float(base.c0))
        self.S = S
        self.n = n


def _lambda_lower(L: LiftedLoss, M: _Margins) -> tuple[float, float, float]:
    """Proven lower bounds of lambda_min(G_s), lambda_min(S) and of lambda_min(A_s) = their product / n^2."""
    P, d = L.Gs.shape[0], L.d
    if not (M.finite and np.isfinite(L.Gs).all()):
        return -np.inf, -np.inf, -np.inf
    lg = float(np.linalg.eigvalsh(L.Gs)[0]) - (4 * P * _U * np.linalg.norm(L.Gs) + np.linalg.norm(M.EG))
    S = L.moments.S
    ls = float(np.linalg.eigvalsh(S)[0]) - 4 * d * _U * np.linalg.norm(S)
    if lg <= 0 or ls <= 0:
        return lg, ls, -np.inf
    return lg, ls, lg * ls / L.n**2 * (1 - 4 * _U)


def _value_bounds(L: LiftedLoss, M: _Margins, Y: np.ndarray) -> tuple[float, float, float]:
    """(F(Y) computed, its rounding margin, a proven upper bound of |r|) at the point Y [P, d]."""
    n, S = L.n, L.moments.S
    Ya = np.abs(Y)
    AY = L.Gs @ Y @ S / n**2
    AYabs = M.Gabs @ Ya @ M.S / n**2
    F = float(np.sum(Y * AY) + 2 * np.sum(L.amat * Y) + L.c0)
    margin = float(
        M.g * (np.sum(Ya * AYabs) + 2 * np.sum(M.aabs * Ya) + M.cabs)
        + np.sum(Ya * (M.EG @ Ya @ M.S)) / n**2 + 2 * np.sum(M.Ea * Ya) + M.Ec
    ) * (1 + 8 * _U)
    r = AY + L.amat
    r_up = np.abs(r) + M.g * (AYabs + M.aabs) + M.EG @ Ya @ M.S / n**2 + M.Ea
    return F, margin, float(np.linalg.norm(r_up) * (1 + 4 * _U))


def float_bound(L: LiftedLoss, Y: np.ndarray, *, margins: _Margins | None = None,  # L: or a quotient
                lam: float | None = None) -> tuple[float, float]:
    """A proven lower bound of min F (hence of f over all P, Q) from ANY point Y [P, d], and the margin used.
    Returns (-inf, inf) when lambda_min(A_s) cannot be bounded away from 0."""
    M = margins or _Margins(L)
    lam = _lambda_lower(L, M)[2] if lam is None else lam
    Y = np.asarray(Y, dtype=float)
    if not (lam > 0) or not np.isfinite(Y).all():
        return -np.inf, np.inf
    F, margin, r_up = _value_bounds(L, M, Y)
    drop = r_up * r_up / lam
    bound = F - margin - drop
    return (float(bound) if math.isfinite(bound) else -np.inf), margin + drop


def _factor(L: LiftedLoss) -> tuple[np.ndarray, np.ndarray]:
    """F with F^T F = A_s = (G_s (x) S) / n^2 on the range of G_s (eigen factor of G_s, Cholesky of S)."""
    lam, V = np.linalg.eigh(L.Gs)
    keep = lam > 1e-13 * max(float(lam[-1]), 1e-300)
    Fg = (V[:, keep] * np.sqrt(lam[keep])).T  # [r, P]
    Ls = np.linalg.cholesky(L.moments.S)
    return np.kron(Fg, Ls.T) / L.n, keep


def y_from_dual(L: LiftedLoss, F: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """The primal point of a dual point (KKT of the QP: F y = -nu / 2), least squares, as Y [P, d]."""
    y = np.linalg.lstsq(F, -np.asarray(nu, dtype=float) / 2, rcond=None)[0]
    return y.reshape(L.Gs.shape[0], L.d)


def _solve_qp(L: LiftedLoss, solver: str):
    """(status, primal, dual value c0 - |nu|^2/4, nu, F) from cvxpy; any solver error is a status."""
    import cvxpy as cp

    F, _ = _factor(L)
    a_s = L.amat.reshape(-1)
    m = cp.Variable(F.shape[1])
    r = cp.Variable(F.shape[0])
    con = r == F @ m
    prob = cp.Problem(cp.Minimize(cp.sum_squares(r) + 2 * a_s @ m + L.c0), [con])
    try:
        prob.solve(solver=solver)
    except Exception as exc:  # noqa: BLE001  (any failure of the solver is reported as its status)
        return f"solver_error: {type(exc).__name__}: {exc}".strip()[:200], np.nan, np.nan, None, F
    status = str(prob.status)
    if prob.value is None or con.dual_value is None:
        return status, np.nan, np.nan, None, F
    nu = np.asarray(con.dual_value, dtype=float).reshape(-1)
    return status, float(prob.value), float(L.c0 - nu @ nu / 4), nu, F


def _check_options(solver: str, gap_tol: float) -> None:
    if solver not in QP_SOLVERS:
        raise InputError("solver", f"must be one of {', '.join(QP_SOLVERS)}, got {solver!r}")
    if not (isinstance(gap_tol, (int, float)) and math.isfinite(gap_tol) and 0 < gap_tol <= MAX_GAP_TOL):
        raise InputError("gap_tol", f"must be a finite number in (0, {MAX_GAP_TOL}], got {gap_tol!r}")


def certify(ol: OneLayer, *, solver: str = "CLARABEL", gap_tol: float = 1e-6, exact: bool = False) -> Certificate:
    """Solve the relaxation, prove a lower bound from the solver's dual point, decide certification."""
    _check_options(solver, gap_tol)
    d = ol.d
    if d > (MAX_EXACT_CERT_DIM if exact else MAX_CERT_DIM):
        lim = MAX_EXACT_CERT_DIM if exact else MAX_CERT_DIM
        raise InputError("Sigma", f"the certificate supports d <= {lim}{' (exact)' if exact else ''}, got d = {d}")
    import cvxpy as cp

    if solver not in cp.installed_solvers():
        raise InputError("solver", f"{solver} is not installed (installed: {', '.join(cp.installed_solvers())})")
    if exact:
        return _certify_exact(ol, solver=solver, gap_tol=gap_tol)
    with np.errstate(all="ignore"):
        return _certify_float(ol, solver=solver, gap_tol=gap_tol)


def _predicted_theta(ol: OneLayer) -> np.ndarray:
    from iclcheck.numerics.derivatives import pack

    P, Q = ol.params_from_gamma(ol.gamma_star())
    return pack(P, Q)


def _decide(lower: float, upper: float, predicted: float, gap_tol: float, status: str,
            extra: list[str], rounding: float = 0.0) -> tuple[bool, float, float, list[str]]:
    reasons = list(extra)
    if status != "optimal" and not extra:
        reasons.append(f"solver status {status!r} is not 'optimal'")
    gap = upper - lower
    tol = gap_tol * upper if upper > 0 else 0.0
    if math.isfinite(lower) and (lower > upper or lower > predicted):
        reasons.append(f"contradiction: the bound {lower:.12g} is above the loss {min(upper, predicted):.12g} "
                       "attained at the Gamma* point (the dual point is not a valid certificate)")
    elif not math.isfinite(lower):
        if not extra:
            reasons.append("no lower bound could be proven")
    elif not upper > 0:
        reasons.append(f"the loss at Gamma* ({predicted:.3g}, upper bound {upper:.3g}) is at rounding level: "
                       "a relative gap cannot be certified")
    elif not gap <= tol:
        why = (f"; the gap is the float rounding margin ({rounding:.2g}): the loss is too small relative to "
               "the terms of the lift for float64 (an exact certificate may still succeed for rational inputs)"
               if rounding >= 0.5 * gap else "")
        reasons.append(f"gap {gap:.3g} > tolerance {tol:.3g} (gap_tol {gap_tol:g} relative to the loss){why}")
    return (not reasons), gap, tol, reasons


def _rademacher_quotient(L: LiftedLoss, M: _Margins):
    """Rademacher covariates: s_i^2 = 1, so for M = Sh^-1 D Sh^-1 with D diagonal and tr D = 0 the pair
    feature sum_ki M_ki G_ki = sum_l s_l^T D s_l = n tr D vanishes identically: those d - 1 directions
    (times R^d) span an exact kernel K of A_s on which a_s vanishes too (a = E phi t), so F is constant
    along K and inf F = inf over any complement of K. The complement is span(B) with B the orthonormal
    complement of the computed K~ (float B: the coordinates z of span(B) are exact, and B^T G B is bounded
    with its rounding like G itself). Returns (L_W, M_W, B, problem) with problem None when it applies."""
    from types import SimpleNamespace

    d, P = L.d, L.Gs.shape[0]
    k = d + 1
    Shinv = np.linalg.inv(L.Sh)
    Kt = []
    for t in range(d - 1):
        D = np.zeros(d)
        D[t], D[t + 1] = 1.0, -1.0
        Mm = np.zeros((k, k))
        Mm[:d, :d] = (Shinv * D) @ Shinv
        Kt.append(pair_basis(d).T @ Mm.reshape(-1))
    Kt = np.array(Kt).T  # [P, d-1]
    Q, _ = np.linalg.qr(np.hstack([Kt, np.eye(P)]))
    Kq, B = Q[:, : d - 1], Q[:, d - 1 : P]  # orthonormal K~ and its complement [P, P - d + 1]
    ev = np.linalg.eigvalsh(L.Gs)
    small = int(np.sum(ev <= 1e-9 * ev[-1]))
    kres = float(np.linalg.norm(L.Gs @ Kq) / np.linalg.norm(L.Gs))
    if small != d - 1 or kres > 1e-9:
        return None, None, None, (f"the lifted features have {small} numerically dependent directions (the "
                                  f"Rademacher structure explains {d - 1}, residual {kres:.1e})")
    Ba = np.abs(B)
    g = M.g
    LW = SimpleNamespace(Gs=B.T @ L.Gs @ B, amat=B.T @ L.amat, c0=L.c0, n=L.n, d=L.d, moments=L.moments)
    LW.Gs = (LW.Gs + LW.Gs.T) / 2
    GabsW = Ba.T @ M.Gabs @ Ba
    aabsW = Ba.T @ M.aabs
    MW = SimpleNamespace(
        g=g, S=M.S, n=M.n, finite=M.finite, cabs=M.cabs, Ec=M.Ec, Gabs=GabsW * (1 + 4 * P * _U),
        aabs=aabsW * (1 + 2 * P * _U),
        EG=Ba.T @ M.EG @ Ba + 4 * P * _U * GabsW, Ea=Ba.T @ M.Ea + 2 * P * _U * aabsW,
    )
    return LW, MW, B, None


def _certify_float(ol: OneLayer, *, solver: str, gap_tol: float) -> Certificate:
    L = LiftedLoss(ol)
    M = _Margins(L)
    lg, ls, lam = _lambda_lower(L, M)
    quotient, qproblem = None, None
    if not lam > 0 and ol.setting.covariates == "rademacher" and ol.d >= 2 and M.finite:
        LW, MW, B, qproblem = _rademacher_quotient(L, M)
        if qproblem is None:
            lgW, lsW, lamW = _lambda_lower(LW, MW)
            if lamW > 0:
                quotient, lam = (LW, MW, B), lamW
            else:
                qproblem = f"after removing the exact Rademacher kernel lambda_min is still not provable ({lgW:.3g})"
    theta_star = _predicted_theta(ol)
    predicted = float(ol.loss(*ol.params_from_gamma(ol.gamma_star())))
    Ystar = sym_coords(invariant(theta_star, ol.d), ol.d)
    extra: list[str] = []
    upper, status, primal, dual, resid, mdist, lower, margin = np.inf, "not solved", np.nan, np.nan, np.nan, np.nan, -np.inf, np.nan
    Fs = np.inf
    if not M.finite or not np.isfinite(L.Gs).all():
        extra.append("the lifted moments overflow in float64")
    else:
        Fs, mg, _ = _value_bounds(L, M, Ystar)
        upper = Fs + mg
    if not extra and not lam > 0:
        extra.append(
            (f"{qproblem}; " if qproblem else "")
            + f"lambda_min(A_s) is not provably positive (lower bounds {lg:.3g} for G_s, {ls:.3g} for Sigma): the lifted "
            "features are (numerically) linearly dependent, the lift is too ill-conditioned for float64 or the "
            "moments underflow; no float bound is proven (an exact certificate may still succeed for rational inputs)"
        )
    if not extra:
        status, primal, dual, nu, F = _solve_qp(L, solver)
        if nu is not None:
            Y = y_from_dual(L, F, nu)
            if quotient is None:
                lower, margin = float_bound(L, Y, margins=M, lam=lam)
            else:  # inf F = inf over span(B): the bound in the coordinates z = B^T Y of that complement
                LW, MW, B = quotient
                lower, margin = float_bound(LW, B.T @ Y, margins=MW, lam=lam)
            r = Y.reshape(-1)
            resid = float(np.linalg.norm((L.Gs @ Y @ L.moments.S) / L.n**2 + L.amat)
                          / max(np.linalg.norm(L.amat), 1e-300))
            mdist = float(np.linalg.norm(r - Ystar.reshape(-1)) / max(np.linalg.norm(Ystar), 1e-300))
    rounding = (margin if math.isfinite(margin) else 0.0) + (upper - Fs if math.isfinite(upper) else 0.0)
    sig = min(15, max(10, math.ceil(-math.log10(gap_tol)) + 4))
    lower, upper = _round_outward(lower, sig, down=True), _round_outward(upper, sig, down=False)
    certified, gap, tol, reasons = _decide(lower, upper, predicted, gap_tol, status, extra, rounding)
    statement = (
        f"For every P, Q in R^({ol.d + 1}x{ol.d + 1}): f(P, Q) >= {lower:.{sig}g} (proven from the {solver} dual point "
        f"of the convex relaxation in m = p (x) vec(Q[:, :d]), float rounding bounded: margin {margin:.1e}); "
        f"the Gamma* point has f <= {upper:.{sig}g}, so it is a global minimiser of the full one-layer loss to "
        f"within {gap:.1e} (tolerance {tol:.1e})."
        if certified else "Not certified: " + "; ".join(reasons) + "."
    )
    return Certificate(
        lower_bound=lower if math.isfinite(lower) else float("nan"), predicted_loss=predicted,
        predicted_upper=upper, gap=gap if math.isfinite(gap) else float("nan"), solver_gap=primal - dual,
        primal=primal, dual=dual, status=status, solver=solver, dual_residual=resid, lambda_lower=lam,
        rounding_margin=margin, minimiser_distance=mdist, gap_tol=tol, certified=certified,
        reason="; ".join(reasons) or "all checks passed", statement=statement,
    )


# -- exact path ---------------------------------------------------------------------------------------
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
    scale = np.array([1.0 if a == b else np.sqrt(2) for (a, b) in _pairs(d)])
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
    if gap_q is not None:
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


def _pairs(d: int) -> list[tuple[int, int]]:
    from iclcheck.numerics.lift import pairs

    return pairs(d)


def _rational_sqrt(q: Fraction) -> Fraction | None:
    q = Fraction(q)
    if q < 0:
        return None
    a, b = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(a, b) if a * a == q.numerator and b * b == q.denominator else None


_ = pair_basis  # re-exported helpers are used by tests through numerics.lift
