"""A proven global lower bound for the one-layer loss, through the lift in which it is a convex quadratic.

The lift (``numerics.one_layer.lift``): f(P, Q) = F(m) with m = p (x) vec(Qd) and, on the (k, i)-symmetric part,

    F(Y) = <Y, G_s Y S> / n^2 + 2 <a_mat, Y> + c0,        A_s = (G_s (x) S) / n^2 positive semidefinite.

Dropping the rank-one constraint on m gives f* = min_{P,Q} f >= min_Y F(Y) (the convex relaxation).

The bound (valid for ANY candidate point Y, whatever produced it). With r = A_s y + a_s and
lambda_lo <= lambda_min(A_s) = lambda_min(G_s) lambda_min(S) / n^2, for every m

    F(m) = F(y) + 2 r^T (m - y) + (m - y)^T A_s (m - y) >= F(y) - r^T A_s^{-1} r >= F(y) - |r|^2 / lambda_lo.

Here y comes from the solver's dual point nu of the QP  min |r|^2 + 2 a_s^T m + c0 s.t. r = F m  (KKT:
F y = -nu / 2; F is diagonal in the Kronecker eigenbasis of A_s, so the QP has r d variables and no dense
matrix: ``numerics.certificate.qp``), so a wrong, inaccurate or adversarial dual can only weaken the bound,
never make it false.
Rigour in float64: F(y) is bounded below, |r| above and lambda_min below with explicit rounding margins:
gamma_K |terms| for every computed sum (the moment formulas have nonnegative coefficients, so the same code
run on |S|, |W|, |S^{1/2}| + delta gives a majorant of the terms, and delta covers the error of the computed
S^{1/2}); eigenvalues by Weyl's theorem with the backward error of eigh (4 P u |G_s|_F) plus the
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

Modules: ``certificate.qp`` (the relaxation as a QP, the point of a dual), ``certificate.bound`` (rounding
margins, the proven bound, the decision), ``certificate.exact`` (the rational route); this module holds
``certify`` and the float route, and re-exports the names callers and tests use.
"""

from __future__ import annotations

import math

import numpy as np

from iclcheck.numerics.certificate.bound import (  # noqa: F401 (re-exported: tests and callers use these names)
    _U,
    Certificate,
    _decide,
    _gamma,
    _lambda_lower,
    _Margins,
    _rademacher_quotient,
    _round_outward,
    _value_bounds,
    float_bound,
)
from iclcheck.numerics.certificate.exact import _certify_exact
from iclcheck.numerics.certificate.qp import (  # noqa: F401 (re-exported)
    KronFactor,
    _solve_qp,
    _solve_qp_dense,
    kron_factor,
    y_from_dual,
)
from iclcheck.numerics.limits import MAX_CERT_DIM, MAX_EXACT_CERT_DIM, MAX_GAP_TOL, QP_SOLVERS
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.lift import LiftedLoss, invariant, sym_coords
from iclcheck.theory.errors import InputError

__all__ = ["Certificate", "MAX_CERT_DIM", "MAX_EXACT_CERT_DIM", "QP_SOLVERS", "certify", "float_bound",
           "y_from_dual"]


def _check_options(solver: str, gap_tol: float) -> None:
    if not isinstance(solver, str) or solver not in QP_SOLVERS:
        raise InputError("solver", f"must be one of {', '.join(QP_SOLVERS)}, got {solver!r}")
    if not (isinstance(gap_tol, (int, float)) and not isinstance(gap_tol, bool) and math.isfinite(gap_tol) and 0 < gap_tol <= MAX_GAP_TOL):
        raise InputError("gap_tol", f"must be a finite number in (0, {MAX_GAP_TOL}], got {gap_tol!r}")



def certify(ol: OneLayer, *, solver: str = "CLARABEL", gap_tol: float = 1e-6, exact: bool = False) -> Certificate:
    """Solve the relaxation, prove a lower bound from the solver's dual point, decide certification."""
    _check_options(solver, gap_tol)
    if not isinstance(exact, (bool, np.bool_)):
        raise InputError("exact", f"must be True or False, got {type(exact).__name__}")
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
    from iclcheck.numerics.one_layer.derivatives import pack

    P, Q = ol.params_from_gamma(ol.gamma_star())
    return pack(P, Q)



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

