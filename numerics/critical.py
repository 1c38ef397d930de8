"""Critical points of the full-parameter one-layer loss: multi-start search, deduplication, classification.

Parameters theta = (p, Qd) with p = P[d, :] (b, c) and Qd = Q[:, :d] (Q11 over q21), as in
``numerics.derivatives``; the other entries of P, Q do not affect the output and are not searched.

Symmetries and the invariant. The output is o = (1/n) p^T G Qd x_q with G = sum_i z_i z_i^T symmetric,
so it depends on theta only through the tensor m_{kij} = p_k Qd_{ij} symmetrised in (k, i):

    m_s(theta)_{kij} = (p_k Qd_{ij} + p_i Qd_{kj}) / 2        ((d+1) x (d+1) x d),

which is invariant under P -> gamma P, Q -> Q / gamma. Two stationary points are the same point of the
landscape iff their m_s agree (relative Frobenius distance <= ``dedup_tol``), or agree after the mirror map below; the
loss is a function of m_s. Mirror symmetry: the data law is invariant under (x, w) -> (-x, -w) (the
covariate laws are symmetric, w is Gaussian), i.e. z -> D z with D = diag(-I_d, 1), which maps
(p, Qd) -> (D p, -D Qd): (b, c, Q11, q21) -> (-b, c, Q11, -q21). It negates the coefficients of the
features G_ki x_q with k, i both <= d or both = d+1 and keeps the others, and preserves f; mirror
images are reported as one point. Gradient norms depend on the representative of the scaling orbit, so every point is first
*balanced* (||p|| = ||Qd||) and its gradient norm is reported there.

Search. Each start k is replayable: theta_0 = ``start_point(d, seed=seed, start=k, scale=...)`` draws
from ``np.random.default_rng([seed, k])``. From every start two runs are made:
``descent`` (L-BFGS on f, which finds minima) and ``newton`` (damped Newton on grad f = 0 from the start, with
|grad f| as the merit function, which also finds saddles). Both are polished by Newton steps on
grad f = 0 (least-squares steps, the Hessian being singular along the scaling direction), accepted only
when they reduce |grad f|. A run converges when the balanced |grad f| <= ``grad_tol``; runs that do not
are reported one by one (start, method, |grad f|, reason), never dropped.

Classification. At a point with p != 0 and Qd != 0 the scaling direction t = (p, -Qd) is an exact
flat direction (f is constant along gamma -> (gamma p, Qd / gamma)); the Hessian is restricted to the
orthogonal complement of t. Its eigenvalues with |lambda| <= ``eig_tol`` * max|lambda| are counted as
zero (``n_zero``; nonzero means second-order information cannot decide and is reported as
degenerate). index = number of negative eigenvalues. kind:

* ``saddle``     index > 0;
* ``global-min`` index = 0 and loss <= reference + loss_tol, reference = min(L*, lowest loss found)
  where L* = ``OneLayer.min_loss()`` is the best loss over the reduced family (b = 0, q21 = 0). That
  this is the global minimum over *all* (P, Q) is what ``numerics.certificate`` proves;
* ``local-min``  index = 0 and loss above the reference.

Limitation: only the scaling orbit and the mirror are quotiented out. When the setting has continuous
symmetries (e.g. Sigma = I, Sigma_w = I: rotations) critical points come in continua; they show up
with n_zero > 0 and are listed point by point (one entry per run that reached the continuum).

The zero-output points (p = 0, q21 = 0, tr(Q11 S W S) = 0; all have m_s = 0 and loss tr(S W)) are
critical and are saddles of index d + 1.

Effective preconditioner: ``gamma = -c Q11^T``. At points of the reduced form (b = 0, q21 = 0) the
predictor is x_q^T gamma (1/n) sum_i y_i x_i exactly; for general points it is the definition used
(stated in the output), and ``reduced_form_residual`` says how far the point is from that form.
``distance_to_predicted`` = sqrt(E (o - o*)^2) / sqrt(E o*^2), the L2 distance between the point's
output o and the output o* of the point of Gamma* = ``OneLayer.gamma_star()`` (d <= 6, through the
lifted moments; it is 0 exactly when the two points are the same predictor). For d > 6 it is the
tensor distance |m_s(theta) - m_s(theta*)|_F / |m_s(theta*)|_F instead. Deduplication uses the same
distance: for Rademacher covariates some features are collinear (the loss has flat valleys in m), and
points in one valley are one predictor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.optimize as so
import scipy.sparse.linalg as spla

from iclcheck.numerics.derivatives import (
    hessian_flat,
    hvp_flat,
    loss_flat,
    n_params,
    pack,
    unpack_parts,
    value_and_grad_flat,
)
from iclcheck.numerics.lift import LiftedLoss, invariant
from iclcheck.numerics.limits import MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS  # noqa: F401 (re-exported)
from iclcheck.numerics.one_layer import OneLayer
from iclcheck.theory.errors import InputError

__all__ = [
    "CriticalPoint",
    "Landscape",
    "RunResult",
    "balance",
    "classify",
    "distance_to_predicted",
    "effective_gamma",
    "find_critical_points",
    "invariant",
    "run_start",
    "start_point",
]

METHODS = ("descent", "newton")
BFGS_MAX = 400  # dense BFGS up to this many parameters, L-BFGS beyond
DENSE_MAX = 1200  # dense Hessian (classification, Newton) up to this many parameters; Lanczos/MINRES beyond
LIFTED_BACKEND_MAX_DIM = 6  # the lifted backend holds A (D x D, D = (d+1)^2 d: 2.3 MB at d = 6)


@dataclass(frozen=True)
class RunResult:
    """One run from one start: replay with ``start_point(d, seed=seed, start=start)`` and ``method``."""

    start: int
    method: str
    converged: bool
    loss: float
    grad_norm: float
    iterations: int
    message: str
    theta: np.ndarray = field(repr=False)
    point: int | None = None  # index into Landscape.points when converged


@dataclass(frozen=True)
class CriticalPoint:
    theta: np.ndarray = field(repr=False)  # balanced representative
    loss: float
    kind: str  # "global-min" | "local-min" | "saddle"
    index: int
    n_zero: int  # Hessian eigenvalues counted as zero besides the scaling direction
    grad_norm: float
    count: int  # runs that reached the point
    gamma: np.ndarray  # -c Q11^T
    reduced_form_residual: float  # (|b| + |q21|) / |p|,|Qd| scale; 0 for points of the reduced form
    distance_to_predicted: float
    eigenvalues: np.ndarray = field(repr=False)  # restricted Hessian spectrum (ascending)
    runs: tuple[tuple[int, str], ...] = ()  # (start, method) of the runs that reached it

    @property
    def degenerate(self) -> bool:
        return self.n_zero > 0


@dataclass(frozen=True)
class Landscape:
    points: list[CriticalPoint]
    runs: list[RunResult]
    predicted_loss: float  # L* of the reduced family at Gamma*
    gamma_star: np.ndarray
    starts: int
    seed: int
    grad_tol: float
    dedup_tol: float
    eig_tol: float
    loss_tol: float

    @property
    def nonconverged(self) -> list[RunResult]:
        return [r for r in self.runs if not r.converged]


class _Backend:
    """Value, gradient, Hessian of f(theta). For d <= LIFTED_BACKEND_MAX_DIM through the lift f = m^T A m + 2 a^T m
    + c0, m = p (x) q (q = theta[d+1:] = row-major Qd), whose derivatives are a few small tensor
    contractions (the lift is an independent derivation; tests check both backends agree); otherwise the
    O(d^3) closed-form gradient of ``numerics.derivatives`` with exact HVPs."""

    def __init__(self, ol: OneLayer):
        self.ol, self.d = ol, ol.d
        self.k = ol.d + 1
        self.N = n_params(ol.d)
        self.lifted = ol.d <= LIFTED_BACKEND_MAX_DIM
        if self.lifted:
            L = LiftedLoss(ol)
            nq = self.k * ol.d
            self.A4 = L.A.reshape(self.k, nq, self.k, nq)  # [k, nq, k, nq]
            self.A = L.A
            self.a2 = L.a.reshape(self.k, nq)  # [k, nq]
            self.c0 = L.c0
            U = L.sym_basis  # [D, D_s]
            lam, V = np.linalg.eigh(U.T @ L.A @ U)
            keep = lam > 1e-12 * lam[-1]
            self.Fs = (V[:, keep] * np.sqrt(lam[keep])).T @ U.T  # [r, D]; |Fs m|^2 = m^T A m = E o^2

    def predictor(self, theta: np.ndarray, *, mirror: bool = False) -> np.ndarray:
        """Coordinates of the output o(theta) in an orthonormal basis of the features (lifted: |u - v| is the
        L2 distance sqrt(E (o_u - o_v)^2) between predictors); otherwise the tensor m_s itself."""
        m = invariant(theta, self.d)
        if mirror:
            m = _flip(m, self.d)
        return self.Fs @ m.reshape(-1) if self.lifted else m.reshape(-1)

    def rounding(self, theta: np.ndarray) -> float:
        """A bound on the float rounding in f(theta): 64 eps times the sum of the absolute terms."""
        eps = np.finfo(float).eps
        if self.lifted:
            m = np.abs(np.kron(theta[: self.k], theta[self.k :]))
            return float(64 * eps * (m @ np.abs(self.A) @ m + 2 * np.abs(self.a2).reshape(-1) @ m + self.c0))
        f, g = self.value_grad(theta)
        return float(64 * eps * (abs(f) + np.abs(g) @ np.abs(theta)))

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        if not self.lifted:
            return value_and_grad_flat(self.ol, theta)
        p, q = theta[: self.k], theta[self.k :]
        m = np.kron(p, q)  # [k * nq]
        v = self.A @ m  # [k * nq]
        R = v.reshape(self.k, -1) + self.a2  # [k, nq]
        f = float(m @ v + 2 * np.sum(self.a2 * np.outer(p, q)) + self.c0)
        return f, np.concatenate([2 * R @ q, 2 * R.T @ p])

    def grad(self, theta: np.ndarray) -> np.ndarray:
        return self.value_grad(theta)[1]

    def hess(self, theta: np.ndarray) -> np.ndarray:
        if not self.lifted:
            return hessian_flat(self.ol, theta)
        p, q = theta[: self.k], theta[self.k :]
        A4 = self.A4
        R = np.einsum("ktls,l,s->kt", A4, p, q) + self.a2  # [k, nq]
        Hpp = 2 * np.einsum("r,krls,s->kl", q, A4, q)  # [k, k]
        Hqq = 2 * np.einsum("k,krls,l->rs", p, A4, p)  # [nq, nq]
        Hpq = 2 * R + 2 * np.einsum("krlt,r,l->kt", A4, q, p)  # [k, nq]
        H = np.block([[Hpp, Hpq], [Hpq.T, Hqq]])
        return (H + H.T) / 2

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.hess(theta) @ v if self.lifted else hvp_flat(self.ol, theta, v)


# -- symmetry helpers ---------------------------------------------------------------------------------
def _split(theta: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """p [d+1], Qd [(d+1), d] (rows: Q11 rows then q21)."""
    b, c, Q11, q21 = unpack_parts(theta, d)
    p = np.concatenate([b, [c]])
    Qd = np.vstack([Q11, q21[None, :]])
    return p, Qd


def _flip(m: np.ndarray, d: int) -> np.ndarray:
    """The invariant of the mirror point (b, c, Q11, q21) -> (-b, c, Q11, -q21): entries with both or neither
    of (k, i) equal to d (the features even in y) change sign."""
    out = m.copy()
    out[:d, :d, :] *= -1  # x-x features
    out[d, d, :] *= -1  # y-y feature
    return out


def balance(theta: np.ndarray, d: int) -> np.ndarray:
    """The representative of the scaling orbit with |p| = |Qd| (theta itself if either is zero)."""
    theta = np.array(theta, dtype=float)
    k = d + 1
    np_, nq = np.linalg.norm(theta[:k]), np.linalg.norm(theta[k:])
    if np_ == 0 or nq == 0:
        return theta
    g = np.sqrt(nq / np_)
    theta[:k] *= g
    theta[k:] /= g
    return theta


def effective_gamma(theta: np.ndarray, d: int) -> np.ndarray:
    """Gamma = -c Q11^T (exact preconditioner for reduced-form points; the stated definition otherwise)."""
    _, c, Q11, _ = unpack_parts(theta, d)
    return -c * Q11.T


def _reduced_form_residual(theta: np.ndarray, d: int) -> float:
    b, c, Q11, q21 = unpack_parts(theta, d)
    p_scale = np.hypot(np.linalg.norm(b), c)
    q_scale = np.hypot(np.linalg.norm(Q11), np.linalg.norm(q21))
    if p_scale == 0 or q_scale == 0:
        return 0.0
    return float(np.linalg.norm(b) / p_scale + np.linalg.norm(q21) / q_scale)


def _predicted_theta(ol: OneLayer) -> np.ndarray:
    P, Q = ol.params_from_gamma(ol.gamma_star())
    return balance(pack(P, Q), ol.d)


def distance_to_predicted(ol: OneLayer, theta: np.ndarray, *, m_star: np.ndarray | None = None) -> float:
    """|m_s(theta) - m_s(theta*)|_F / |m_s(theta*)|_F (invariant under P -> gamma P, Q -> Q / gamma)."""
    if m_star is None:
        m_star = invariant(_predicted_theta(ol), ol.d)
    return float(np.linalg.norm(invariant(theta, ol.d) - m_star) / np.linalg.norm(m_star))


# -- starts and runs ----------------------------------------------------------------------------------
def start_point(d: int, *, seed: int, start: int, scale: float = 1.0) -> np.ndarray:
    """Start ``start`` of seed ``seed``: p ~ N(0, I/(d+1)), Qd ~ N(0, I/(d(d+1))), both times
    scale * exp(N(0, 1/4)) (spread over scales), from ``np.random.default_rng([seed, start])``."""
    rng = np.random.default_rng([int(seed), int(start)])
    theta = rng.normal(size=n_params(d))  # [(d+1)^2]
    k = d + 1
    s = scale * np.exp(rng.normal(0.0, 0.5))
    theta[:k] *= s / np.sqrt(k)
    theta[k:] *= s / np.sqrt(d * k)
    return theta


def _scaling_direction(theta: np.ndarray, d: int) -> np.ndarray:
    """Unit tangent (p, -Qd) of the scaling orbit (zero vector when p = 0 or Qd = 0)."""
    k = d + 1
    t = np.concatenate([theta[:k], -theta[k:]])
    nt = np.linalg.norm(t)
    if nt == 0 or np.linalg.norm(theta[:k]) == 0 or np.linalg.norm(theta[k:]) == 0:
        return np.zeros_like(theta)
    return t / nt


def _newton_polish(
    be: _Backend, theta: np.ndarray, *, grad_tol: float, max_steps: int = 30, balance_each: bool = True
) -> tuple[np.ndarray, int]:
    """Newton steps on grad f = 0 (least squares: the Hessian is singular along the scaling direction),
    each accepted only if it lowers |grad f| (at the balanced representative)."""
    d = be.d
    theta = balance(theta, d)
    g = be.grad(theta)
    gn = np.linalg.norm(g)
    steps = 0
    N = theta.size
    for _ in range(max_steps):
        if gn <= grad_tol:
            break
        t = _scaling_direction(theta, d)  # grad f is orthogonal to t exactly (f is constant on the orbit)
        if N <= DENSE_MAX:
            H = be.hess(theta)
            Pt = np.eye(N) - np.outer(t, t)
            step = np.linalg.lstsq(Pt @ H @ Pt, -(Pt @ g), rcond=1e-12)[0]
        else:
            def mv(v, th=theta, t=t):
                v = v - t * (t @ v)
                w = be.hvp(th, v)
                return w - t * (t @ w)

            op = spla.LinearOperator((N, N), matvec=mv, dtype=float)
            step = spla.minres(op, -(g - t * (t @ g)), rtol=1e-10, maxiter=4 * N)[0]
        step -= t * (t @ step)
        improved = False
        for alpha in (1.0, 0.5, 0.25, 0.1, 0.03, 0.01):
            cand = theta + alpha * step
            cand = balance(cand, d) if balance_each else cand
            gc = be.grad(cand)
            if np.linalg.norm(gc) < gn:
                theta, g, gn, improved = cand, gc, np.linalg.norm(gc), True
                break
        steps += 1
        if not improved:
            break
    return theta, steps


def run_start(
    ol: OneLayer | _Backend,
    theta0: np.ndarray,
    *,
    method: str = "descent",
    grad_tol: float,
    maxiter: int = 3000,
) -> tuple[np.ndarray, bool, float, int, str]:
    """One run: (theta, converged, balanced |grad f|, iterations, message).

    descent: L-BFGS on f, then Newton polishing (finds minima). newton: damped Newton on grad f = 0 with
    |grad f| as merit, from the start itself (converges to nearby critical points of any kind: saddles)."""
    be = ol if isinstance(ol, _Backend) else _Backend(ol)
    if method == "descent":
        # L-BFGS in chunks, rebalancing between them: along the scaling orbit the iterates may drift to
        # |p| << |Qd|, where the problem is badly conditioned
        theta, nit, chunk = np.array(theta0, dtype=float), 0, 200
        while nit < maxiter:
            if be.N <= BFGS_MAX:  # dense BFGS: no BLAS calls per iteration (L-BFGS-B's are slow under load)
                res = so.minimize(be.value_grad, balance(theta, be.d), jac=True, method="BFGS",
                                  options={"maxiter": chunk, "gtol": grad_tol * 1e-2})
            else:
                res = so.minimize(
                    be.value_grad, balance(theta, be.d), jac=True, method="L-BFGS-B",
                    options={"maxiter": chunk, "gtol": grad_tol * 1e-2, "ftol": 1e-15, "maxcor": 30},
                )
            theta, nit = res.x, nit + int(res.nit)
            if res.nit < chunk:
                break
        theta, newton = _newton_polish(be, theta, grad_tol=grad_tol)
        why = str(res.message)
    elif method == "newton":
        theta, newton = _newton_polish(be, theta0, grad_tol=grad_tol, max_steps=200)
        nit, why = 0, "Newton stalled (no step lowers |grad f|) or step limit"
    else:
        raise InputError("method", f"must be one of {METHODS}, got {method!r}")
    theta = balance(theta, be.d)
    gn = float(np.linalg.norm(be.grad(theta)))
    converged = bool(np.isfinite(gn) and gn <= grad_tol)
    msg = "converged" if converged else f"|grad f| = {gn:.3g} > {grad_tol:.3g} ({why})"
    return theta, converged, gn, nit + newton, msg


# -- classification -----------------------------------------------------------------------------------
def classify(ol: OneLayer | _Backend, theta: np.ndarray, *, eig_tol: float = 1e-7) -> tuple[int, int, np.ndarray]:
    """(index, n_zero, eigenvalues) of the Hessian restricted to the complement of the scaling direction."""
    be = ol if isinstance(ol, _Backend) else _Backend(ol)
    d = be.d
    theta = balance(theta, d)
    k = d + 1
    t = np.concatenate([theta[:k], -theta[k:]])
    nt = np.linalg.norm(t)
    N = theta.size
    if N <= DENSE_MAX:
        H = be.hess(theta)
        if nt > 0:
            t = t / nt
            B = np.linalg.svd(np.eye(N) - np.outer(t, t))[0][:, : N - 1]  # orthonormal basis of t-perp
            H = B.T @ H @ B
        ev = np.linalg.eigvalsh(H)
    else:  # large: the extreme eigenvalues by Lanczos on the projected operator
        tt = t / nt if nt > 0 else np.zeros(N)

        def mv(v):
            v = v - tt * (tt @ v)
            w = be.hvp(theta, v)
            return w - tt * (tt @ w)

        op = spla.LinearOperator((N, N), matvec=mv, dtype=float)
        lo = spla.eigsh(op, k=6, which="SA", return_eigenvectors=False, tol=1e-8)
        hi = spla.eigsh(op, k=1, which="LA", return_eigenvectors=False, tol=1e-6)
        # the projected operator has one exact zero (t itself); drop the eigenvalue closest to 0 once
        lo = np.sort(lo)
        if nt > 0:
            lo = np.delete(lo, int(np.argmin(np.abs(lo))))
        ev = np.sort(np.concatenate([lo, hi]))
    scale = float(np.max(np.abs(ev))) if ev.size else 0.0
    zero = np.abs(ev) <= eig_tol * scale
    index = int(np.sum((ev < 0) & ~zero))
    return index, int(np.sum(zero)), ev


# -- the search ---------------------------------------------------------------------------------------
def find_critical_points(
    ol: OneLayer,
    *,
    starts: int = 64,
    seed: int = 0,
    methods: tuple[str, ...] = METHODS,
    grad_tol: float | None = None,
    dedup_tol: float = 1e-5,
    eig_tol: float = 1e-7,
    loss_tol: float | None = None,
    maxiter: int = 3000,
    progress=None,
) -> Landscape:
    """Multi-start search; see the module docstring. grad_tol defaults to 1e-9 * max(1, tr(S W)) (absolute,
    at the balanced representative); loss_tol to 1e-9 * max(1, tr(S W))."""
    if not (isinstance(starts, (int, np.integer)) and 1 <= starts <= MAX_STARTS):
        raise InputError("starts", f"must be an integer in [1, {MAX_STARTS}], got {starts!r}")
    if not (isinstance(seed, (int, np.integer)) and 0 <= seed <= MAX_SEED):
        raise InputError("seed", f"must be an integer in [0, 2^63 - 1], got {seed!r}")
    if ol.d > MAX_CRITICAL_DIM:
        raise InputError("Sigma", f"the critical-point search supports d <= {MAX_CRITICAL_DIM}, got d = {ol.d}")
    for m in methods:
        if m not in METHODS:
            raise InputError("method", f"must be one of {METHODS}, got {m!r}")
    d = ol.d
    f0 = max(1.0, float(np.trace(ol.SW)))
    grad_tol = 1e-9 * f0 if grad_tol is None else float(grad_tol)
    loss_tol = 1e-9 * f0 if loss_tol is None else float(loss_tol)
    G_star = ol.gamma_star()
    predicted = ol.min_loss()
    be = _Backend(ol)
    o_star = be.predictor(_predicted_theta(ol))
    o_scale = float(np.linalg.norm(o_star))  # distances below dedup_tol * this count as equal
    scale = np.sqrt(2 * max(np.linalg.norm(G_star), 1e-12))

    runs: list[RunResult] = []
    for k in range(starts):
        theta0 = start_point(d, seed=seed, start=k, scale=scale)
        for method in methods:
            theta, ok, gn, it, msg = run_start(be, theta0, method=method, grad_tol=grad_tol, maxiter=maxiter)
            runs.append(RunResult(k, method, ok, be.value_grad(theta)[0], gn, it, msg, theta))
        if progress is not None:
            progress(k + 1, starts)

    # deduplicate converged runs by the invariant
    clusters: list[list[int]] = []
    reps: list[np.ndarray] = []
    for i, r in enumerate(runs):
        if not r.converged:
            continue
        m = be.predictor(r.theta)
        mf = be.predictor(r.theta, mirror=True)
        for ci, mr in enumerate(reps):
            near = dedup_tol * max(np.linalg.norm(mr), np.linalg.norm(m), o_scale)
            if min(np.linalg.norm(m - mr), np.linalg.norm(mf - mr)) <= near:
                clusters[ci].append(i)
                break
        else:
            clusters.append([i])
            reps.append(m)

    raw = []
    for members in clusters:
        best = min(members, key=lambda i: runs[i].grad_norm)
        theta = balance(runs[best].theta, d)
        index, n_zero, ev = classify(be, theta, eig_tol=eig_tol)
        raw.append((members, theta, index, n_zero, ev))
    min_found = min((be.value_grad(t)[0] for _, t, idx, _, _ in raw if idx == 0), default=np.inf)
    reference = min(predicted, min_found)

    points: list[CriticalPoint] = []
    order = sorted(range(len(raw)), key=lambda j: loss_flat(ol, raw[j][1]))
    for j in order:
        members, theta, index, n_zero, ev = raw[j]
        loss = loss_flat(ol, theta)
        tol = loss_tol + be.rounding(theta)  # far out along flat valleys f is a difference of large terms
        kind = "saddle" if index > 0 else ("global-min" if loss <= reference + tol else "local-min")
        points.append(
            CriticalPoint(
                theta=theta,
                loss=loss,
                kind=kind,
                index=index,
                n_zero=n_zero,
                grad_norm=float(np.linalg.norm(be.grad(theta))),
                count=len(members),
                gamma=effective_gamma(theta, d),
                reduced_form_residual=_reduced_form_residual(theta, d),
                distance_to_predicted=float(np.linalg.norm(be.predictor(theta) - o_star) / o_scale),
                eigenvalues=ev,
                runs=tuple((runs[i].start, runs[i].method) for i in members),
            )
        )
    pos = {j: new for new, j in enumerate(order)}
    for ci, members in enumerate(clusters):
        for i in members:
            runs[i] = RunResult(**{**runs[i].__dict__, "point": pos[ci]})
    return Landscape(
        points=points, runs=runs, predicted_loss=predicted, gamma_star=G_star, starts=starts, seed=seed,
        grad_tol=grad_tol, dedup_tol=dedup_tol, eig_tol=eig_tol, loss_tol=loss_tol,
    )
