"""Many steps of in-context gradient descent, exactly: E error of k GD steps from w_0 = 0, for k = 1..K.

The iteration (the one a CoT rollout or a looped layer runs) on a prompt (X, y), S_X = (1/n) X^T X,

    w_{k+1} = w_k - eta P ((1/n) X^T (X w_k - y)),      w_0 = 0,

with a preconditioner P (None: P = I). Two targets: the weight error ||w_k - w*||^2 (Huang, Wang, Lee 2025) and
the label error (x_q^T w_k - w*^T x_q)^2 (the canonical one-layer loss; the query label carries no noise).

Exact reduction. Write Sigma = T^2 (T = Sigma^{1/2}) and X = Z T with Z iid N(0, 1), S = (1/n) Z^T Z. When
P Sigma = gamma I (plain GD with Sigma = c I, or GD preconditioned by gamma Sigma^{-1}; any Sigma_w, any sigma2),
I - eta P S_X = T^{-1} (I - t S) T with t = eta gamma, so with p = (I - t S)^k and R = sum_{j<k} (I - t S)^j

    w_k - w* = -T^{-1} p T w*  +  t T^{-1} R (1/n) Z^T eps.

S is orthogonally invariant, so E[p A p] = alpha A + beta tr(A) I for symmetric A, with
alpha + d beta = U / d and alpha + beta = (V + 2 U) / (d (d + 2)) (the fourth moments of a Haar column), where

    U_k(t) = E tr (I - t S)^{2k},   V_k(t) = E [tr (I - t S)^k]^2,   N_k(t) = t^2 E tr(R^2 S) = E tr(q(S)^2 S),
    q(x) = (1 - (1 - t x)^k) / x,

all polynomials in t with exact rational coefficients from the Wishart moments (theory.sample_moments: E tr S^j
and E tr S^a tr S^b, orders <= 2k). Then, with A = T Sigma_w T,

    label:  E err = U tr(Sigma Sigma_w) / d + (sigma2 / n) N,
    weight: E err = alpha tr(Sigma_w) + beta tr(Sigma Sigma_w) tr(Sigma^-1) + (sigma2 / n) tr(Sigma^-1) N / d.

The optimal step per k (eta = None) minimises that polynomial in t (grid, then Brent, evaluated in rational
arithmetic: no cancellation and no dependence on BLAS). Gaussian covariates only; k <= MAX_STEPS.

Tails. On a prompt with lambda_max(t S) > 2 the error grows like |1 - t lambda_max|^{2k}: the expectation can rest on
rare prompts. The Gauss quadrature of the expected spectral measure with k + 1 nodes integrates (1 - t x)^{2k}
exactly (one quadrature with K + 1 nodes serves every k <= K); the share of U_k carried by its nodes beyond the stability edge x > 2/t is ``edge_share`` and their mass
(the expected fraction of eigenvalues there) ``edge_mass``. ``heavy_tail`` flags edge_share > 1/2 with
edge_mass < 5%: most of the expected error comes from a small fraction of the spectrum beyond the edge, so a
Monte Carlo mean at any affordable size sits below it (the median prompt does far better than the mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import comb, gcd
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError
from iclcheck.theory.sample_moments import wishart_moment
from iclcheck.theory.setting import Setting

__all__ = ["MAX_STEPS", "TARGETS", "GDError", "error_polynomials", "gd_error", "mc_gd_error", "step_factor"]

MAX_STEPS = 13  # Wishart moments of order <= 2k = 26 (and 28 for the tail quadrature)
TARGETS = ("label", "weights")
HEAVY_SHARE = 0.5
HEAVY_MASS = 0.05
_T_GRID = 96  # grid points in t for the optimal step, before Brent


@lru_cache(maxsize=256)
def _m(j: int, n: int, d: int) -> Fraction:
    """E tr S^j (S = Z^T Z / n), exact."""
    if j == 0:
        return Fraction(d)
    return Fraction(int(wishart_moment((j,), n=n, d=d)), n**j)


@lru_cache(maxsize=4096)
def _m2(a: int, b: int, n: int, d: int) -> Fraction:
    """E tr S^a tr S^b, exact."""
    a, b = min(a, b), max(a, b)
    if a == 0:
        return d * _m(b, n, d)
    return Fraction(int(wishart_moment((a, b), n=n, d=d)), n ** (a + b))


@lru_cache(maxsize=256)
def _U(k: int, n: int, d: int) -> tuple[Fraction, ...]:
    return tuple(comb(2 * k, j) * (-1) ** j * _m(j, n, d) for j in range(2 * k + 1))


@lru_cache(maxsize=256)
def _V(k: int, n: int, d: int) -> tuple[Fraction, ...]:
    V = [Fraction(0)] * (2 * k + 1)
    for a in range(k + 1):
        for b in range(k + 1):
            V[a + b] += comb(k, a) * comb(k, b) * (-1) ** (a + b) * _m2(a, b, n, d)
    return tuple(V)


@lru_cache(maxsize=256)
def _N(k: int, n: int, d: int) -> tuple[Fraction, ...]:
    # q(x) = sum_{j=1..k} c_j t^j x^{j-1}, c_j = C(k, j) (-1)^{j+1}; q^2 x -> sum c_i c_j t^{i+j} m_{i+j-1}
    N = [Fraction(0)] * (2 * k + 1)
    for i in range(1, k + 1):
        for j in range(1, k + 1):
            N[i + j] += comb(k, i) * comb(k, j) * (-1) ** (i + j) * _m(i + j - 1, n, d)
    return tuple(N)


def error_polynomials(k: int, n: int, d: int) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...], tuple[Fraction, ...]]:
    """(U_k, V_k, N_k) as exact coefficient tuples in t (index = power of t); see the module docstring."""
    return _U(k, n, d), _V(k, n, d), _N(k, n, d)


def _as_ints(coef: tuple[Fraction, ...]) -> tuple[tuple[int, ...], int]:
    """Coefficients over one common denominator: (numerators, denominator)."""
    den = 1
    for c in coef:
        den = den * c.denominator // gcd(den, c.denominator)
    return tuple(int(c * den) for c in coef), den


def _value_ints(nums: tuple[int, ...], den: int, t: float) -> float:
    """p(t) for p = sum nums_j t^j / den, exactly, rounded once (int true division is correctly rounded)."""
    tn, td = float(t).as_integer_ratio()
    acc, tdp = nums[-1], 1
    for c in reversed(nums[:-1]):
        tdp *= td
        acc = acc * tn + c * tdp
    return acc / (den * tdp)


def step_factor(setting: Setting, precondition: Any = None) -> tuple[float, np.ndarray]:
    """(gamma, P) with P Sigma = gamma I, or InputError: the exact reduction needs P Sigma proportional to I.

    ``precondition``: None (P = I; then Sigma must be c I), "inverse" (P = Sigma^-1, gamma = 1) or a d x d matrix."""
    d = setting.d
    Sig = setting.Sigma
    if precondition is None:
        P = np.eye(d)
    elif isinstance(precondition, str):
        if precondition not in ("inverse", "Sigma^-1", "inv"):
            raise InputError("precondition", f"unknown keyword {precondition!r}; use None, 'inverse' or a matrix")
        return 1.0, np.linalg.inv(Sig)
    else:
        try:
            P = np.asarray(precondition, dtype=float)
        except (TypeError, ValueError):
            raise InputError("precondition", "must be None, 'inverse' or a d x d matrix of numbers") from None
        if P.shape != (d, d) or not np.all(np.isfinite(P)):
            raise InputError("precondition", f"must be a finite {d} x {d} matrix, got shape {P.shape}")
    PS = P @ Sig
    gamma = float(np.trace(PS)) / d
    dev = float(np.max(np.abs(PS - gamma * np.eye(d))))
    if not gamma > 0 or dev > 1e-10 * max(abs(gamma), 1e-300):
        what = "plain GD (no precondition) needs Sigma = c I" if precondition is None else "P Sigma must be c I, c > 0"
        raise InputError("precondition", f"the exact many-step error is derived for P Sigma = c I only: {what} "
                         f"(max |P Sigma - c I| = {dev:.3g}); use the 'inverse' preconditioner (P = Sigma^-1)")
    return gamma, P


@dataclass(frozen=True)
class GDError:
    """Exact expected error of k = 1..K steps (index k - 1), the step used, the arg-min and the tail diagnostics."""

    target: str
    d: int
    n: int
    error: np.ndarray  # (K,) exact expectation (rounded once from the rational value)
    eta: np.ndarray  # (K,) the step used (given, or optimal per k)
    optimal_step: bool
    argmin: int  # the k with the least error
    first_worse: int | None  # the first k > 1 whose error exceeds the error at k = 1 (None: never up to K)
    edge_mass: np.ndarray  # (K,) expected fraction of eigenvalues of t S beyond 2 (Gauss nodes, see docstring)
    edge_share: np.ndarray  # (K,) share of U_k carried by those nodes
    heavy_tail: np.ndarray  # (K,) bool

    @property
    def steps(self) -> np.ndarray:
        return np.arange(1, self.error.size + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "d": self.d, "n": self.n, "optimal_step": self.optimal_step,
            "steps": [int(k) for k in self.steps], "error": [float(e) for e in self.error],
            "eta": [float(e) for e in self.eta], "argmin": int(self.argmin),
            "first_worse": None if self.first_worse is None else int(self.first_worse),
            "edge_mass": [float(x) for x in self.edge_mass], "edge_share": [float(x) for x in self.edge_share],
            "heavy_tail": [bool(x) for x in self.heavy_tail],
        }


def _check(setting: Any, steps: Any, target: str) -> tuple[Setting, int]:
    if not isinstance(setting, Setting):
        raise InputError("setting", f"expected an iclcheck Setting, got {type(setting).__name__}")
    if setting.n_is_symbolic:
        raise InputError("n", "the many-step error needs a numeric n")
    if not setting.gaussian:
        raise InputError("covariates", f"the exact many-step error is for Gaussian covariates, got {setting.covariates}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise InputError("steps", f"must be an integer in 1..{MAX_STEPS} (Wishart moments of order <= 26), got "
                         f"{steps!r}")
    if target not in TARGETS:
        raise InputError("target", f"must be one of {', '.join(TARGETS)}, got {target!r}")
    return setting, int(steps)


def _weights(setting: Setting, target: str) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """Exact (as floats are exact) coefficients: err = cU U + cV V + cN N (the alpha/beta split folded in)."""
    d, n = setting.d, int(setting.n)
    Sig, W = setting.Sigma, setting.Sigma_w
    F = Fraction
    trSW = F(float(np.sum(Sig * W)))  # tr(Sigma Sigma_w), both symmetric
    s2 = F(setting.sigma2)
    if target == "label":
        return trSW / d, F(0), s2 / n, F(0)
    trW = F(float(np.trace(W)))
    trSi = F(float(np.trace(np.linalg.inv(Sig))))
    if d == 1:
        return trW, F(0), s2 / n * trSi, F(0)
    # alpha = U/d - d beta, beta = (d U - V) / (d (d+2) (d-1))
    den = F(d * (d + 2) * (d - 1))
    b_U, b_V = F(d) / den, F(-1) / den
    a_U, a_V = F(1, d) - d * b_U, -d * b_V
    cU = a_U * trW + b_U * trSW * trSi
    cV = a_V * trW + b_V * trSW * trSi
    return cU, cV, s2 / n * trSi / d, F(0)


def _loss_coef(k: int, setting: Setting, target: str) -> tuple[Fraction, ...]:
    n, d = int(setting.n), setting.d
    cU, cV, cN, _ = _weights(setting, target)
    out = [cU * u for u in _U(k, n, d)]
    if cV:  # V (products of two traces) is needed only when Sigma_w is not a multiple of Sigma^-1 (weight target)
        out = [o + cV * v for o, v in zip(out, _V(k, n, d), strict=True)]
    if cN:
        out = [o + cN * m for o, m in zip(out, _N(k, n, d), strict=True)]
    return tuple(out)


def _optimal_t(coef: tuple[Fraction, ...]) -> float:
    """argmin over t > 0 of the polynomial: a grid on (0, hi] (hi doubled while the minimum sits at its end), then
    golden-section search in the grid cell around the least grid value (pure Python: deterministic everywhere)."""
    nums, den = _as_ints(coef)

    def f(t: float) -> float:
        return _value_ints(nums, den, t)

    hi = 2.5
    for _ in range(12):
        grid = [hi * (i + 1) / _T_GRID for i in range(_T_GRID)]
        vals = [f(t) for t in grid]
        i = int(np.argmin(vals))
        if i < _T_GRID - 1:
            break
        hi *= 2.0
    a, b = (grid[i - 1] if i > 0 else 0.0), grid[i + 1]
    g = (5 ** 0.5 - 1) / 2
    c, e = b - g * (b - a), a + g * (b - a)
    fc, fe = f(c), f(e)
    while b - a > 1e-13 * b:
        if fc <= fe:
            b, e, fe = e, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, e, fe
            e = a + g * (b - a)
            fe = f(e)
    best = c if fc <= fe else e
    return best if f(best) <= vals[i] else grid[i]


def _edge(k: int, t: float, x: np.ndarray, w: np.ndarray, d: int) -> tuple[float, float]:
    """(edge mass, edge share) from Gauss nodes x, weights w exact for degree >= 2k."""
    vals = w * (1.0 - t * x) ** (2 * k)
    out = x > 2.0 / t
    tot = float(np.sum(vals))
    return float(np.sum(w[out]) / d), float(np.sum(vals[out]) / tot) if tot > 0 else 0.0


def gd_error(setting: Setting, steps: int, *, eta: float | None = None, target: str = "label",
             precondition: Any = None) -> GDError:
    """Exact E error of k = 1..steps GD steps from w_0 = 0 (module docstring); ``eta=None``: optimal step per k."""
    setting, K = _check(setting, steps, target)
    gamma, _ = step_factor(setting, precondition)
    if eta is not None:
        try:
            eta = float(eta)
        except (TypeError, ValueError):
            raise InputError("eta", f"must be a number, got {eta!r}") from None
        if not (np.isfinite(eta) and eta > 0):
            raise InputError("eta", f"must be finite and > 0, got {eta!r}")
    from iclcheck.numerics.families.quadrature import spectral_quadrature

    n, d = int(setting.n), setting.d
    x, w = spectral_quadrature(2 * K, n=n, d=d)  # K + 1 nodes: exact for degree <= 2K + 1, so for every k <= K
    err, etas, mass, share = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    for k in range(1, K + 1):
        coef = _loss_coef(k, setting, target)
        t = _optimal_t(coef) if eta is None else eta * gamma
        err[k - 1] = max(_value_ints(*_as_ints(coef), t), 0.0)
        etas[k - 1] = t / gamma
        mass[k - 1], share[k - 1] = _edge(k, t, x, w, d)
    heavy = (share > HEAVY_SHARE) & (mass < HEAVY_MASS)
    argmin = int(np.argmin(err)) + 1
    worse = np.flatnonzero(err[1:] > err[0])
    return GDError(target=target, d=d, n=n, error=err, eta=etas, optimal_step=eta is None, argmin=argmin,
                   first_worse=int(worse[0]) + 2 if worse.size else None, edge_mass=mass, edge_share=share,
                   heavy_tail=heavy)


def mc_gd_error(setting: Setting, steps: int, *, eta: float | np.ndarray, target: str = "label",
                precondition: Any = None, samples: int, rng: np.random.Generator, batch: int = 4000) -> list:
    """Monte Carlo of the literal iteration (any Sigma, P; Gaussian or not): one MCEstimate per k = 1..steps, from the
    same prompts (``eta``: one step for all k, or one per k, each run from w_0 = 0)."""
    from iclcheck.numerics.model.forward import sample_prompts
    from iclcheck.numerics.model.montecarlo import estimate_from_values

    if target not in TARGETS:
        raise InputError("target", f"must be one of {', '.join(TARGETS)}, got {target!r}")
    K = int(steps)
    d = setting.d
    P = np.eye(d) if precondition is None else (np.linalg.inv(setting.Sigma) if isinstance(precondition, str)
                                                 else np.asarray(precondition, float))
    etas = np.broadcast_to(np.asarray(eta, float), (K,))
    per_k: list[list[np.ndarray]] = [[] for _ in range(K)]
    done = 0
    while done < samples:
        B = min(batch, samples - done)
        pr = sample_prompts(setting, B, rng)
        n = pr.X.shape[1]
        S = np.einsum("bni,bnj->bij", pr.X, pr.X) / n  # (B, d, d)
        h = np.einsum("bni,bn->bi", pr.X, pr.y) / n  # (B, d)
        wk = np.zeros((B, d))
        for k in range(1, K + 1):
            if k > 1 and etas[k - 1] == etas[k - 2]:
                wk = _gd_steps(wk, S, h, P, etas[k - 1], 1)  # the same run, one step further
            else:
                wk = _gd_steps(np.zeros((B, d)), S, h, P, etas[k - 1], k)  # a new step size: rerun from w_0 = 0
            e = wk - pr.w  # (B, d)
            v = np.einsum("bi,bi->b", e, e) if target == "weights" else np.einsum("bi,bi->b", pr.xq, e) ** 2
            per_k[k - 1].append(v)
        done += B
    return [estimate_from_values(np.concatenate(v), nonnegative=True) for v in per_k]


def _gd_steps(w: np.ndarray, S: np.ndarray, h: np.ndarray, P: np.ndarray, eta: float, k: int) -> np.ndarray:
    for _ in range(k):
        g = np.einsum("bij,bj->bi", S, w) - h  # (B, d) gradient of (1/2n)||Xw - y||^2
        w = w - eta * g @ P.T  # (B, d)
    return w
