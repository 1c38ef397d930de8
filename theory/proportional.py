"""Proportional asymptotics of one-layer linear attention (Lu et al. 2024; Letey et al. 2025), and exact finite-d errors.

Scaling (Lu et al. 2024, arXiv 2405.11751): covariates x ~ N(0, I_d / d), context length ell = alpha d, a pool of
k = kappa d pretraining tasks, n = tau d^2 pretraining contexts, label noise rho (also on the query target). The
predictor is y_hat = <Gamma, H_Z> with H_Z = x_q [ (d/ell) sum_i y_i x_i^T , (1/ell) sum_i y_i^2 ] (d x (d+1)); in the
canonical model (theory/one_layer.py: Sigma = I/d, Sigma_w = I, sigma2 = rho, n_ctx = ell) the x-block is
Gamma_xx = Gamma_canonical / d.

Formulas are reimplemented from the recorded statements (notes/NEXT-CLAIMS.md §2-3), which were read in the authors'
code; each function names its source:

- ``mp_stieltjes``: M_kappa in Pehlevan-Group/icl-asymptotic:Linear/Fig1_Linear_Double_Descent/common.py and (with a
  scale c) mletey/ICL-structured-data:Linear_Simulations/Error_Against_Kappa/optimal_ptr_isotropic_test/theory.py;
- ``result1_e_icl``: "Result 1" (e_ICL_theory) in the same icl-asymptotic common.py;
- ``error_functional``: trace_formula_gamma, mletey/ICL-structured-data:Linear_Simulations/Error_Against_Kappa/
  common.py (leading order in d) and its finite-ell version gen_err_analytical_NEW (icl-asymptotic common.py);
- ``alignment_error_from_pieces``: ICL_error in the Letey theory.py above.

Derived here (not in the sources; derivations in the docstrings, checked in tests/theory/test_proportional.py):
``exact_error`` (the finite-d, finite-ell error of any Gamma, Gaussian covariates, from Isserlis moments) and
``pool_limit_e_icl`` (tau -> infinity: the master formula with Sigma_w = the pool's second moment).

The functions take numpy arrays (broadcast, vectorised) or sympy expressions (``lib=sympy`` where a square root is
taken); nothing here is numerical search (that is numerics/proportional.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["TaskMoments", "error_functional", "exact_error", "mp_stieltjes", "mp_stieltjes_deriv", "pool_limit_e_icl",
           "proportional_master_limit", "result1_e_icl", "result1_expr", "task_moments_gaussian",
           "task_moments_pool", "alignment_error_from_pieces", "rag_risk", "rag_risk_terms", "mp_sqrt"]


def _lib(*args: Any):
    """numpy, or sympy when any argument is a sympy object (exact checks)."""
    for a in args:
        if type(a).__module__.startswith("sympy"):
            import sympy

            return sympy
    return np


def _inv_kappa(kappa: Any, lib) -> Any:
    """1/kappa with kappa = inf -> 0 (numpy)."""
    if lib is np:
        k = np.asarray(kappa, float)
        with np.errstate(divide="ignore"):
            return np.where(np.isinf(k), 0.0, 1.0 / k)
    return 1 / kappa


def _b(x: Any, kappa: Any, c: Any, lib) -> Any:
    """b = x + c - c/kappa, in floats as x + c (kappa - 1)/kappa: kappa - 1 is exact near 1 (Sterbenz) and x is not
    absorbed into c first (x + 1 - 1 would lose x's digits)."""
    if lib is np:
        k = np.asarray(kappa, float)
        with np.errstate(invalid="ignore"):
            return x + c * np.where(np.isinf(k), 1.0, (k - 1.0) / k)
    return x + c - c / kappa


def mp_stieltjes(x: Any, kappa: Any, c: Any = 1) -> Any:
    """M = lim (1/d) tr (R + x I)^{-1}, x > 0, for R = (1/k) sum_j w_j w_j^T, w_j ~ N(0, c I_d), k = kappa d.

    Marchenko-Pastur with ratio g = d/k = 1/kappa and scale c: M solves c g x M^2 + (x + c - c g) M - 1 = 0.
    The product of the two roots is -1/(c g x) < 0, so exactly one root is positive: the Stieltjes transform at
    z = -x < 0 is positive, so this is the branch: M = 2 / (b + sqrt(b^2 + 4 c g x)), b = x + c - c g. In floats that
    form cancels when b < 0 (kappa < 1, small x: b + sqrt(.) ~ |b| - |b|), so there numpy uses the equal form
    (sqrt(b^2 + 4 c g x) - b) / (2 c g x), a sum of positives (tested to 1e-13 against 50-digit roots). kappa = inf
    gives 1/(x + c) (R -> c I). sympy arguments get the first form (exact)."""
    lib = _lib(x, kappa, c)
    g = _inv_kappa(kappa, lib)
    b = _b(x, kappa, c, lib)
    root = lib.sqrt(b * b + 4 * c * g * x)
    if lib is np:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b >= 0, 2 / (b + root), (root - b) / (2 * c * g * x))
    return 2 / (b + root)


def mp_stieltjes_deriv(x: Any, kappa: Any, c: Any = 1) -> Any:
    """dM/dx = -lim (1/d) tr (R + x)^{-2} (negative), by implicit differentiation of the quadratic of
    ``mp_stieltjes``: dM/dx = -(c g M^2 + M) / sqrt(b^2 + 4 c g x) (the denominator 2 c g x M + b equals the
    square root on the chosen branch, so it is positive: no cancellation)."""
    lib = _lib(x, kappa, c)
    g = _inv_kappa(kappa, lib)
    b = _b(x, kappa, c, lib)
    M = mp_stieltjes(x, kappa, c)
    return -(c * g * M * M + M) / lib.sqrt(b * b + 4 * c * g * x)


def _kstar(m: Any, kappa: Any, lib) -> Any:
    """k* = (1 - kappa (m/(kappa+m))^2)^{-1}, written as (1 - m^2 g / (1 + m g)^2)^{-1} (g = 1/kappa, finite at inf)."""
    g = _inv_kappa(kappa, lib)
    return 1 / (1 - m * m * g / (1 + m * g) ** 2)


def result1_expr(tau: Any, alpha: Any, kappa: Any, rho: Any, *, below: bool) -> Any:
    """Lu et al. Result 1 as recorded (notes/NEXT-CLAIMS.md §2.1, [READ-code]; e_ICL_theory in
    Pehlevan-Group/icl-asymptotic:Linear/Fig1_Linear_Double_Descent/common.py), one branch: ``below`` = tau < 1.

    x* = (1+rho)/alpha, m = M_kappa(x*), mu = x* M_{kappa/tau}(x*);
    tau < 1: tau (1+x*)/(1-tau) (1 - tau (1-mu)^2 - (x*-rho)/x* mu) - 2 tau (1-mu) + rho + 1;
    tau > 1: (k* - 1/(tau-1)) (1+x*) (x* m)^2 + (3-2tau)/(tau-1) m x*^2 + ((1+rho)/(tau-1) m + 1) x*
             + rho m/(tau-1) + rho, with k* = (1 - kappa (m/(kappa+m))^2)^{-1}.
    (3-2tau)/(tau-1) is written -2 + 1/(tau-1) and kappa/tau as 1/(tau g), so tau = inf and kappa = inf are finite.
    Numpy or sympy arguments."""
    lib = _lib(tau, alpha, kappa, rho)
    xs = (1 + rho) / alpha
    if below:
        kt = kappa / tau if lib is not np else np.divide(kappa, tau)
        mu = xs * mp_stieltjes(xs, kt)
        return tau * (1 + xs) / (1 - tau) * (1 - tau * (1 - mu) ** 2 - (xs - rho) / xs * mu) - 2 * tau * (1 - mu) + rho + 1
    m = mp_stieltjes(xs, kappa)
    ks = _kstar(m, kappa, lib)
    if lib is np:
        with np.errstate(divide="ignore"):
            r = np.where(np.isinf(tau), 0.0, 1.0 / (np.asarray(tau, float) - 1.0))
    else:
        r = 1 / (tau - 1)
    return ((ks - r) * (1 + xs) * (xs * m) ** 2 + (-2 + r) * m * xs**2 + ((1 + rho) * r * m + 1) * xs
            + rho * m * r + rho)


def result1_e_icl(tau: Any, alpha: Any, kappa: Any, rho: Any) -> np.ndarray:
    """Lu et al. Result 1 (``result1_expr``) vectorised over broadcast arrays of (tau, alpha, kappa, rho); tau = 1
    (the interpolation threshold, where the formula has a pole) gives nan; tau and kappa may be inf."""
    tau, alpha, kappa, rho = np.broadcast_arrays(*(np.asarray(v, float) for v in (tau, alpha, kappa, rho)))
    if np.any(tau <= 0) or np.any(alpha <= 0) or np.any(kappa <= 0) or np.any(rho < 0) or not (
            np.all(np.isfinite(alpha)) and np.all(np.isfinite(rho))):
        raise InputError("ratios", "need tau > 0, alpha > 0 (finite), kappa > 0, rho >= 0 (finite)")
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = result1_expr(np.where(tau < 1, tau, 0.5), alpha, kappa, rho, below=True)
        hi = result1_expr(np.where(tau > 1, tau, 2.0), alpha, kappa, rho, below=False)
    return np.where(tau < 1, lo, np.where(tau > 1, hi, np.nan))


def proportional_master_limit(alpha: Any, rho: Any) -> Any:
    """tau, kappa -> inf: rho + (1+rho)/(alpha+1+rho) (master formula, Sigma = I/d, Sigma_w = I, n = alpha d,
    d -> inf; the rho is the noisy query target)."""
    return rho + (1 + rho) / (alpha + 1 + rho)


def pool_limit_e_icl(alpha: Any, kappa: Any, rho: Any) -> Any:
    """tau -> inf at finite kappa [DERIVED]: the master optimum with Sigma_w = R (the pool's second moment, an MP
    matrix), tested on w ~ N(0, I): with x = (1+rho)/alpha, m = lim (1/d) tr (R+x)^{-1}, m2 = lim (1/d) tr (R+x)^{-2},
    e = x - 2 x^2 m + (1+x) x^2 m2 + rho (Gamma* ~ d R (R + x)^{-1} to leading order)."""
    x = (1 + rho) / alpha
    m = mp_stieltjes(x, kappa)
    m2 = -mp_stieltjes_deriv(x, kappa)
    return x - 2 * x * x * m + (1 + x) * x * x * m2 + rho


# -- errors of an arbitrary Gamma = [G, g] in R^{d x (d+1)} -------------------------------------------------------

class TaskMoments:
    """The moments of the task law an error needs (y = w^T x + eps, x ~ N(0, I/d), s2(w) = |w|^2/d + rho is the
    conditional variance of y): m2 = E[w w^T], v1 = E[s2(w) w], s1 = E[s2(w)], s2 = E[s2(w)^2]."""

    def __init__(self, m2: np.ndarray, v1: np.ndarray, s1: float, s2: float, mean: np.ndarray):
        self.m2, self.v1, self.s1, self.s2, self.mean = m2, v1, float(s1), float(s2), mean


def task_moments_pool(W: np.ndarray, rho: float) -> TaskMoments:
    """Exact moments of w uniform on the rows of W (k x d), e.g. a pretraining pool (the IDG test law)."""
    W = np.asarray(W, float)
    k, d = W.shape
    s = np.sum(W * W, axis=1) / d + rho  # (k,) conditional variance of y per task
    return TaskMoments(W.T @ W / k, (s[:, None] * W).mean(0), s.mean(), np.mean(s * s), W.mean(0))


def task_moments_gaussian(mu: np.ndarray, C: np.ndarray, rho: float) -> TaskMoments:
    """Exact moments of w ~ N(mu, C) (Isserlis): E|w|^2 = tr C + |mu|^2, E[|w|^2 w] = (tr C + |mu|^2) mu + 2 C mu,
    Var |w|^2 = 2 tr C^2 + 4 mu^T C mu."""
    mu = np.asarray(mu, float)
    C = np.asarray(C, float)
    d = mu.size
    e2 = np.trace(C) + mu @ mu
    v1 = (e2 * mu + 2 * C @ mu) / d + rho * mu
    e4 = 2 * np.sum(C * C) + 4 * mu @ C @ mu + e2 * e2
    s1 = e2 / d + rho
    s2 = e4 / d**2 + 2 * rho * e2 / d + rho**2
    return TaskMoments(C + np.outer(mu, mu), v1, s1, s2, mu)


def exact_error(Gamma: np.ndarray, ell: int, rho: float, tm: TaskMoments) -> float:
    """Exact E (y_q - <Gamma, H_Z>)^2 for x ~ N(0, I/d), noise rho on every label (query too), context length ell,
    any task law with moments ``tm`` [DERIVED]. With u = (d/ell) sum y_i x_i, s = (1/ell) sum y_i^2, given w
    (s2 = |w|^2/d + rho; Isserlis for E[y^2 x x^T], Gaussian y for E y^4, E[y^3 x] = 3 s2 w/d):
    E u = w, E u u^T = (d/ell) s2 I + (1 + 1/ell) w w^T, E s = s2, E s^2 = (1 + 2/ell) s2^2, E u s = (1 + 2/ell) s2 w,
    so with Gamma = [G, g]: e = rho + (1/d) E_w[ (d/ell) s2 |G|_F^2 + (1+1/ell) w^T G^T G w + 2 (1+2/ell) s2 g^T G w
    + (1+2/ell) s2^2 |g|^2 - 2 w^T G w - 2 s2 g^T w + |w|^2 ]."""
    Gm = np.asarray(Gamma, float)
    d = Gm.shape[0]
    if Gm.shape != (d, d + 1):
        raise InputError("Gamma", f"must be d x (d+1), got shape {Gm.shape}")
    G, g = Gm[:, :d], Gm[:, d]
    a1, a2 = 1 + 1 / ell, 1 + 2 / ell
    val = ((d / ell) * tm.s1 * np.sum(G * G) + a1 * np.sum((G.T @ G) * tm.m2) + 2 * a2 * g @ G @ tm.v1
           + a2 * tm.s2 * (g @ g) - 2 * np.sum(G * tm.m2.T) - 2 * g @ tm.v1 + np.trace(tm.m2))
    return float(rho + val / d)


def error_functional(Gamma: np.ndarray, alpha: float, rho: float, mu: np.ndarray, C: np.ndarray, *,
                     corner: float | None = None, ell: int | None = None) -> float:
    """Leading-order (d -> inf) error of Gamma = [G, g] on test tasks with mean mu, covariance C (Letey's
    trace_formula_gamma, as recorded in notes/NEXT-CLAIMS.md §2.2): C_hat = C + mu mu^T, x = tr C_hat/d + rho,
    e = rho + tr C_hat/d - (2/d) tr(Gamma^T A) + (1/d) tr(Gamma B Gamma^T), A = [C_hat, x mu],
    B = [[C_hat + (x/alpha) I, x mu], [x mu^T, x^2]]. ``corner`` replaces B's corner x^2 (to evaluate the
    recorded code variant 1 + rho**2 of Lu's e_ICL_g_tr). ``ell`` adds the finite-ell factors of Lu's
    gen_err_analytical_NEW (Pehlevan-Group/icl-asymptotic:Linear/Fig1_Linear_Double_Descent/common.py): (1 + 1/ell)
    on C_hat in B's x-block, (1 + 2/ell) on its last row and column; for tasks with |w|^2 = d exactly (the authors'
    sphere-normalised pool) that version equals ``exact_error`` (derived there)."""
    Gm = np.asarray(Gamma, float)
    d = Gm.shape[0]
    mu = np.asarray(mu, float)
    Ch = np.asarray(C, float) + np.outer(mu, mu)
    x = np.trace(Ch) / d + rho
    A = np.hstack([Ch, x * mu[:, None]])  # (d, d+1)
    B = np.zeros((d + 1, d + 1))
    a1, a2 = (1.0, 1.0) if ell is None else (1 + 1 / ell, 1 + 2 / ell)
    B[:d, :d] = a1 * Ch + (x / alpha) * np.eye(d)
    B[:d, d] = B[d, :d] = a2 * x * mu
    B[d, d] = a2 * x * x if corner is None else corner
    return float(rho + np.trace(Ch) / d - 2 / d * np.sum(Gm * A) + np.sum((Gm @ B) * Gm) / d)


def alignment_error_from_pieces(*, tau: Any, alpha: Any, rho: Any, rho_te: Any, xi: Any, nu: Any, M: Any, Mp: Any,
                                tr_te_F: Any, tr_te_F2: Any) -> Any:
    """Letey et al. 2025 ICL error as recorded (notes/NEXT-CLAIMS.md §3.1; ICL_error in
    mletey/ICL-structured-data:Linear_Simulations/Error_Against_Kappa/optimal_ptr_isotropic_test/theory.py), from its
    pieces: nu = rho_tr/alpha + xi, M = lim (1/d) tr (R+nu)^{-1}, Mp = dM/dnu = -lim (1/d) tr (R+nu)^{-2},
    tr_te_F = (1/d) tr(C_te F), tr_te_F2 = (1/d) tr(C_te F2) (numerics/proportional.py computes them for a matrix
    C_tr; the source estimates M, Mp by sampling R, here they are deterministic equivalents):
    idg = (rho + nu - nu^2 M - xi (1 - 2 nu M - nu^2 Mp)) / (tau - (1 - 2 xi M - xi^2 Mp)),
    e = rho + (rho_te/alpha)(1 + (idg - 2 nu) M + (xi idg - nu^2) Mp) + idg tr_te_F - (idg xi - nu^2) tr_te_F2.
    Numpy or sympy arguments."""
    idg = (rho + nu - nu**2 * M - xi * (1 - 2 * nu * M - nu**2 * Mp)) / (tau - (1 - 2 * xi * M - xi**2 * Mp))
    pre = rho + (rho_te / alpha) * (1 + (idg - 2 * nu) * M + (xi * idg - nu**2) * Mp)
    return pre + idg * tr_te_F - (idg * xi - nu**2) * tr_te_F2


# -- correlated (RAG) context, Li-Rawat-Oymak 2024 as recorded (notes/NEXT-CLAIMS.md §10) --------------------------

def rag_risk_terms(d: Any, n: Any, a: Any, sigma2: Any = 0) -> tuple[Any, Any, Any]:
    """(A, B, C) with E (gamma x_q^T h - beta^T x_q)^2 = A gamma^2 - 2 B gamma + C for the one-step predictor
    gamma x_q^T h, h = (1/n) sum_i y_i x_i, in the naive RAG model x_i = a x_q + b z_i (b^2 = 1 - a^2), x_q, z_i ~ N(0, I_d),
    beta ~ N(0, I_d), y_i = beta^T x_i + eps_i, eps_i ~ N(0, sigma2), noiseless query target [DERIVED].
    Given x_q (r = |x_q|^2) and beta, the x_i are iid N(a x_q, b^2 I), so E h = (a^2 x_q x_q^T + b^2 I) beta and
    n Var(x_q^T h) = Var(y u), u = x_q^T x_i, with (u, y) jointly Gaussian: means (a r, a beta^T x_q), variances
    (b^2 r, b^2 |beta|^2 + sigma2), covariance b^2 x_q^T beta; Var(XY) = mX^2 vY + mY^2 vX + 2 mX mY c + vX vY + c^2.
    Averaging over beta, then over r ~ chi^2_d (E r = d, E r^2 = d(d+2), E r^3 = d(d+2)(d+4)):
    A = E[(a^2 r + b^2)^2 r] + (1/n) E[(a^2 (b^2 d + sigma2) + 3 a^2 b^2) r^2 + (b^2 (b^2 d + sigma2) + b^4) r],
    B = E[(a^2 r + b^2) r], C = d. a = 0 is the i.i.d. master formula (Sigma = Sigma_w = I). Numpy or sympy."""
    b2 = 1 - a * a
    r1, r2, r3 = d, d * (d + 2), d * (d + 2) * (d + 4)
    A = (a**4 * r3 + 2 * a * a * b2 * r2 + b2 * b2 * r1
         + ((a * a * (b2 * d + sigma2) + 3 * a * a * b2) * r2 + (b2 * (b2 * d + sigma2) + b2 * b2) * r1) / n)
    B = a * a * r2 + b2 * r1
    return A, B, d


def rag_risk(d: Any, n: Any, a: Any, sigma2: Any = 0, gamma: Any = None) -> Any:
    """The RAG one-step risk at ``gamma`` (``rag_risk_terms``), or at the optimal scalar gamma* = B/A when None:
    C - B^2/A."""
    A, B, C = rag_risk_terms(d, n, a, sigma2)
    if gamma is None:
        return C - B * B / A
    return A * gamma * gamma - 2 * B * gamma + C


def mp_sqrt(x, kappa):
    """The square root that mp_stieltjes takes, sqrt((x + 1 - 1/kappa)^2 + 4 x/kappa), as sympy builds it."""
    import sympy as sp

    g = 1 / kappa
    return sp.sqrt((x + 1 - g) ** 2 + 4 * g * x)
