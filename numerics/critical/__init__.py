"""Critical points of the full-parameter one-layer loss: multi-start search, deduplication, classification.

Parameters theta = (p, Qd) with p = P[d, :] (b, c) and Qd = Q[:, :d] (Q11 over q21), as in
``numerics.one_layer.derivatives``; the other entries of P, Q do not affect the output and are not searched.

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
from ``np.random.default_rng([seed, k])``, and ``run_start(setting, seed, k)`` makes every run of that
start (an independent task: a sweep may run starts on any worker, in any order, and merge them with
``assemble_landscape``). Runs: ``descent`` (BFGS / L-BFGS on f, which finds minima) and ``newton``
(damped Newton on grad f = 0 from the start, with |grad f| as the merit function, which also finds
saddles); by default both for d <= 10 and descent only beyond (``default_methods``). A descent result
not yet converged is polished by Newton steps on grad f = 0 (least-squares steps, the Hessian being
singular along the scaling direction; MINRES on forward-mode Hessian-vector products at large d),
accepted only when they reduce |grad f|. A run converges when the balanced |grad f| <= ``grad_tol``;
runs that do not are reported one by one (start, method, |grad f|, reason), never dropped.

Classification. At a point with p != 0 and Qd != 0 the scaling direction t = (p, -Qd) is an exact
flat direction (f is constant along gamma -> (gamma p, Qd / gamma)); the Hessian is restricted to the
orthogonal complement of t. Its eigenvalues within rounding of zero (``critical.classify.flat_tolerance``:
n eps ||H_abs||_2, derived there; or, with a float ``eig_tol``, |lambda| <= eig_tol * max|lambda|) are counted
as zero (``n_zero``; nonzero means second-order information cannot decide and is reported as degenerate). index = number of negative eigenvalues (the whole spectrum: the dense Hessian from N
forward-mode Hessian-vector products; see ``critical.classify.classify`` for why not Lanczos). kind:

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

Modules: ``critical.backend`` (f, its derivatives, the symmetry helpers), ``critical.search`` (starts,
runs, Newton polishing), ``critical.classify`` (classification, deduplication); this module holds the
Landscape, ``find_critical_points`` and ``assemble_landscape``, and re-exports the names callers use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from iclcheck.numerics.critical.backend import (  # noqa: F401 (re-exported: callers and tests use these names)
    LIFTED_BACKEND_MAX_DIM,
    _Backend,
    _flip,
    _predicted_theta,
    _reduced_form_residual,
    _scaling_direction,
    _split,
    balance,
    distance_to_predicted,
    effective_gamma,
)
from iclcheck.numerics.critical.classify import CriticalPoint, classify, cluster_runs, critical_points
from iclcheck.numerics.critical.search import (  # noqa: F401 (re-exported)
    BFGS_MAX,
    DENSE_MAX,
    METHODS,
    NEWTON_AUTO_MAX_DIM,
    RunResult,
    _newton_polish,
    check_methods,
    default_methods,
    default_tolerances,
    run_from,
    run_start,
    single_threaded_blas,
    start_point,
)
from iclcheck.numerics.limits import MAX_CRITICAL_DIM, MAX_SEED, MAX_STARTS  # noqa: F401 (re-exported)
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.lift import invariant
from iclcheck.theory.errors import InputError

__all__ = [
    "CriticalPoint",
    "Landscape",
    "RunResult",
    "assemble_landscape",
    "balance",
    "classify",
    "default_methods",
    "distance_to_predicted",
    "effective_gamma",
    "find_critical_points",
    "invariant",
    "run_from",
    "run_start",
    "start_point",
]


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
    eig_tol: float | None  # None: the rounding tolerance of critical.classify.flat_tolerance
    loss_tol: float
    methods: tuple[str, ...] = ()  # the runs made from each start (find_critical_points)

    @property
    def nonconverged(self) -> list[RunResult]:
        return [r for r in self.runs if not r.converged]

    def to_dict(self) -> dict:
        """The points (loss, kind, index, gamma, Hessian spectrum, runs), the prediction and the non-converged
        runs, JSON-ready (``iclcheck critical --format json``)."""
        return {
            "points": [
                {
                    "loss": p.loss,
                    "kind": p.kind,
                    "index": p.index,
                    "degenerate_directions": p.n_zero,
                    "grad_norm": p.grad_norm,
                    "count": p.count,
                    "gamma": np.asarray(p.gamma, dtype=float).tolist(),
                    "gamma_definition": "-c Q11^T",
                    "reduced_form_residual": p.reduced_form_residual,
                    "distance_to_predicted": p.distance_to_predicted,
                    "hessian_eigenvalues": [float(x) for x in p.eigenvalues],
                    "P_last_row": [float(x) for x in p.theta[: len(p.gamma) + 1]],
                    "runs": [list(r) for r in p.runs],
                }
                for p in self.points
            ],
            "predicted_loss": self.predicted_loss,
            "gamma_star": np.asarray(self.gamma_star, dtype=float).tolist(),
            "starts": self.starts,
            "runs": len(self.runs),
            "seed": self.seed,
            "grad_tol": self.grad_tol,
            "nonconverged": [
                {"start": r.start, "method": r.method, "grad_norm": r.grad_norm, "loss": r.loss, "message": r.message}
                for r in self.nonconverged
            ],
        }

    def out_arrays(self, npy: bool) -> tuple[dict, dict]:
        """The points in binary: their gammas stacked (k, d, d); with ``npy`` False also the packed parameters
        (thetas), gamma_star and the losses."""
        d = len(self.gamma_star)
        gammas = np.array([p.gamma for p in self.points]).reshape(len(self.points), d, d)
        if npy:
            return {"gammas": gammas}, {}
        thetas = np.array([p.theta for p in self.points]).reshape(len(self.points), -1)
        return {"gammas": gammas, "thetas": thetas, "gamma_star": self.gamma_star,
                "losses": np.array([p.loss for p in self.points])}, {}


def find_critical_points(
    ol: OneLayer,
    *,
    starts: int = 64,
    seed: int = 0,
    methods: tuple[str, ...] | None = None,
    grad_tol: float | None = None,
    dedup_tol: float = 1e-5,
    eig_tol: float | None = None,
    loss_tol: float | None = None,
    maxiter: int = 3000,
    progress=None,
) -> Landscape:
    """Multi-start search; see the module docstring. methods default to ``default_methods(d)``; grad_tol
    to 1e-9 * max(1, tr(S W)) (absolute, at the balanced representative); loss_tol to the same."""
    if not (isinstance(starts, (int, np.integer)) and 1 <= starts <= MAX_STARTS):
        raise InputError("starts", f"must be an integer in [1, {MAX_STARTS}], got {starts!r}")
    if not (isinstance(seed, (int, np.integer)) and 0 <= seed <= MAX_SEED):
        raise InputError("seed", f"must be an integer in [0, 2^63 - 1], got {seed!r}")
    if ol.d > MAX_CRITICAL_DIM:
        raise InputError("Sigma", f"the critical-point search supports d <= {MAX_CRITICAL_DIM}, got d = {ol.d}")
    methods = check_methods(default_methods(ol.d) if methods is None else methods)
    g0, l0 = default_tolerances(ol)
    grad_tol = g0 if grad_tol is None else float(grad_tol)
    loss_tol = l0 if loss_tol is None else float(loss_tol)
    be = _Backend(ol)
    runs: list[RunResult] = []
    for k in range(starts):
        runs += run_start(be, seed, k, methods=methods, grad_tol=grad_tol, maxiter=maxiter)
        if progress is not None:
            progress(k + 1, starts)
    land = assemble_landscape(be, runs, starts=starts, seed=seed, grad_tol=grad_tol, dedup_tol=dedup_tol,
                              eig_tol=eig_tol, loss_tol=loss_tol)
    return replace(land, methods=tuple(methods))


def assemble_landscape(setting, runs: list[RunResult], *, starts: int, seed: int, grad_tol: float | None = None,
                       dedup_tol: float = 1e-5, eig_tol: float | None = None, loss_tol: float | None = None) -> Landscape:
    """The Landscape of a list of runs (from ``run_start``, in any order of computation: they are sorted
    by (start, method order) first, so the result does not depend on how the starts were scheduled)."""
    be = setting if isinstance(setting, _Backend) else _Backend(setting if isinstance(setting, OneLayer)
                                                               else OneLayer(setting))
    ol = be.ol
    g0, l0 = default_tolerances(ol)
    grad_tol = g0 if grad_tol is None else float(grad_tol)  # the value the runs used (reported, not re-checked)
    loss_tol = l0 if loss_tol is None else float(loss_tol)
    runs = sorted(runs, key=lambda r: (r.start, METHODS.index(r.method)))
    o_star = be.predictor(_predicted_theta(ol))
    o_scale = float(np.linalg.norm(o_star))  # distances below dedup_tol * this count as equal
    predicted = ol.min_loss()
    with single_threaded_blas():
        clusters = cluster_runs(be, runs, dedup_tol=dedup_tol, o_scale=o_scale)
        points, order = critical_points(ol, be, runs, clusters, predicted=predicted, o_star=o_star,
                                        o_scale=o_scale, eig_tol=eig_tol, loss_tol=loss_tol)
    pos = {j: new for new, j in enumerate(order)}
    for ci, members in enumerate(clusters):
        for i in members:
            runs[i] = RunResult(**{**runs[i].__dict__, "point": pos[ci]})
    return Landscape(
        points=points, runs=runs, predicted_loss=predicted, gamma_star=ol.gamma_star(), starts=starts, seed=seed,
        grad_tol=grad_tol, dedup_tol=dedup_tol, eig_tol=eig_tol, loss_tol=loss_tol,
    )
