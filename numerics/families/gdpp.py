"""The condition-(11) family A_l = a_l Sigma^{-1}, B_l = b_l I (Ahn et al. Thm 4, GD++): exact loss, gradient,
THE optimiser, and the map from family coefficients to full (P_l, Q_l).

p(x) = prod_l (1 - a_l x T_l(x)^2), T_{l+1} = (1 - a_l b_l x T_l^2) T_l (theory.multilayer), f = E tr p(S)^2
by the exact spectral quadrature of degree 2 deg p.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize

from iclcheck.numerics.families.gd import optimal_gd
from iclcheck.numerics.families.quadrature import FamilyProblem, _quad_loss, problem_from, spectral_quadrature
from iclcheck.numerics.finite_diff import hessian_from_gradient
from iclcheck.numerics.limits import MAX_GDPP_LAYERS, MAX_GDPP_STARTS, MAX_SEED
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.multilayer import gdpp_degree

__all__ = ["DEFAULT_GDPP_STARTS", "GDPPOptimum", "THETA_MAX", "family_params", "gdpp_conditional_loss", "gdpp_loss",
           "gdpp_loss_grad", "gdpp_loss_rational", "optimal_gdpp", "sample_average_gdpp", "spectral_draws"]


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


def _gdpp_p_batch(A: np.ndarray, B: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``_gdpp_p_at`` for K coefficient vectors at once: A, B of shape (K, L) -> p of shape (K, len(x)).
    The same elementwise operations in the same order, so each row equals ``_gdpp_p_at(A[k], B[k], x)``."""
    T = np.ones((A.shape[0], x.size), dtype=np.result_type(x, A, B))
    p = np.ones_like(T)
    L = A.shape[1]
    for l in range(L):
        al = A[:, l, None]
        xT2 = x * T * T
        p = p * (1.0 - al * xT2)
        if l < L - 1:
            T = (1.0 - al * B[:, l, None] * xT2) * T
    return p


def _complex_step_grad(a: np.ndarray, b: np.ndarray, x: np.ndarray, w: np.ndarray, pr: FamilyProblem) -> np.ndarray:
    """(df/da_0..a_{L-1}, df/db_0..b_{L-2}) at float a, b (length L) by 2L-1 complex steps in one batch."""
    L = a.size
    h = 1e-30
    K = 2 * L - 1  # rows 0..L-1 perturb a_l, rows L..2L-2 perturb b_l
    A = np.tile(a.astype(complex), (K, 1))
    B = np.tile(b.astype(complex), (K, 1))
    idx = np.arange(L)
    A[idx, idx] += 1j * h
    B[L + idx[: L - 1], idx[: L - 1]] += 1j * h
    pv = _gdpp_p_batch(A, B, x)
    val = np.sum(w * pv**2, axis=1)
    if pr.sigma2:
        val = val + pr.sigma2 / pr.n * np.sum(w * (1.0 - pv) ** 2 / x, axis=1)
    return val.imag / h


def gdpp_loss_grad(a: Any, b: Any, problem: Any) -> tuple[np.ndarray, np.ndarray]:
    """(df/da, df/db) by complex-step differentiation of the quadrature form (exact to rounding);
    df/db_{L-1} = 0. All 2L-1 complex steps are taken in one batched evaluation."""
    pr = problem_from(problem)
    a = np.asarray(a, dtype=float).ravel()
    L = a.size
    b = np.concatenate([np.asarray(b, dtype=float).ravel()[: L - 1], np.zeros(1)])[:L]
    x, w = spectral_quadrature(2 * gdpp_degree(L), n=pr.n, d=pr.d)
    g = _complex_step_grad(a, b, x, w, pr)
    ga, gb = g[:L].copy(), np.zeros(L)
    gb[: L - 1] = g[L:]
    return ga, gb


DEFAULT_GDPP_STARTS = 24  # at d=5, n=20, L=3 two starts stop at a local minimum 5% above the best (0.001012)
# A start is stopped as diverging once max|theta| exceeds THETA_MAX (the bound ``attained`` already demands of the
# optimum: every local minimum found on the verified problems sits at max|theta| <= 17, while diverging starts run
# off to 1e3-1e6 along the loss' valleys at infinity), or when BFGS has not converged in BFGS_MAXITER iterations
# (2x the most a converging start took there: 248; the diverging ones crossed max|theta| = 100 after 262-911).
# The trust-region polish stops after TRUST_MAXITER iterations (a converging polish took at most 69; the others
# wander at max|theta| 70-500 with |grad| ~ 1 until any cap). Before the bound and the caps (BFGS 3000, trust-exact
# 200, no bound) the stopped starts took most of the multistart's time and their end points were listed as local
# minima (e.g. 1.318 at max|theta| = 6.6e5 for d=5, n=10, L=3); the best point is the same to the bit
# (benchmarks/bench_gdpp.py runs both).
THETA_MAX = 1e3
BFGS_MAXITER = 500
TRUST_MAXITER = 80


@dataclass(frozen=True)
class GDPPOptimum:
    """Best point of THE (11)-family optimiser, with how it was found (``method``): a multistart of
    ``starts`` runs drawn from ``seed`` (start 0 is the certified GD optimum with b = 0), not a certificate."""

    a: np.ndarray
    b: np.ndarray  # length L; b_{L-1} does not enter the loss and is reported as 0
    loss: float
    gradient_norm: float
    attained: bool  # finite minimiser found with small gradient and bounded coefficients
    problem: FamilyProblem
    starts: int
    spread: float  # max loss difference among the best 10% of starts (a multistart agreement figure)
    seed: int = 0
    hits: int = 1  # starts whose local minimum is the best one (loss within 1e-9 relative); not printed in
    # ``method``: which starts land within 1e-9 of the best is decided by rounding and varies with the BLAS kernel
    local_minima: tuple[float, ...] = ()  # distinct local-minimum losses found, ascending: stationary, bounded points
    local_minimizers: tuple[np.ndarray, ...] = ()  # theta = (a_0..a_{L-1}, b_0..b_{L-2}) of each, same order
    stopped: int = 0  # starts stopped unconverged (max|theta| > THETA_MAX or BFGS_MAXITER): never listed as minima

    @property
    def method(self) -> str:
        return (f"multistart of {self.starts} starts (seed {self.seed}; BFGS + trust-region Newton on the exact "
                f"gradient; the lowest local minimum kept), not certified")


def _gdpp_split(theta: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    a = theta[:L]
    b = np.concatenate([theta[L:], [0.0]])
    return a, b


def optimal_gdpp(problem: Any, L: int, *, starts: int = DEFAULT_GDPP_STARTS, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> GDPPOptimum:
    """Minimise the GD++ loss over (a_0..a_{L-1}, b_0..b_{L-2}): multistart BFGS on the exact gradient,
    polished by a trust-region Newton method (Hessian by differences of the exact gradient).

    Not a certificate: the loss is a polynomial of degree 2 deg p in 2L-1 variables with many local
    minima for L = 3; we report the best of ``starts`` runs, its gradient norm and the agreement of the
    best runs (``spread``). A start whose iterate leaves max|theta| <= THETA_MAX, or that BFGS does not converge in
    BFGS_MAXITER iterations, is stopped (``stopped``); only stationary points inside the bound are listed in
    ``local_minima``. ``progress(done, starts)`` is called after each start (once, with done = starts, when the
    multistart is already cached); it changes nothing computed."""
    pr = problem_from(problem)
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise InputError("L (number of layers)", f"must be a positive integer, got {L!r}")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise InputError("starts", f"must be a positive integer, got {starts!r}")
    if starts > MAX_GDPP_STARTS:
        raise InputError("starts", f"at most {MAX_GDPP_STARTS:,} multistart runs (~0.4 s each at L = 3), got {starts:,}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InputError("seed", f"must be an integer in [0, 2^63), got {seed!r}")
    L = int(L)
    if L > MAX_GDPP_LAYERS:
        raise InputError("L (number of layers)", "the exact GD++ loss needs moments up to degree 80 for "
                         "L = 4; use L <= 3 (Monte Carlo beyond)")
    with np.errstate(over="ignore", invalid="ignore"):  # far starts overflow on the way; the best point is checked
        a, b, best_val, gnorm, attained, spread, hits, minima, points, stopped = _optimal_gdpp_core(
            pr.d, pr.n, float(pr.sigma2), L, int(starts), int(seed), progress=progress)
    if not (np.isfinite(best_val) and np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise NumericalFailure("GD++ optimum", f"the multistart found no finite minimum (best loss {best_val})",
                               "try another seed or fewer layers")
    return GDPPOptimum(a=a.copy(), b=b.copy(), loss=best_val, gradient_norm=gnorm, attained=attained, problem=pr,
                       starts=int(starts), spread=spread, seed=int(seed), hits=hits, local_minima=minima,
                       local_minimizers=tuple(p.copy() for p in points), stopped=stopped)


class _Diverged(Exception):
    """Raised inside an optimiser callback: the iterate left max|theta| <= THETA_MAX."""


def _stationary(gnorm: float, val: float) -> bool:
    """The gradient test of ``attained``: |grad F| < 1e-6 max(1, F) + 1e-9."""
    return bool(gnorm < 1e-6 * max(1.0, val) + 1e-9)


_CORE_CACHE: dict[tuple, tuple] = {}  # (d, n, sigma2, L, starts, seed) -> the multistart's result
_CORE_CACHE_SIZE = 32
_CORE_LOCK = threading.Lock()  # around the dict only (two threads asking at once may both compute, as lru_cache)


def _optimal_gdpp_core(d: int, n: int, sigma2: float, L: int, starts: int, seed: int, *,
                       progress: Callable[[int, int], None] | None = None) -> tuple:
    """The multistart itself. It depends only on the whitened problem (d, n, sigma2), L, starts and seed, so
    it is computed once per process for each (claims such as ahn2023.thm4 and ahn2023.fig4 share d=5, n=20,
    L=3; the oldest of more than _CORE_CACHE_SIZE is dropped); callers get copies of the arrays. A cache of its
    own rather than functools.lru_cache: ``progress`` is not part of the key."""
    key = (d, n, sigma2, L, starts, seed)
    with _CORE_LOCK:
        out = _CORE_CACHE.get(key)
    if out is None:
        out = _multistart(d, n, sigma2, L, starts, seed, progress=progress)
        with _CORE_LOCK:
            while len(_CORE_CACHE) >= _CORE_CACHE_SIZE:
                _CORE_CACHE.pop(next(iter(_CORE_CACHE)))
            _CORE_CACHE[key] = out
    elif progress is not None:
        progress(starts, starts)
    return out


def _multistart(d: int, n: int, sigma2: float, L: int, starts: int, seed: int, *, bfgs_maxiter: int | None = None,
                trust_maxiter: int | None = None, theta_max: float | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple:
    """``_optimal_gdpp_core`` with its limits as arguments, the module's constants by default (read at the call;
    benchmarks/bench_gdpp.py runs the former limits, 3000 / 200 / no bound, beside these); ``progress(s + 1,
    starts)`` after start s."""
    bfgs_maxiter = BFGS_MAXITER if bfgs_maxiter is None else bfgs_maxiter
    trust_maxiter = TRUST_MAXITER if trust_maxiter is None else trust_maxiter
    theta_max = THETA_MAX if theta_max is None else theta_max
    pr = FamilyProblem(d=d, n=n, sigma2=sigma2)
    rng = np.random.default_rng(seed)
    a_gd = optimal_gd(pr, L).coefficients

    # the quadrature is fixed for the whole run: the closures call the arithmetic of gdpp_loss / gdpp_loss_grad
    # directly (same operations, bit-identical values) without re-validating inputs at every one of ~1e4 calls
    nodes, wts = spectral_quadrature(2 * gdpp_degree(L), n=pr.n, d=pr.d)

    def fun(theta: np.ndarray) -> float:
        a, b = _gdpp_split(theta, L)
        return float(_quad_loss(_gdpp_p_at(a, b, nodes), nodes, wts, pr))

    def jac(theta: np.ndarray) -> np.ndarray:
        a, b = _gdpp_split(theta, L)
        return _complex_step_grad(a, b, nodes, wts, pr)

    def hess(theta: np.ndarray) -> np.ndarray:
        return hessian_from_gradient(jac, theta, h=1e-6, relative=True)

    last: list[np.ndarray] = []

    def bounded(intermediate_result: optimize.OptimizeResult) -> None:
        x = intermediate_result.x
        if not np.max(np.abs(x)) <= theta_max:
            last.append(np.array(x))
            raise _Diverged

    def run(method: Literal["BFGS", "trust-exact"], x0: np.ndarray, **kw: Any) -> tuple[np.ndarray, float, bool]:
        """(end point, its loss, stopped unconverged: left the bound, or BFGS at its iteration cap)."""
        last.clear()
        try:
            r = optimize.minimize(fun, x0, jac=jac, method=method, callback=bounded, **kw)
        except _Diverged:
            return last[0], fun(last[0]), True
        return r.x, float(r.fun), bool(method == "BFGS" and r.nit >= bfgs_maxiter)

    results = []
    stopped = 0
    for s in range(starts):
        if s == 0:
            x0 = np.concatenate([a_gd, np.zeros(L - 1)])
        else:
            x0 = np.concatenate([rng.uniform(0.05, 2.0, L), rng.uniform(-0.5, 1.5, L - 1)])
        x, fx, gone = run("BFGS", x0, options={"gtol": 1e-12, "maxiter": bfgs_maxiter})
        if L > 1 and not gone:
            x2, f2, gone = run("trust-exact", x, hess=hess, options={"gtol": 1e-11, "maxiter": trust_maxiter})
            if not gone and f2 <= fx:
                x = x2
        stopped += gone
        results.append((fun(x), x, gone))
        if progress is not None:
            progress(s + 1, starts)
    results.sort(key=lambda t: t[0])
    best_val, best, _ = results[0]
    top = [v for v, _, _ in results[: max(2, len(results) // 10)]]
    g = jac(best)
    a, b = _gdpp_split(best, L)
    attained = bool(_stationary(float(np.linalg.norm(g)), best_val) and np.all(np.abs(best) < theta_max))
    tol = 1e-9 * max(abs(best_val), 1e-300)
    hits = sum(1 for v, _, _ in results if v - best_val <= tol)
    minima: list[float] = []
    points: list[np.ndarray] = []
    for v, x, gone in results:
        if gone or not np.all(np.abs(x) < theta_max) or not _stationary(float(np.linalg.norm(jac(x))), v):
            continue  # a stopped start's end point, or a point where the search stalled: not a local minimum
        if not minima or v - minima[-1] > 1e-6 * max(abs(v), 1e-300):
            minima.append(float(v))
            points.append(np.array(x))
    a.setflags(write=False)
    b.setflags(write=False)
    return (a.copy(), b.copy(), float(best_val), float(np.linalg.norm(g)), attained, float(max(top) - min(top)),
            int(hits), tuple(minima), tuple(points), int(stopped))


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



def gdpp_loss_rational(a: Any, b: Any, problem: Any) -> float:
    """A second exact route to ``gdpp_loss``: the float a, b taken as exact binary rationals, p's coefficients
    expanded and contracted with the exact integer Wishart moments in rational arithmetic (sympy; no
    quadrature nodes, no rounding until the final float)."""
    import sympy as sp

    from iclcheck.theory.multilayer import gdpp_loss_at

    pr = problem_from(problem)
    a = [sp.Rational(float(v)) for v in np.ravel(a)]
    b = [sp.Rational(float(v)) for v in np.ravel(b)][: len(a)]
    s2 = sp.Rational(float(pr.sigma2))
    return float(gdpp_loss_at(a, b + [sp.Integer(0)] * (len(a) - len(b)), n=pr.n, d=pr.d, sigma2=s2))


def spectral_draws(problem: Any, draws: int, rng: np.random.Generator, *, batch: int = 50_000) -> np.ndarray:
    """Eigenvalues (draws, d) of S = (1/n) X^T X for ``draws`` fresh X (n x d, iid N(0, 1))."""
    pr = problem_from(problem)
    out = []
    done = 0
    while done < draws:
        k = min(batch, draws - done)
        X = rng.standard_normal((k, pr.n, pr.d))  # (k, n, d)
        out.append(np.linalg.eigvalsh(np.einsum("kni,knj->kij", X, X) / pr.n))  # (k, d)
        done += k
    return np.concatenate(out)


def gdpp_conditional_loss(a: Any, b: Any, lam: np.ndarray) -> np.ndarray:
    """E[(TF - y_q)^2 | X] = tr p(S)^2 = sum_i p(lambda_i)^2 per draw (noiseless, whitened; x_q, w integrated)."""
    a = np.asarray(a, float).ravel()
    b = np.concatenate([np.asarray(b, float).ravel(), np.zeros(a.size)])[: a.size]
    return np.sum(_gdpp_p_at(a, b, lam) ** 2, axis=-1)


def sample_average_gdpp(lam: np.ndarray, L: int, *, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """argmin over (a, b) of the sample average of tr p(S)^2 over the fixed spectra ``lam`` (draws, d): what a
    learner that only ever sees these draws converges to (common random numbers; Nelder-Mead then BFGS
    from ``x0`` = (a_0..a_{L-1}, b_0..b_{L-2})). Returns (a, b with b_{L-1} = 0, sample loss)."""
    def f(th: np.ndarray) -> float:
        return float(np.mean(gdpp_conditional_loss(th[:L], th[L:], lam)))

    r = optimize.minimize(f, np.asarray(x0, float), method="Nelder-Mead",
                          options={"xatol": 1e-7, "fatol": 1e-13, "maxiter": 4000})
    a, b = _gdpp_split(r.x, L)
    return a.copy(), b, float(r.fun)
