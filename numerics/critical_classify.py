"""Classification and deduplication of the runs of ``numerics.critical`` (see that module's docstring):
the restricted Hessian (dense, from forward-mode Hessian-vector products), clusters of runs
by the predictor (modulo the scaling orbit and the mirror), and the critical points they make."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from iclcheck.numerics.critical_backend import _Backend, _reduced_form_residual, balance, effective_gamma
from iclcheck.numerics.critical_search import DENSE_MAX, RunResult
from iclcheck.numerics.derivatives import loss_flat
from iclcheck.numerics.one_layer import OneLayer

__all__ = ["CriticalPoint", "classify", "cluster_runs", "critical_points"]


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


def classify(ol: OneLayer | _Backend, theta: np.ndarray, *, eig_tol: float = 1e-7) -> tuple[int, int, np.ndarray]:
    """(index, n_zero, eigenvalues) of the Hessian restricted to the complement of the scaling direction:
    the whole spectrum, from the dense Hessian (N forward-mode Hessian-vector products, ~one gradient each).

    Why dense and not Lanczos at large d: at the minima the lowest eigenvalues cluster far below the top
    one (d = 50: 1.22, 1.28, 1.34, ... vs 1.85e5), and ARPACK needed 48,676 products (43 s) for the 6
    lowest, while the dense Hessian took 2,601 products (1.7 s) and eigvalsh 3.9 s, and gives the exact
    index. The restricted basis is the SVD complement of t for <= DENSE_MAX parameters (as before) and a
    Householder reflector beyond (O(N^2) instead of an N x N SVD)."""
    be = ol if isinstance(ol, _Backend) else _Backend(ol)
    d = be.d
    theta = balance(theta, d)
    k = d + 1
    t = np.concatenate([theta[:k], -theta[k:]])
    nt = np.linalg.norm(t)
    N = theta.size
    H = be.hess(theta)
    if nt > 0:
        t = t / nt
        if N <= DENSE_MAX:
            B = np.linalg.svd(np.eye(N) - np.outer(t, t))[0][:, : N - 1]  # orthonormal basis of t-perp
            H = B.T @ H @ B
        else:  # R = I - 2 w w^T maps t to -sign(t_0) e_0; its columns 1.. span t-perp
            w = t.copy()
            w[0] += np.copysign(1.0, t[0])
            w /= np.linalg.norm(w)
            Hw = H @ w  # [N]
            RHR = H - 2 * np.outer(w, Hw) - 2 * np.outer(Hw, w) + 4 * (w @ Hw) * np.outer(w, w)
            H = RHR[1:, 1:]
            H = (H + H.T) / 2
    ev = np.linalg.eigvalsh(H)
    scale = float(np.max(np.abs(ev))) if ev.size else 0.0
    zero = np.abs(ev) <= eig_tol * scale
    index = int(np.sum((ev < 0) & ~zero))
    return index, int(np.sum(zero)), ev


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
            near = dedup_tol * max(np.linalg.norm(mr), np.linalg.norm(m), o_scale)
            if min(np.linalg.norm(m - mr), np.linalg.norm(mf - mr)) <= near:
                clusters[ci].append(i)
                break
        else:
            clusters.append([i])
            reps.append(m)
    return clusters


def critical_points(ol: OneLayer, be: _Backend, runs: list[RunResult], clusters: list[list[int]], *,
                    predicted: float, o_star: np.ndarray, o_scale: float, eig_tol: float,
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
