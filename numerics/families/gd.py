"""The condition-(8) family A_l = a_l Sigma^{-1} (Ahn et al. Thm 3): exact loss, gradient and THE optimiser.

Loss as a quadratic form: with p(x) = prod_l (1 - a_l x) = sum_j c_j x^j, f = E tr p(S)^2 (+ noise term) is a
convex quadratic in c; ``optimal_gd`` solves it (exactly in rational arithmetic for L <= 12) and certifies the
global minimum when the minimising p is real-rooted. Everything is in the whitened frame (Sigma = I).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from iclcheck.numerics.families.quadrature import FamilyProblem, _quad_loss, problem_from, spectral_quadrature
from iclcheck.numerics.finite_diff import hessian_from_gradient
from iclcheck.numerics.limits import MAX_GD_LAYERS
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.multilayer import optimal_gd_exact

__all__ = ["MAX_GD_LAYERS", "GDOptimum", "gd_critical_points", "gd_loss", "gd_loss_grad", "optimal_gd",
           "optimal_gd_coefficients"]


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

    @property
    def method(self) -> str:
        if self.certified:
            return ("certified global minimum (convex quadratic in the coefficients of prod (1 - a_l x), "
                    f"minimiser real-rooted; {'exact rational' if self.exact else 'float'} solve)")
        return (f"not certified: the best degree-L filter has complex roots (lower bound {self.lower_bound:.8g}); "
                f"best real coefficients by a multistart of {GD_MULTISTART_STARTS} BFGS starts (seed 0)")


def optimal_gd(problem: Any, L: int, *, exact: bool | None = None,
               progress: Callable[[int, int], None] | None = None) -> GDOptimum:
    """Global minimiser of the (8)-family loss over a in R^L.

    Method: minimise the convex quadratic in the coefficients of p (H > 0), then a_l = roots of
    t^L + c_1 t^{L-1} + ... + c_L. When all roots are real (always observed; guaranteed without noise by
    the kernel-polynomial argument) the restricted global minimum is attained there. ``exact`` (default
    for L <= 12) does the solve and the real-root count in rational arithmetic. ``progress(done, starts)`` is called
    after each start of the multistart that runs when the minimiser is not real-rooted (never otherwise); it changes
    nothing computed."""
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
            a, certified = _multistart_gd(pr, L, progress=progress), False
        loss = gd_loss(a, pr)
        lower = float(opt.loss)
    else:
        a, poly, certified, lower = _stable_gd_optimum(pr, L, progress=progress)
        loss = gd_loss(a, pr)
    g = gd_loss_grad(a, pr)
    return GDOptimum(coefficients=np.sort(a), loss=float(loss), certified=bool(certified), problem=pr,
                     gradient_norm=float(np.linalg.norm(g)), poly=poly, exact=bool(exact),
                     lower_bound=min(lower, float(loss)))


def _stable_gd_optimum(pr: FamilyProblem, L: int, *, progress: Callable[[int, int], None] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, bool, float]:
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
            Hn = hessian_from_gradient(lambda v: gd_loss_grad(v, pr), a, h=1e-7)
            try:
                step = np.linalg.solve(Hn, g)
            except np.linalg.LinAlgError:
                break
            a = a - step
            if np.linalg.norm(step) < 1e-14 * max(1.0, float(np.linalg.norm(a))):
                break
        a = np.sort(a)
    else:
        a = _multistart_gd(pr, L, progress=progress)
    poly = np.array([1.0])
    for al in a:
        poly = Pm.polymul(poly, [1.0, -al])  # p(x) = prod (1 - a_l x), ascending coefficients
    return a, poly, False, lower


GD_MULTISTART_STARTS = 64


def _multistart_gd(pr: FamilyProblem, L: int, *, starts: int = GD_MULTISTART_STARTS, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The best of ``starts`` seeded BFGS runs; ``progress(s + 1, starts)`` after start s."""
    rng = np.random.default_rng(seed)
    best, best_val = None, np.inf
    for s in range(starts):
        x0 = rng.uniform(0.05, 3.0, size=L)
        with np.errstate(over="ignore", invalid="ignore"):  # a line search may try far steps: inf, then backtracks
            r = optimize.minimize(gd_loss, x0, args=(pr,), jac=gd_loss_grad, method="BFGS")
        if np.isfinite(r.fun) and np.all(np.isfinite(r.x)) and r.fun < best_val:
            best, best_val = r.x, r.fun
        if progress is not None:
            progress(s + 1, starts)
    if best is None:
        raise NumericalFailure("condition-(8) optimum", f"no finite minimum in {starts} starts of the multistart",
                               "fewer layers (L)")
    return np.sort(best)


def optimal_gd_coefficients(problem: Any, L: int) -> tuple[np.ndarray, float]:
    """(a_0..a_{L-1} ascending, minimal loss) for the (8) family A_l = a_l Sigma^{-1}.

    ``problem``: a Setting (Gaussian; w ~ N(0, Sigma^{-1}) or Sigma = Sigma_w = I) or (d, n[, sigma2]).
    The loss is symmetric in the a_l, so the layer order is a free choice (returned ascending)."""
    opt = optimal_gd(problem, L)
    return opt.coefficients.copy(), opt.loss


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
        return hessian_from_gradient(lambda v: gd_loss_grad(v, pr), a, h=1e-6)

    def grad(a: np.ndarray) -> np.ndarray:  # (a def, not a lambda: mypy cannot match a lambda to scipy-stubs' root)
        return gd_loss_grad(a, pr)

    found: list[tuple[np.ndarray, float, int]] = []
    for _ in range(starts):
        x0 = rng.uniform(-box / 4, box, size=L)
        r = optimize.root(grad, x0, jac=hess, method="hybr", options={"xtol": 1e-13})
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
