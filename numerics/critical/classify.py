"""Classification and deduplication of the runs of ``numerics.critical`` (see that module's docstring):
the restricted Hessian (dense, from forward-mode Hessian-vector products), clusters of runs
by the predictor (modulo the scaling orbit and the mirror), and the critical points they make."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from iclcheck.numerics.critical.backend import _Backend, _reduced_form_residual, balance, effective_gamma
from iclcheck.numerics.critical.search import DENSE_MAX, RunResult
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import loss_flat

__all__ = ["CriticalPoint", "classify", "cluster_runs", "critical_points", "flat_tolerance"]


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


def flat_tolerance(be: _Backend, theta: np.ndarray, ev: np.ndarray) -> float:
    """The threshold under which an eigenvalue of the (restricted, n x n) Hessian at theta cannot be told from 0.

    Derivation. The computed restricted Hessian is H + E, E the rounding in forming the entries, restricting them
    to t-perp and the eigensolver's backward error (``ev``: the computed eigenvalues, n = ev.size). H is symmetric, so every eigenvalue is perfectly conditioned
    (Weyl: |lambda_i(H + E) - lambda_i(H)| <= ||E||_2, whatever the eigenvalue), and an eigenvalue is known to be
    nonzero exactly when |lambda_i| > ||E||_2: the threshold is a bound on ||E||_2, absolute, the same for every
    eigenvalue, and it is not a fixed fraction of the largest one (1e-7 x 7e10 = 7e3 called eigenvalues 2e-3, 200
    and 202 of a strict minimum zero). Bounds: (i) each entry is a sum of K products, computed with an error
    <= gamma_K x (the same sum of |terms|), so ||E_form||_2 <= gamma_K ||H_abs||_2 (H_abs: ``hess_abs_norm``);
    (ii) the restriction B^T H B and a backward-stable symmetric eigensolver add p(n) u ||H||_2. The worst-case
    constants (K ~ N^2, p(n) ~ n^2) are far from what happens: rounding errors add like a random walk (Higham,
    Accuracy and Stability, sec. 3.6: sqrt(K) u in practice), so we take tol = n x eps x ||H_abs||_2
    (eps = 2u, n the restricted dimension), i.e. ~2 n u times the sum of |terms|. Checked against a 60-digit
    evaluation of the same Hessian (tests/numerics/test_flat_tolerance.py): the float eigenvalues err by 1/8 to
    1/14 of this tolerance, while the smallest true eigenvalues of the issue's two minima (2.0e-3 with
    ||H|| = 7e10; 0.21 with ||H|| = 6e13) lie 11x and 2x above it.
    The other source of error is not rounding: theta is critical only to grad_tol, and the Hessian at the critical
    point it approximates differs by ~ D^3 f [theta - theta*]. ``classify`` measures it (one Newton step towards
    the critical set, and how far each eigenvalue moves) and adds it: on a continuum of minima (Sigma = I) the
    flat eigenvalue is ~1e-11 at theta (above this rounding tolerance, ~1e-15 there) and moves by as much."""
    eps = float(np.finfo(float).eps)
    # beyond the lifted backend there is no |terms| formula: ||H||_2 = max |ev| (no second dense Hessian)
    scale = be.hess_abs_norm(theta) if be.lifted else (float(np.max(np.abs(ev))) if ev.size else 0.0)
    return ev.size * eps * scale


def classify(ol: OneLayer | _Backend, theta: np.ndarray, *,
             eig_tol: float | None = None) -> tuple[int, int, np.ndarray]:
    """(index, n_zero, eigenvalues) of the Hessian restricted to the complement of the scaling direction:
    the whole spectrum, from the dense Hessian (N forward-mode Hessian-vector products, ~one gradient each).

    Why dense and not Lanczos at large d: at the minima the lowest eigenvalues cluster far below the top
    one (d = 50: 1.22, 1.28, 1.34, ... vs 1.85e5), and ARPACK needed 48,676 products (43 s) for the 6
    lowest, while the dense Hessian took 2,601 products (1.7 s) and eigvalsh 3.9 s, and gives the exact
    index. The restricted basis is the SVD complement of t for <= DENSE_MAX parameters (as before) and a
    Householder reflector beyond (O(N^2) instead of an N x N SVD).

    Eigenvalues with |lambda| <= ``flat_tolerance`` (rounding, derived there) + 2 x how far lambda moves under one
    Newton step towards the critical set (theta is critical only to grad_tol) count as zero; a float ``eig_tol``
    uses the former rule |lambda| <= eig_tol * max |lambda| instead."""
    be = ol if isinstance(ol, _Backend) else _Backend(ol)
    theta = balance(theta, be.d)
    H, project, expand = _restricted_hessian(be, theta)
    ev, V = np.linalg.eigh(H)
    if eig_tol is not None:  # the former rule, on request: relative to the largest eigenvalue
        zero = np.abs(ev) <= eig_tol * (float(np.max(np.abs(ev))) if ev.size else 0.0)
        return int(np.sum((ev < 0) & ~zero)), int(np.sum(zero)), ev
    tol = flat_tolerance(be, theta, ev)
    # theta is critical only to grad_tol: the Hessian at the critical point it approximates differs. One Newton step
    # towards the critical set (over the eigen-directions rounding resolves) estimates that point; how far each
    # eigenvalue moves under the step measures the offset's effect (on a continuum of minima the flat eigenvalue
    # is ~|theta - theta*| at theta and ~0 after the step; at a strict minimum it stays put).
    # The step uses the stiff directions only, |lambda| > sqrt(tol max|lambda|) (the geometric mean of the rounding
    # level and the top): along softer ones g / lambda is dominated by the rounding in g and by higher-order terms
    # (on a continuum it slides along the valley, and its length then depends on rounding, not on the landscape).
    keep = np.abs(ev) > np.sqrt(tol * (float(np.max(np.abs(ev))) if ev.size else 0.0))
    moved = np.zeros_like(ev)
    if np.any(~keep & (np.abs(ev) > tol)):  # only soft eigenvalues above rounding can be in doubt (else: 1 Hessian)
        g = project(be.grad(theta))  # [N - 1]
        step = expand(-V[:, keep] @ ((V[:, keep].T @ g) / ev[keep]))  # [N]
        if np.linalg.norm(step) <= 1e-3 * np.linalg.norm(theta):  # else no linearisation holds (theta ~ 0)
            moved = np.abs(np.linalg.eigvalsh(_restricted_hessian(be, theta + step)[0]) - ev)
    zero = np.abs(ev) <= tol + 2 * moved
    index = int(np.sum((ev < 0) & ~zero))
    return index, int(np.sum(zero)), ev


def _restricted_hessian(be: _Backend, theta: np.ndarray):
    """(H restricted to the complement of the scaling direction t, x -> its coordinates there, coordinates -> x)."""
    k = be.d + 1
    t = np.concatenate([theta[:k], -theta[k:]])
    nt = np.linalg.norm(t)
    N = theta.size
    H = be.hess(theta)
    if nt == 0:
        return H, (lambda x: x), (lambda y: y)
    t = t / nt
    if N <= DENSE_MAX:
        B = np.linalg.svd(np.eye(N) - np.outer(t, t))[0][:, : N - 1]  # orthonormal basis of t-perp
        return B.T @ H @ B, (lambda x: B.T @ x), (lambda y: B @ y)
    # R = I - 2 w w^T maps t to -sign(t_0) e_0; its columns 1.. span t-perp
    w = t.copy()
    w[0] += np.copysign(1.0, t[0])
    w /= np.linalg.norm(w)
    Hw = H @ w  # [N]
    RHR = H - 2 * np.outer(w, Hw) - 2 * np.outer(Hw, w) + 4 * (w @ Hw) * np.outer(w, w)
    Hr = RHR[1:, 1:]

    def expand(y: np.ndarray) -> np.ndarray:
        x = np.concatenate([[0.0], y])
        return x - 2 * w * (w @ x)

    return (Hr + Hr.T) / 2, (lambda x: (x - 2 * w * (w @ x))[1:]), expand


def cluster_runs(be: _Backend, runs: list[RunResult], *, dedup_tol: float, o_scale: float) -> list[list[int]]:
    """Indices of the converged runs grouped by predictor (a run joins the first cluster whose
    representative is within dedup_tol * scale of its predictor or of its mirror image)."""
    clusters: list[list[int]] = []
    reps: list[np.ndarray] = []
    for i, r in enumerate(runs):
        if not r.converged:
            continue
        m = be.predictor(r.theta)
        mf = be.predictor(r.theta, mirror=True)
        for ci, mr in enumerate(reps):
            near = dedup_tol * max(float(np.linalg.norm(mr)), float(np.linalg.norm(m)), o_scale)
            if min(np.linalg.norm(m - mr), np.linalg.norm(mf - mr)) <= near:
                clusters[ci].append(i)
                break
        else:
            clusters.append([i])
            reps.append(m)
    return clusters


def critical_points(ol: OneLayer, be: _Backend, runs: list[RunResult], clusters: list[list[int]], *,
                    predicted: float, o_star: np.ndarray, o_scale: float, eig_tol: float | None,
                    loss_tol: float) -> tuple[list[CriticalPoint], list[int]]:
    """The classified points of the clusters, sorted by loss, and the cluster order used."""
    d = be.d
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
    return points, order
