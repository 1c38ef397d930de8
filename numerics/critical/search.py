"""Starts and runs of the critical-point search (``numerics.critical``): one start is one independent,
replayable task, ``run_start(setting, seed, start)``, so a sweep can spread starts over workers.

Start k of seed s is ``start_point(d, seed=s, start=k, scale=...)`` from ``np.random.default_rng([s, k])``;
its runs depend on (setting, s, k, methods, grad_tol, maxiter) only, never on which worker runs them or in
which order. Methods: ``descent`` (BFGS / L-BFGS on f, which finds minima; then Newton polishing only if
the descent result is not yet converged) and ``newton`` (damped Newton on grad f = 0 from the start,
|grad f| as merit, which also finds saddles). ``default_methods(d)``: both for d <= NEWTON_AUTO_MAX_DIM,
descent only beyond (Newton from a random start at d = 50 made 15 steps in 12 s and stalled: it pays
only at small d, or on request). Newton steps are least-squares steps (the Hessian is singular along the
scaling direction): dense for <= DENSE_MAX parameters, MINRES on forward-mode Hessian-vector products
beyond (at most MINRES_MAXITER products per step, no dense Hessian).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize as so
import scipy.sparse.linalg as spla

from iclcheck.numerics.critical.backend import _Backend, _scaling_direction, balance
from iclcheck.numerics.limits import MAX_CRITICAL_DIM, MAX_SEED
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import n_params
from iclcheck.theory.errors import InputError

__all__ = ["METHODS", "RunResult", "default_methods", "default_tolerances", "run_from", "run_start",
           "single_threaded_blas", "start_point"]

METHODS = ("descent", "newton")
BFGS_MAX = 400  # dense BFGS up to this many parameters, L-BFGS beyond
DENSE_MAX = 121  # Newton steps with the dense Hessian up to this many parameters (d <= 10), MINRES beyond
NEWTON_AUTO_MAX_DIM = 10  # default methods: descent and newton up to this d, descent only beyond
MINRES_MAXITER = 400  # Hessian-vector products per inexact Newton step (large d)


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


def default_methods(d: int) -> tuple[str, ...]:
    return METHODS if d <= NEWTON_AUTO_MAX_DIM else ("descent",)


def default_tolerances(ol: OneLayer) -> tuple[float, float]:
    """(grad_tol, loss_tol) = 1e-9 * max(1, tr(S W)) each (absolute; grad at the balanced representative)."""
    f0 = max(1.0, float(np.trace(ol.SW)))
    return 1e-9 * f0, 1e-9 * f0


def check_methods(methods) -> tuple[str, ...]:
    methods = tuple(methods)
    if not methods:
        raise InputError("methods", f"must name at least one of {METHODS}")
    for m in methods:
        if m not in METHODS:
            raise InputError("method", f"must be one of {METHODS}, got {m!r}")
    return methods


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
            hv = be.hvp_op(theta)

            def mv(v, t=t, hv=hv):
                v = v - t * (t @ v)
                w = hv(v)
                return w - t * (t @ w)

            op = spla.LinearOperator((N, N), matvec=mv, dtype=float)
            step = spla.minres(op, -(g - t * (t @ g)), rtol=1e-10, maxiter=min(4 * N, MINRES_MAXITER))[0]
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


def run_from(
    ol: OneLayer | _Backend,
    theta0: np.ndarray,
    *,
    method: str = "descent",
    grad_tol: float,
    maxiter: int = 3000,
) -> tuple[np.ndarray, bool, float, int, str]:
    """One run from the point theta0: (theta, converged, balanced |grad f|, iterations, message).

    descent: BFGS / L-BFGS on f, then Newton polishing if not yet converged (finds minima). newton: damped
    Newton on grad f = 0 with |grad f| as merit, from the start itself (finds nearby critical points of
    any kind: saddles)."""
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
        theta, newton = _newton_polish(be, theta, grad_tol=grad_tol)  # returns at once when converged
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


@contextmanager
def single_threaded_blas():
    """BLAS on one thread inside (threadpoolctl): the search makes thousands of small BLAS calls (inside
    L-BFGS-B, vectors of ~(d+1)^2 entries), which a multi-threaded BLAS runs ~10x slower on a shared
    machine (d = 20: one start 5.6 s vs 0.4 s here); parallelism belongs to the starts, not to BLAS."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _backend(setting) -> _Backend:
    if isinstance(setting, _Backend):
        return setting
    ol = setting if isinstance(setting, OneLayer) else OneLayer(setting)
    if ol.d > MAX_CRITICAL_DIM:
        raise InputError("Sigma", f"the critical-point search supports d <= {MAX_CRITICAL_DIM}, got d = {ol.d}")
    return _Backend(ol)


def run_start(setting, seed=None, start: int | None = None, *, methods=None, grad_tol: float | None = None,
              maxiter: int = 3000, method: str | None = None):
    """Every run of start ``start`` of seed ``seed``: a list of ``RunResult`` (one per method), a pure
    function of its arguments (setting: a ``Setting``, a ``OneLayer`` or a backend). This is the unit of
    work a sweep distributes; ``find_critical_points`` calls it for k = 0 .. starts - 1 and
    ``assemble_landscape`` merges the runs. methods default to ``default_methods(d)``, grad_tol to
    ``default_tolerances``.

    The former form ``run_start(ol, theta0, method=..., grad_tol=...)`` (a start point instead of a seed)
    is ``run_from`` and still accepted."""
    if seed is not None and np.ndim(seed) == 1:  # the former form: (ol, theta0, method=, grad_tol=)
        if grad_tol is None:
            raise InputError("grad_tol", "is required with a start point theta0")
        return run_from(setting, seed, method=method or "descent", grad_tol=grad_tol, maxiter=maxiter)
    for what, v, hi in (("seed", seed, MAX_SEED), ("start", start, MAX_SEED)):
        if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= hi):
            raise InputError(what, f"must be an integer in [0, 2^63 - 1], got {v!r}")
    assert start is not None  # checked just above (an integer in [0, 2^63 - 1])
    be = _backend(setting)
    methods = check_methods(default_methods(be.d) if methods is None else methods)
    if grad_tol is None:
        grad_tol = default_tolerances(be.ol)[0]
    theta0 = start_point(be.d, seed=seed, start=start, scale=be.start_scale)
    out = []
    with single_threaded_blas():
        for m in methods:
            theta, ok, gn, it, msg = run_from(be, theta0, method=m, grad_tol=grad_tol, maxiter=maxiter)
            out.append(RunResult(int(start), m, ok, be.value_grad(theta)[0], gn, it, msg, theta))
    return out
