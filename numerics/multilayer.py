"""Fast float versions of ``theory.multilayer``: L-layer losses on Ahn et al.'s families (8) and (11),
their optimal coefficients, and full-matrix gradients by backprop through the literal forward pass.

Everything is in the whitened frame of ``theory.multilayer`` (Sigma = I, w ~ N(0, I), A_l = a_l I,
B_l = b_l I): for a setting with covariance Sigma the family is A_l = a_l Sigma^{-1}, B_l = b_l I with
w ~ N(0, Sigma^{-1}) and the loss does not depend on Sigma.

Loss as a quadratic form: with p(x) = sum_j c_j x^j and the (L+1)x(L+1) matrix
Htil_{jk} = m_{j+k} + (sigma2/n) m_{j+k-1} [j, k >= 1], f = c^T Htil c (m_k = E tr S^k, exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import optimize

from iclcheck.numerics.forward import lsa_forward
from iclcheck.numerics.random_matrices import ahn_sigma, haar_orthogonal, whitening_matrix  # noqa: F401 (re-exported)
from iclcheck.theory.errors import InputError
from iclcheck.theory.multilayer import gdpp_degree, optimal_gd_exact
from iclcheck.theory.sample_moments import wishart_moments
from iclcheck.theory.setting import Setting

__all__ = [
    "MAX_GD_LAYERS",
    "FamilyProblem",
    "GDOptimum",
    "GDPPOptimum",
    "float_moments",
    "problem_from",
    "gd_loss",
    "gd_loss_grad",
    "gdpp_loss",
    "gdpp_loss_grad",
    "spectral_quadrature",
    "optimal_gd",
    "optimal_gd_coefficients",
    "optimal_gdpp",
    "family_params",
    "lsa_loss_and_grads",
    "mc_full_gradient",
    "MCGradient",
    "literal_loss",
    "word_expectation",
    "full_gd_loss",
    "haar_orthogonal",
    "ahn_sigma",
    "whitening_matrix",
    "bonferroni_z",
    "gdpp_loss_mc",
    "gd_critical_points",
]


@lru_cache(maxsize=64)
def _moments_cached(K: int, n: int, d: int) -> tuple[float, ...]:
    W = wishart_moments(K, n=n, d=d)  # exact ints
    return tuple(float(w) / float(n) ** k for k, w in enumerate(W))  # E tr(S^k)


def float_moments(K: int, *, n: int, d: int) -> np.ndarray:
    """[E tr(S^k)]_{k=0..K} as floats (from the exact integer Wishart moments)."""
    return np.array(_moments_cached(int(K), int(n), int(d)))


@dataclass(frozen=True)
class FamilyProblem:
    """The whitened problem: dimension d, context length n, noise sigma2; ``Sigma`` only for display
    and for mapping coefficients back to full matrices (A_l = a_l Sigma^{-1})."""

    d: int
    n: int
    sigma2: float = 0.0
    Sigma: np.ndarray | None = None

    @property
    def isotropic(self) -> bool:
        return self.Sigma is None or bool(np.allclose(self.Sigma, np.eye(self.d), atol=1e-14))


def problem_from(spec: Any, *, sigma2: float | None = None) -> FamilyProblem:
    """A Setting (Gaussian, w ~ N(0, Sigma^{-1}) or Sigma = Sigma_w = I), or a tuple (d, n[, sigma2])."""
    if isinstance(spec, FamilyProblem):
        return spec
    if isinstance(spec, Setting):
        if spec.n_is_symbolic:
            raise InputError("n", "the multi-layer optimum needs a numeric n")
        if not spec.gaussian:
            raise InputError("covariates", f"the exact multi-layer losses are for Gaussian data, got {spec.covariates}")
        iso = np.allclose(spec.Sigma, np.eye(spec.d), atol=1e-14) and np.allclose(spec.Sigma_w, np.eye(spec.d))
        if spec.task_cov_kind != "inverse" and not iso:
            raise InputError(
                "task prior", "the family A_i = a_i Sigma^-1 reduces exactly to Sigma = I only for "
                "w ~ N(0, Sigma^-1) (Ahn et al. Thm 3/4) or Sigma = Sigma_w = I; use the inverse prior")
        s2 = spec.sigma2 if sigma2 is None else float(sigma2)
        return FamilyProblem(d=spec.d, n=int(spec.n), sigma2=float(s2), Sigma=spec.Sigma.copy())
    try:
        vals = tuple(spec)
    except TypeError:
        raise InputError("problem", f"expected a Setting or a tuple (d, n[, sigma2]), got {spec!r}") from None
    if len(vals) not in (2, 3):
        raise InputError("problem", f"expected (d, n) or (d, n, sigma2), got {len(vals)} values")
    d, n = vals[0], vals[1]
    for what, v in (("d", d), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(what, f"must be a positive integer, got {v!r}")
    s2 = float(vals[2]) if len(vals) == 3 else 0.0
    if sigma2 is not None:
        s2 = float(sigma2)
    if not np.isfinite(s2) or s2 < 0:
        raise InputError("noise variance sigma2", f"must be finite and >= 0, got {s2}")
    return FamilyProblem(d=int(d), n=int(n), sigma2=s2)


def _Htil(K: int, pr: FamilyProblem) -> np.ndarray:
    """(K+1)x(K+1) matrix of the quadratic form f = c^T Htil c for deg p = K (monomial basis; ill
    conditioned for large K because of cancellation; used only for small K and in tests)."""
    m = float_moments(2 * K, n=pr.n, d=pr.d)
    j = np.arange(K + 1)
    H = m[j[:, None] + j[None, :]]  # (K+1, K+1)
    if pr.sigma2:
        idx = j[:, None] + j[None, :] - 1
        mask = (j[:, None] >= 1) & (j[None, :] >= 1)
        H = H + np.where(mask, pr.sigma2 / pr.n * m[np.clip(idx, 0, None)], 0.0)
    return H


@lru_cache(maxsize=64)
def _quadrature_cached(N: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    import mpmath

    with mpmath.workdps(30 + 4 * N):
        W = wishart_moments(2 * N, n=n, d=d)
        m = [mpmath.mpf(w) / mpmath.mpf(n) ** k for k, w in enumerate(W)]
        H = mpmath.matrix(N + 1, N + 1)
        for i in range(N + 1):
            for j in range(N + 1):
                H[i, j] = m[i + j]
        R = mpmath.cholesky(H).T  # upper triangular, H = R^T R
        J = mpmath.matrix(N, N)
        for k in range(N):
            J[k, k] = R[k, k + 1] / R[k, k] - (R[k - 1, k] / R[k - 1, k - 1] if k > 0 else 0)
            if k < N - 1:
                J[k, k + 1] = J[k + 1, k] = R[k + 1, k + 1] / R[k, k]
        E, V = mpmath.eigsy(J)
        nodes = np.array([float(E[i]) for i in range(N)])
        weights = np.array([float(m[0] * V[0, i] ** 2) for i in range(N)])
    order = np.argsort(nodes)
    return nodes[order], weights[order]


def spectral_quadrature(deg: int, *, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes x_i > 0 and weights w_i with sum_i w_i x_i^k = E tr(S^k) exactly for k <= deg.

    Built from the exact moments by Golub-Welsch in high precision (mpmath), then rounded: evaluating
    f = sum_i w_i p(x_i)^2 with p as a product of factors avoids the cancellation of the monomial form."""
    N = max(int(deg) // 2 + 1, 1)
    return _quadrature_cached(N, int(n), int(d))


def _quad_loss(pvals: np.ndarray, x: np.ndarray, w: np.ndarray, pr: FamilyProblem) -> Any:
    """sum w p^2 + (sigma2/n) sum w (1 - p)^2 / x (p(x) r(x) form of theory.multilayer)."""
    val = np.sum(w * pvals**2)
    if pr.sigma2:
        val = val + pr.sigma2 / pr.n * np.sum(w * (1.0 - pvals) ** 2 / x)
    return val


def gd_loss(a: Any, problem: Any) -> float:
    """Exact population loss of L = len(a) layers under (8), A_l = a_l Sigma^{-1} (float, via the
    exact spectral quadrature of E tr p(S)^2, p(x) = prod_l (1 - a_l x))."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    x, w = spectral_quadrature(2 * a.size, n=pr.n, d=pr.d)
    p = np.prod(1.0 - a[:, None] * x[None, :], axis=0)  # (N,)
    return float(_quad_loss(p, x, w, pr))


def gd_loss_grad(a: Any, problem: Any) -> np.ndarray:
    """d f / d a_l (exact polynomial calculus): dp/da_l = -x prod_{k != l} (1 - a_k x)."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    L = a.size
    x, w = spectral_quadrature(2 * L, n=pr.n, d=pr.d)
    F = 1.0 - a[:, None] * x[None, :]  # (L, N) factors
    p = np.prod(F, axis=0)  # (N,)
    g = np.empty(L)
    for l in range(L):
        dp = -x * np.prod(np.delete(F, l, axis=0), axis=0)  # (N,)
        val = 2.0 * np.sum(w * p * dp)
        if pr.sigma2:
            val -= 2.0 * pr.sigma2 / pr.n * np.sum(w * (1.0 - p) * dp / x)
        g[l] = val
    return g


MAX_GD_LAYERS = 20  # L = 20 takes ~9 s (moments up to degree 42); beyond grows like partition numbers


@dataclass(frozen=True)
class GDOptimum:
    """Optimal (8)-family coefficients (ascending; any permutation is equally optimal) and loss."""

    coefficients: np.ndarray
    loss: float
    certified: bool  # global min over R^L proven (convex in c, minimiser real-rooted)
    problem: FamilyProblem
    gradient_norm: float
    poly: np.ndarray = field(repr=False)
    exact: bool = False
    lower_bound: float = float("nan")  # min over ALL degree-L filters p(0) = 1 (convex; = loss when certified)


def optimal_gd(problem: Any, L: int, *, exact: bool | None = None) -> GDOptimum:
    """Global minimiser of the (8)-family loss over a in R^L.

    Method: minimise the convex quadratic in the coefficients of p (H > 0), then a_l = roots of
    t^L + c_1 t^{L-1} + ... + c_L. When all roots are real (always observed; guaranteed without noise by
    the kernel-polynomial argument) the restricted global minimum is attained there. ``exact`` (default
    for L <= 12) does the solve and the real-root count in rational arithmetic."""
    pr = problem_from(problem)
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise InputError("L (number of layers)", f"must be a positive integer, got {L!r}")
    L = int(L)
    if L > MAX_GD_LAYERS:
        raise InputError("L (number of layers)", f"at most {MAX_GD_LAYERS} layers: the exact loss needs all mixed "
                         f"moments of S up to degree {2 * L + 2} (the recursion grows like the partition numbers)")
    if exact is None:
        exact = L <= 12
    if exact:
        from fractions import Fraction

        import sympy as sp

        s2 = Fraction(pr.sigma2).limit_denominator(10**12)
        opt = optimal_gd_exact(L, n=pr.n, d=pr.d, sigma2=sp.Rational(s2.numerator, s2.denominator))
        poly = np.array([float(ci) for ci in opt.c])
        if opt.a_roots is not None:
            a = np.array(opt.a_float())
            certified = opt.certified
        else:
            a, certified = _multistart_gd(pr, L), False
        loss = gd_loss(a, pr)
        lower = float(opt.loss)
    else:
        a, poly, certified, lower = _stable_gd_optimum(pr, L)
        loss = gd_loss(a, pr)
    g = gd_loss_grad(a, pr)
    return GDOptimum(coefficients=np.sort(a), loss=float(loss), certified=bool(certified), problem=pr,
                     gradient_norm=float(np.linalg.norm(g)), poly=poly, exact=bool(exact),
                     lower_bound=min(lower, float(loss)))


def _stable_gd_optimum(pr: FamilyProblem, L: int) -> tuple[np.ndarray, np.ndarray, bool, float]:
    """Float path: the convex problem as weighted least squares at the Gauss nodes, with
    p(x) = 1 + x q(x), q in a Chebyshev basis on [0, max node]; then a_l = 1 / roots of p,
    polished by Newton steps on the exact gradient."""
    from numpy.polynomial import chebyshev as C
    from numpy.polynomial import polynomial as Pm

    x, w = spectral_quadrature(2 * L, n=pr.n, d=pr.d)
    xm = float(x.max())
    t = 2.0 * x / xm - 1.0
    Phi = x[:, None] * C.chebvander(t, L - 1)  # (N, L) basis x T_j(t)
    rows = [np.sqrt(w)[:, None] * Phi]
    rhs = [-np.sqrt(w)]
    if pr.sigma2:
        rows.append(np.sqrt(pr.sigma2 / pr.n * w / x)[:, None] * Phi)
        rhs.append(np.zeros_like(x))
    Amat, bvec = np.vstack(rows), np.concatenate(rhs)
    coef, *_ = np.linalg.lstsq(Amat, bvec, rcond=None)
    lower = float(np.sum((Amat @ coef - bvec) ** 2))  # the convex minimum (quadrature is exact for it)
    p_cheb = C.chebadd([1.0], C.chebmul(C.chebadd([1.0], [0.0, 1.0]) * (xm / 2.0), coef))  # in t
    roots_t = C.chebroots(p_cheb)
    if np.all(np.abs(roots_t.imag) <= 1e-8):
        xr = (roots_t.real + 1.0) * xm / 2.0
        a = np.sort(1.0 / xr)
        for _ in range(20):  # Newton polish on the exact gradient
            g = gd_loss_grad(a, pr)
            Hn = np.array([(gd_loss_grad(a + e, pr) - gd_loss_grad(a - e, pr)) / 2e-7
                           for e in 1e-7 * np.eye(L)])
            try:
                step = np.linalg.solve((Hn + Hn.T) / 2, g)
            except np.linalg.LinAlgError:
                break
            a = a - step
            if np.linalg.norm(step) < 1e-14 * max(1.0, np.linalg.norm(a)):
                break
        a = np.sort(a)
    else:
        a = _multistart_gd(pr, L)
    poly = np.array([1.0])
    for al in a:
        poly = Pm.polymul(poly, [1.0, -al])  # p(x) = prod (1 - a_l x), ascending coefficients
    return a, poly, False, lower


def _multistart_gd(pr: FamilyProblem, L: int, *, starts: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    best, best_val = None, np.inf
    for _ in range(starts):
        x0 = rng.uniform(0.05, 3.0, size=L)
        r = optimize.minimize(gd_loss, x0, args=(pr,), jac=gd_loss_grad, method="BFGS")
        if r.fun < best_val:
            best, best_val = r.x, r.fun
    return np.sort(best)


def optimal_gd_coefficients(problem: Any, L: int) -> tuple[np.ndarray, float]:
    """(a_0..a_{L-1} ascending, minimal loss) for the (8) family A_l = a_l Sigma^{-1}.

    ``problem``: a Setting (Gaussian; w ~ N(0, Sigma^{-1}) or Sigma = Sigma_w = I) or (d, n[, sigma2]).
    The loss is symmetric in the a_l, so the layer order is a free choice (returned ascending)."""
    opt = optimal_gd(problem, L)
    return opt.coefficients.copy(), opt.loss


# ----------------------------------------------------------------------------- GD++ (condition (11))


def _gdpp_p_at(a: Any, b: Any, x: np.ndarray) -> np.ndarray:
    """p(x) = prod_l (1 - a_l x T_l^2), T_{l+1} = (1 - a_l b_l x T_l^2) T_l at points x (real or complex a, b)."""
    T = np.ones_like(x, dtype=np.result_type(x, np.asarray(a), np.asarray(b)))
    p = np.ones_like(T)
    for l, al in enumerate(a):
        xT2 = x * T * T
        p = p * (1.0 - al * xT2)
        if l < len(a) - 1:
            T = (1.0 - al * b[l] * xT2) * T
    return p


def gdpp_loss(a: Any, b: Any, problem: Any) -> float:
    """Exact population loss under (11), A_l = a_l Sigma^{-1}, B_l = b_l I (b_{L-1} unused), via the
    exact spectral quadrature for degree 2 deg p."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if b.size < a.size - 1:
        raise InputError("b coefficients", f"need at least L-1 = {a.size - 1} values, got {b.size}")
    x, w = spectral_quadrature(2 * gdpp_degree(a.size), n=pr.n, d=pr.d)
    return float(_quad_loss(_gdpp_p_at(a, b, x), x, w, pr))


def gdpp_loss_grad(a: Any, b: Any, problem: Any) -> tuple[np.ndarray, np.ndarray]:
    """(df/da, df/db) by complex-step differentiation of the quadrature form (exact to rounding);
    df/db_{L-1} = 0."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    L = a.size
    b = np.concatenate([np.asarray(b, dtype=float).ravel()[: L - 1], np.zeros(1)])[:L]
    x, w = spectral_quadrature(2 * gdpp_degree(L), n=pr.n, d=pr.d)
    h = 1e-30
    ga, gb = np.zeros(L), np.zeros(L)
    for l in range(L):
        e = np.zeros(L, dtype=complex)
        e[l] = 1j * h
        ga[l] = _quad_loss(_gdpp_p_at(a + e, b.astype(complex), x), x, w, pr).imag / h
        if l < L - 1:
            gb[l] = _quad_loss(_gdpp_p_at(a.astype(complex), b + e, x), x, w, pr).imag / h
    return ga, gb


@dataclass(frozen=True)
class GDPPOptimum:
    a: np.ndarray
    b: np.ndarray  # length L; b_{L-1} does not enter the loss and is reported as 0
    loss: float
    gradient_norm: float
    attained: bool  # finite minimiser found with small gradient and bounded coefficients
    problem: FamilyProblem
    starts: int
    spread: float  # max loss difference among the best 5% of starts (a multistart agreement figure)


def _gdpp_split(theta: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    a = theta[:L]
    b = np.concatenate([theta[L:], [0.0]])
    return a, b


def optimal_gdpp(problem: Any, L: int, *, starts: int = 24, seed: int = 0) -> GDPPOptimum:
    """Minimise the GD++ loss over (a_0..a_{L-1}, b_0..b_{L-2}): multistart BFGS on the exact gradient,
    polished by a trust-region Newton method (Hessian by differences of the exact gradient).

    Not a certificate: the loss is a polynomial of degree 2 deg p in 2L-1 variables with many local
    minima for L = 3; we report the best of ``starts`` runs, its gradient norm and the agreement of the
    best runs (``spread``)."""
    pr = problem_from(problem)
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise InputError("L (number of layers)", f"must be a positive integer, got {L!r}")
    L = int(L)
    if L > 3:
        raise InputError("L (number of layers)", "the exact GD++ loss needs moments up to degree 80 for "
                         "L = 4; use L <= 3 (Monte Carlo beyond)")
    rng = np.random.default_rng(seed)
    a_gd = optimal_gd(pr, L).coefficients

    def fun(theta: np.ndarray) -> float:
        a, b = _gdpp_split(theta, L)
        return gdpp_loss(a, b, pr)

    def jac(theta: np.ndarray) -> np.ndarray:
        a, b = _gdpp_split(theta, L)
        ga, gb = gdpp_loss_grad(a, b, pr)
        return np.concatenate([ga, gb[: L - 1]])

    def hess(theta: np.ndarray) -> np.ndarray:
        h = 1e-6 * np.maximum(1.0, np.abs(theta))
        Hm = np.array([(jac(theta + e) - jac(theta - e)) / (2 * e[i]) for i, e in enumerate(np.diag(h))])
        return (Hm + Hm.T) / 2

    results = []
    for s in range(starts):
        if s == 0:
            x0 = np.concatenate([a_gd, np.zeros(L - 1)])
        else:
            x0 = np.concatenate([rng.uniform(0.05, 2.0, L), rng.uniform(-0.5, 1.5, L - 1)])
        r = optimize.minimize(fun, x0, jac=jac, method="BFGS", options={"gtol": 1e-12, "maxiter": 3000})
        x = r.x
        if L > 1:
            r2 = optimize.minimize(fun, x, jac=jac, hess=hess, method="trust-exact",
                                   options={"gtol": 1e-11, "maxiter": 200})
            if r2.fun <= r.fun:
                x = r2.x
        results.append((fun(x), x))
    results.sort(key=lambda t: t[0])
    best_val, best = results[0]
    top = [v for v, _ in results[: max(2, len(results) // 10)]]
    g = jac(best)
    a, b = _gdpp_split(best, L)
    attained = bool(np.linalg.norm(g) < 1e-6 * max(1.0, best_val) + 1e-9 and np.all(np.abs(best) < 1e3))
    return GDPPOptimum(a=a.copy(), b=b, loss=float(best_val), gradient_norm=float(np.linalg.norm(g)),
                       attained=attained, problem=pr, starts=starts, spread=float(max(top) - min(top)))


# ----------------------------------------------------------------------------- full matrices


def family_params(Sigma: np.ndarray, a: Any, b: Any | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(Ps, Qs) of the canonical model for A_l = a_l Sigma^{-1} and (with b) B_l = b_l I:
    P_l = [[B_l, 0], [0, 1]] (B_l = 0 under (8)), Q_l = -[[A_l, 0], [0, 0]]."""
    Sigma = np.asarray(Sigma, dtype=float)
    d = Sigma.shape[0]
    Si = np.linalg.inv(Sigma)
    Si = (Si + Si.T) / 2
    a = np.ravel(np.asarray(a, dtype=float))
    Ps, Qs = [], []
    for l, al in enumerate(a):
        P = np.zeros((d + 1, d + 1))
        P[d, d] = 1.0
        if b is not None:
            P[:d, :d] = float(np.ravel(b)[l]) * np.eye(d)
        Q = np.zeros((d + 1, d + 1))
        Q[:d, :d] = -al * Si
        Ps.append(P)
        Qs.append(Q)
    return Ps, Qs


def lsa_loss_and_grads(Z0: np.ndarray, yq: np.ndarray, Ps, Qs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-prompt loss (TF - y_q)^2 and its gradients w.r.t. every full P_l, Q_l, by backprop through
    the literal forward pass Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l).

    Returns loss (B,), dP (B, L, d+1, d+1), dQ (B, L, d+1, d+1)."""
    Z = np.array(Z0, dtype=float)
    B, D, N1 = Z.shape
    n = N1 - 1
    L = len(Ps)
    Zs, ZMs, Fs = [], [], []
    for P, Q in zip(Ps, Qs, strict=True):
        ZM = Z.copy()
        ZM[:, :, n] = 0.0  # (B, D, n+1) query column masked
        F = Z.transpose(0, 2, 1) @ Q @ Z  # (B, n+1, n+1)
        Zs.append(Z)
        ZMs.append(ZM)
        Fs.append(F)
        Z = Z + (P @ ZM @ F) / n  # (B, D, n+1)
    out = Z[:, D - 1, n]  # (B,) = -TF
    r = out + yq  # (B,) = -(TF - y_q)
    loss = r**2
    G = np.zeros_like(Z)  # (B, D, n+1) dloss/dZ_L
    G[:, D - 1, n] = 2.0 * r
    dP = np.empty((B, L, D, D))
    dQ = np.empty((B, L, D, D))
    for l in range(L - 1, -1, -1):
        P, Q, Zl, ZM, F = Ps[l], Qs[l], Zs[l], ZMs[l], Fs[l]
        GF = G @ F.transpose(0, 2, 1) / n  # (B, D, n+1): dloss/d(P ZM) through F
        dP[:, l] = GF @ ZM.transpose(0, 2, 1)  # (B, D, D)
        dZM = P.T @ GF  # (B, D, n+1)
        dF = ZM.transpose(0, 2, 1) @ (P.T @ G) / n  # (B, n+1, n+1)
        dQ[:, l] = Zl @ dF @ Zl.transpose(0, 2, 1)  # (B, D, D)
        dZ = G.copy()
        dZM[:, :, n] = 0.0
        dZ += dZM
        dZ += Q @ Zl @ dF.transpose(0, 2, 1) + Q.T @ Zl @ dF  # (B, D, n+1)
        G = dZ
    return loss, dP, dQ


@dataclass(frozen=True)
class MCGradient:
    """Monte Carlo mean of the per-prompt loss gradients with standard errors (entrywise)."""

    loss: float
    loss_stderr: float
    dP: np.ndarray  # (L, d+1, d+1)
    dP_stderr: np.ndarray
    dQ: np.ndarray
    dQ_stderr: np.ndarray
    samples: int

    def dA(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradient w.r.t. A_l where Q_l = -[[A_l, 0], [0, 0]]: -(dQ_l)[:d, :d] (mean, stderr)."""
        d = self.dQ.shape[-1] - 1
        return -self.dQ[:, :d, :d], self.dQ_stderr[:, :d, :d]

    def dB(self) -> tuple[np.ndarray, np.ndarray]:
        """Gradient w.r.t. B_l where P_l = [[B_l, 0], [0, 1]]: (dP_l)[:d, :d] (mean, stderr)."""
        d = self.dP.shape[-1] - 1
        return self.dP[:, :d, :d], self.dP_stderr[:, :d, :d]


def _integrated_prompts(setting: Setting, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For k draws of X: the d^2 prompts with x_q = Sigma^{1/2} e_i, w = Sigma_w^{1/2} e_j (same X).

    Without label noise the literal model's error is bilinear in (x_q, w) for fixed X (y = X w, and the
    query column and label evolve linearly in x_q because the query is masked out of keys and values),
    so E_{x_q, w}[err^2 | X] = sum_{i,j} err(Sigma^{1/2} e_i, Sigma_w^{1/2} e_j)^2 exactly."""
    from iclcheck.numerics.forward import sample_prompts
    from iclcheck.numerics.one_layer import sqrtm_psd

    d, n = setting.d, int(setting.n)
    X = sample_prompts(setting, k, rng).X  # (k, n, d)
    Xq = sqrtm_psd(setting.Sigma)  # columns: query points
    Wt = sqrtm_psd(setting.Sigma_w)  # columns: task vectors
    Z = np.zeros((k, d, d, d + 1, n + 1))
    Z[:, :, :, :d, :n] = X.transpose(0, 2, 1)[:, None, None]  # (k, 1, 1, d, n)
    Z[:, :, :, d, :n] = np.einsum("knd,dj->kjn", X, Wt)[:, None, :, :]  # y = X w_j, (k, 1, d_j, n)
    Z[:, :, :, :d, n] = Xq.T[None, :, None, :]  # x_q = column i
    yq = np.broadcast_to((Xq.T @ Wt)[None], (k, d, d))  # (k, i, j) = x_qi^T w_j
    return Z.reshape(k * d * d, d + 1, n + 1), np.ascontiguousarray(yq).reshape(k * d * d)


def mc_full_gradient(setting: Setting, Ps, Qs, *, samples: int, rng: np.random.Generator,
                     batch: int = 4000, integrate_query_task: bool = False) -> MCGradient:
    """E of the per-prompt gradients over fresh prompts of ``setting`` (literal forward pass + backprop).

    integrate_query_task=True (noiseless only): each sample is one X, and the expectation over x_q and w
    is done exactly by summing the d^2 prompts of ``_integrated_prompts`` (much lighter tails)."""
    from iclcheck.numerics.forward import sample_prompts

    if samples < 2:
        raise InputError("samples", f"need at least 2 Monte Carlo samples, got {samples}")
    if integrate_query_task and setting.sigma2 != 0:
        raise InputError("integrate_query_task", "exact integration over x_q and w needs sigma2 = 0")
    L = len(Ps)
    D = setting.d + 1
    d2 = setting.d**2
    s = {"l": 0.0, "l2": 0.0, "P": np.zeros((L, D, D)), "P2": np.zeros((L, D, D)),
         "Q": np.zeros((L, D, D)), "Q2": np.zeros((L, D, D))}
    done = 0
    while done < samples:
        if integrate_query_task:
            k = min(max(batch // d2, 1), samples - done)
            Z0, yq = _integrated_prompts(setting, k, rng)
            loss, dP, dQ = lsa_loss_and_grads(Z0, yq, Ps, Qs)
            loss = loss.reshape(k, d2).sum(1)  # (k,)
            dP = dP.reshape(k, d2, L, D, D).sum(1)  # (k, L, D, D)
            dQ = dQ.reshape(k, d2, L, D, D).sum(1)
        else:
            k = min(batch, samples - done)
            pr = sample_prompts(setting, k, rng)
            loss, dP, dQ = lsa_loss_and_grads(pr.Z0, pr.yq, Ps, Qs)
        s["l"] += loss.sum()
        s["l2"] += (loss**2).sum()
        s["P"] += dP.sum(0)
        s["P2"] += (dP**2).sum(0)
        s["Q"] += dQ.sum(0)
        s["Q2"] += (dQ**2).sum(0)
        done += k

    def ms(t: Any, t2: Any) -> tuple[Any, Any]:
        mean = t / done
        var = np.maximum(t2 / done - mean**2, 0.0) * done / (done - 1)
        return mean, np.sqrt(var / done)

    lm, ls = ms(s["l"], s["l2"])
    Pm, Ps_ = ms(s["P"], s["P2"])
    Qm, Qs_ = ms(s["Q"], s["Q2"])
    return MCGradient(loss=float(lm), loss_stderr=float(ls), dP=Pm, dP_stderr=Ps_, dQ=Qm, dQ_stderr=Qs_,
                      samples=done)


def literal_loss(Z0: np.ndarray, yq: np.ndarray, Ps, Qs) -> np.ndarray:
    """Per-prompt (TF - y_q)^2 via ``numerics.forward.lsa_forward`` (for finite-difference checks)."""
    return (lsa_forward(Z0, Ps, Qs)[:, -1, -1] + yq) ** 2


# ----------------------------------------------------------------------------- exact loss for full matrices


@lru_cache(maxsize=16)
def _word_pairings(k: int) -> tuple[tuple[int, tuple[tuple[tuple[int, bool], ...], ...]], ...]:
    """Wick structure of E tr(C_0 S C_1 S ... C_{k-1} S), S = (1/n) sum_a x_a x_a^T, x_a ~ N(0, I).

    The trace is prod_t x_{a_t}^T C_t x_{a_{t+1}} (cyclic). Slots 2t (left of factor t, sample a_t) and
    2t+1 (right of factor t, sample a_{t+1}). A pairing of the 2k slots identifies sample labels (each
    class of labels contributes a factor n) and closes the coordinate indices into cycles, each a trace
    of a product of C_t or C_t^T. Returns, per pairing, (#label classes, cycles as ((t, transposed), ...))."""
    slots = list(range(2 * k))
    label = [t if s % 2 == 0 else (t + 1) % k for s in slots for t in [s // 2]]
    out = []

    def pairings(items):
        if not items:
            yield []
            return
        a = items[0]
        for i in range(1, len(items)):
            for rest in pairings(items[1:i] + items[i + 1:]):
                yield [(a, items[i]), *rest]

    for pr in pairings(slots):
        partner = {}
        par = list(range(k))

        def find(x: int, par: list[int] = par) -> int:
            while par[x] != x:
                par[x] = par[par[x]]
                x = par[x]
            return x

        for u, v in pr:
            partner[u], partner[v] = v, u
            ru, rv = find(label[u]), find(label[v])
            if ru != rv:
                par[ru] = rv
        classes = len({find(x) for x in range(k)})
        seen = [False] * (2 * k)
        cycles = []
        for s0 in slots:
            if seen[s0]:
                continue
            cyc = []
            s = s0
            while not seen[s]:
                t = s // 2
                other = s ^ 1  # the other slot of factor t
                seen[s] = seen[other] = True
                cyc.append((t, s % 2 == 1))  # entering at the right slot: traverse C_t transposed
                s = partner[other]
            cycles.append(tuple(cyc))
        out.append((classes, tuple(cycles)))
    return tuple(out)


def word_expectation(Cs: list[np.ndarray], n: int) -> float:
    """E tr(C_0 S C_1 S ... C_{k-1} S) for S = (1/n) X^T X, X (n x d) iid N(0, 1), exactly (Wick)."""
    k = len(Cs)
    if k == 0:
        raise InputError("word", "needs at least one matrix")
    total = 0.0
    CT = [C.T for C in Cs]
    for classes, cycles in _word_pairings(k):
        val = float(n) ** classes
        for cyc in cycles:
            M = np.eye(Cs[0].shape[0])
            for t, tr in cyc:
                M = M @ (CT[t] if tr else Cs[t])
            val *= np.trace(M)
            if val == 0.0:
                break
        total += val
    return total / float(n) ** k


def _mul_terms(P: list[tuple[np.ndarray, ...]], Q: list[tuple[np.ndarray, ...]]) -> list[tuple[np.ndarray, ...]]:
    """Product of two matrix polynomials in S; a term (C_0, ..., C_j) means C_0 S C_1 S ... S C_j."""
    return [(*p[:-1], p[-1] @ q[0], *q[1:]) for p in P for q in Q]


def full_gd_loss(As: list[np.ndarray], problem: Any, Bs: list[np.ndarray] | None = None) -> float:
    """Exact loss of L layers under (8) with arbitrary full matrices A_l (whitened frame: Sigma = I,
    w ~ N(0, I), noise sigma2), by Wick's theorem on the expanded words:
    f = E tr(M^T M) + (sigma2/n) E tr(R S R^T), M = prod_{l=L-1..0} (I - A_l^T S), R = sum_l N_l A_l^T,
    N_l = prod_{m=L-1..l+1} (I - A_m^T S). Cost grows like 4^L (2L-1)!!: meant for L <= 2 (L = 3 slow).
    For a covariance Sigma with w ~ N(0, Sigma^-1) pass Sigma^{1/2} A_l Sigma^{1/2} (whitening)."""
    if Bs is not None:
        raise InputError("B", "full-matrix exact loss is implemented for condition (8) only")
    pr = problem_from(problem)
    d = pr.d
    I = np.eye(d)
    Ms: list[tuple[np.ndarray, ...]] = [(I,)]
    R: list[tuple[np.ndarray, ...]] = []
    for A in As:
        step = [(I,), (-A.T, I)]  # I - A^T S
        Ms = _mul_terms(step, Ms)
        R = _mul_terms(step, R) + [(A.T,)]

    def tr_terms(T: list[tuple[np.ndarray, ...]]) -> float:
        tot = 0.0
        for term in T:
            if len(term) == 1:
                tot += float(np.trace(term[0]))
            else:
                tot += word_expectation([term[-1] @ term[0], *term[1:-1]], pr.n)
        return tot
    MT = [tuple(C.T for C in reversed(t)) for t in Ms]
    f = tr_terms(_mul_terms(MT, Ms))
    if pr.sigma2 and R:
        RT = [tuple(C.T for C in reversed(t)) for t in R]
        f += pr.sigma2 / pr.n * tr_terms(_mul_terms(_mul_terms(R, [(I, I)]), RT))
    return f


# ----------------------------------------------------------------------------- helpers for the claims


def bonferroni_z(m: int, level: float = 0.999) -> float:
    """Two-sided normal threshold for m simultaneous entries at family-wise level ``level``."""
    from scipy import stats

    return float(stats.norm.ppf(1 - (1 - level) / (2 * m)))


def gdpp_loss_mc(problem: Any, a: Any, b: Any, *, samples: int, rng: np.random.Generator):
    """Monte Carlo (literal forward pass, whitened frame, CI) of the (11)-family loss for any L, in particular
    L >= 4 where the exact loss would need moments of degree 2 * 40 (too many mixed moments for the recursion)."""
    from iclcheck.numerics.montecarlo import mc_loss

    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    b = np.concatenate([np.asarray(b, dtype=float).ravel(), np.zeros(a.size)])[: a.size]
    st = Setting.make(np.eye(pr.d), pr.n, sigma2=pr.sigma2)
    return mc_loss(st, *family_params(np.eye(pr.d), a, b), samples=samples, rng=rng)


def gd_critical_points(problem: Any, L: int, *, starts: int = 200, seed: int = 0,
                       box: float = 3.0) -> list[tuple[np.ndarray, float, int]]:
    """Critical points of the restricted (8) loss F(a) found by Newton root-finding on grad F = 0 from
    ``starts`` random points in [-box/4, box]^L; distinct points (sorted a, up to 1e-6) with their loss and
    Hessian inertia (number of negative eigenvalues). Not exhaustive (no homotopy), a census.

    Structure (from F(a) = q(c(a)), c = signed elementary symmetric functions, dc/da has determinant
    +-prod_{i<j} (a_i - a_j)): a critical point with pairwise distinct a_i has grad_c q = 0, i.e. it is THE
    convex minimiser; every other critical point has a repeated coefficient."""
    pr = problem_from(problem)
    rng = np.random.default_rng(seed)

    def hess(a: np.ndarray) -> np.ndarray:
        h = 1e-6
        Hm = np.array([(gd_loss_grad(a + h * e, pr) - gd_loss_grad(a - h * e, pr)) / (2 * h) for e in np.eye(L)])
        return (Hm + Hm.T) / 2

    found: list[tuple[np.ndarray, float, int]] = []
    for _ in range(starts):
        x0 = rng.uniform(-box / 4, box, size=L)
        r = optimize.root(lambda a: gd_loss_grad(a, pr), x0, jac=hess, method="hybr", options={"xtol": 1e-13})
        if not r.success or not np.all(np.isfinite(r.x)):
            continue
        a = np.sort(r.x)
        if np.linalg.norm(gd_loss_grad(a, pr)) > 1e-8 * max(1.0, gd_loss(a, pr)):
            continue
        if any(np.max(np.abs(a - b)) < 1e-6 for b, _, _ in found):
            continue
        found.append((a, gd_loss(a, pr), int(np.sum(np.linalg.eigvalsh(hess(a)) < -1e-9))))
    found.sort(key=lambda t: t[1])
    return found
